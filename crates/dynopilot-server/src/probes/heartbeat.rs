//! The HTTP heartbeat: one request per interval; its latency and success become a
//! `ProbeResult` of the configured process type (slow or failing answers fill the streak).

use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::policy::ProbeResult;
use tokio::time::Instant;

use super::{Context, TargetStats, record};
use crate::config::ProbeConfig;

/// The client has no timeout of its own: the run's `timeout` bounds it, and counts it.
pub async fn run(cx: Context, probe: ProbeConfig) {
    let stats = cx.stats.target(&cx.app, &probe.name);
    let client = match reqwest::Client::builder().build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(app = %cx.app, probe = %probe.name, error = %e, "cannot build the probe's HTTP client; probe not run");
            return;
        }
    };
    let method =
        reqwest::Method::from_bytes(probe.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    loop {
        let Some(next) = cx.turn(once(&cx, &stats, &client, &method, &probe)).await else {
            return;
        };
        if !cx.rest(next).await {
            return;
        }
    }
}

async fn once(
    cx: &Context,
    stats: &Arc<TargetStats>,
    client: &reqwest::Client,
    method: &reqwest::Method,
    probe: &ProbeConfig,
) -> Duration {
    let _in_flight = stats.start();
    let at = cx.clock.now();
    let started = Instant::now();
    let outcome = tokio::time::timeout(probe.timeout, request(client, method, probe)).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let ok = match outcome {
        Ok(Ok(())) => true,
        Ok(Err(why)) => {
            super::TargetStats::count(&stats.failures);
            tracing::debug!(app = %cx.app, probe = %probe.name, "probe failed: {why}");
            false
        }
        Err(_) => {
            super::TargetStats::count(&stats.failures);
            super::TargetStats::count(&stats.timeouts);
            tracing::debug!(app = %cx.app, probe = %probe.name, "probe timed out after {:?}", probe.timeout);
            false
        }
    };
    let result = ProbeResult {
        at,
        name: probe.name.clone(),
        ok,
        latency_ms: Some(latency_ms),
    };
    record::probe(&cx.ingest, &cx.app, &probe.process_type, result);
    probe.interval
}

/// One request: the expected status and, if configured, the body text.
async fn request(
    client: &reqwest::Client,
    method: &reqwest::Method,
    probe: &ProbeConfig,
) -> Result<(), String> {
    let mut request = client.request(method.clone(), &probe.url);
    for (name, value) in &probe.headers {
        request = request.header(name, value.expose());
    }
    // The error names the URL, never the headers (they may carry a secret).
    let response = request
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    let status = response.status().as_u16();
    if status != probe.expect_status {
        return Err(format!("status {status}, expected {}", probe.expect_status));
    }
    if let Some(text) = &probe.body_contains {
        let body = response
            .text()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if !body.contains(text.as_str()) {
            return Err(format!("body does not contain `{text}`"));
        }
    }
    Ok(())
}
