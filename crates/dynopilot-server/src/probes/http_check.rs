//! The http status check: the expected status and the latency against thresholds; a
//! connection error or a timeout is down. For https, the days before the presented certificate
//! expires (`tls_days_left`, see `tls.rs`); plain http has no such value.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::policy::{CheckSample, CheckState};
use tokio::time::Instant;

use super::{Context, TargetStats, judge, record};
use crate::config::CheckConfig;

/// The client has no timeout of its own: the run's `timeout` bounds it, and counts it.
pub async fn run(cx: Context, check: CheckConfig) {
    let stats = cx.stats.target(&cx.app, &check.name);
    let client = match reqwest::Client::builder().tls_info(true).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(app = %cx.app, check = %check.name, error = %e, "cannot build the check's HTTP client; check not run");
            return;
        }
    };
    loop {
        let Some(next) = cx.turn(once(&cx, &stats, &client, &check)).await else {
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
    check: &CheckConfig,
) -> Duration {
    let _in_flight = stats.start();
    let at = cx.clock.now();
    let started = Instant::now();
    let answer = tokio::time::timeout(check.timeout, client.get(check.url.expose()).send()).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut values = BTreeMap::from([("latency_ms".to_owned(), latency_ms)]);
    let sample = match answer {
        Ok(Ok(response)) if response.status().as_u16() == check.expect_status => {
            let certificate = response
                .extensions()
                .get::<reqwest::tls::TlsInfo>()
                .and_then(reqwest::tls::TlsInfo::peer_certificate);
            if let Some(days) = certificate.and_then(|der| super::tls::days_left(der, at)) {
                values.insert("tls_days_left".to_owned(), days);
            }
            let (state, detail) = judge(&values, &check.thresholds);
            CheckSample {
                at,
                state,
                values,
                detail,
            }
        }
        Ok(Ok(response)) => {
            let status = response.status().as_u16();
            values.insert("status".to_owned(), f64::from(status));
            CheckSample {
                at,
                state: CheckState::Down,
                values,
                detail: format!("status {status}, expected {}", check.expect_status),
            }
        }
        Ok(Err(e)) => down(at, e.without_url().to_string()),
        Err(_) => {
            super::TargetStats::count(&stats.timeouts);
            down(at, format!("no answer within {:?}", check.timeout))
        }
    };
    if sample.state != CheckState::Ok {
        super::TargetStats::count(&stats.failures);
    }
    record::check(&cx.ingest, &cx.app, &check.name, check.kind, sample);
    check.interval
}

pub(super) fn down(at: dynopilot_core::Timestamp, detail: String) -> CheckSample {
    CheckSample {
        at,
        state: CheckState::Down,
        values: BTreeMap::new(),
        detail,
    }
}
