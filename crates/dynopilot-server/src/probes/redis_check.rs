//! The Redis status check: `PING`, then `INFO` for memory in use against `maxmemory`,
//! connected clients, and evicted keys and rejected connections new since the previous run.
//! A connection error, a timeout or a failed `PING` is down.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::policy::CheckSample;

use super::http_check::down;
use super::{Context, TargetStats, judge, record};
use crate::config::{CheckConfig, redact_urls_in};

pub async fn run(cx: Context, check: CheckConfig) {
    let stats = cx.stats.target(&cx.app, &check.name);
    let client = match redis::Client::open(check.url.expose()) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(app = %cx.app, check = %check.name, error = %redact_urls_in(&e.to_string()), "Redis URL not usable; check not run");
            return;
        }
    };
    let mut connection: Option<redis::aio::MultiplexedConnection> = None;
    let mut counters: Option<(f64, f64)> = None;
    loop {
        let run = once(&cx, &stats, &client, &check, &mut connection, &mut counters);
        let Some(next) = cx.turn(run).await else {
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
    client: &redis::Client,
    check: &CheckConfig,
    connection: &mut Option<redis::aio::MultiplexedConnection>,
    counters: &mut Option<(f64, f64)>,
) -> Duration {
    let _in_flight = stats.start();
    let at = cx.clock.now();
    let read = tokio::time::timeout(check.timeout, info(client, connection)).await;
    let sample = match read {
        Ok(Ok(info)) => {
            let values = measure(&info, counters);
            let (state, detail) = judge(&values, &check.thresholds);
            CheckSample {
                at,
                state,
                values,
                detail,
            }
        }
        Ok(Err(e)) => {
            *connection = None;
            down(at, redact_urls_in(&e.to_string()))
        }
        Err(_) => {
            *connection = None;
            super::TargetStats::count(&stats.timeouts);
            down(at, format!("no answer within {:?}", check.timeout))
        }
    };
    if sample.state != dynopilot_core::policy::CheckState::Ok {
        super::TargetStats::count(&stats.failures);
    }
    record::check(&cx.ingest, &cx.app, &check.name, check.kind, sample);
    check.interval
}

/// `PING` and `INFO` over one kept connection (opened again after a failure).
async fn info(
    client: &redis::Client,
    connection: &mut Option<redis::aio::MultiplexedConnection>,
) -> Result<String, redis::RedisError> {
    let con = match connection {
        Some(c) => c,
        None => connection.insert(client.get_multiplexed_async_connection().await?),
    };
    let _: String = redis::cmd("PING").query_async(con).await?;
    redis::cmd("INFO").query_async(con).await
}

/// The values of an `INFO` answer; `counters` carries the previous run's cumulative counts.
pub fn measure(info: &str, counters: &mut Option<(f64, f64)>) -> BTreeMap<String, f64> {
    let fields: BTreeMap<&str, f64> = info
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter_map(|(k, v)| Some((k, v.trim().parse::<f64>().ok()?)))
        .collect();
    let mut values = BTreeMap::new();
    let used = fields.get("used_memory").copied();
    if let Some(&clients) = fields.get("connected_clients") {
        values.insert("connected_clients".to_owned(), clients);
    }
    if let (Some(used), Some(&max)) = (used, fields.get("maxmemory"))
        && max > 0.0
    {
        values.insert("memory_pct".to_owned(), used / max * 100.0);
    }
    let now = (
        fields.get("evicted_keys").copied().unwrap_or(0.0),
        fields.get("rejected_connections").copied().unwrap_or(0.0),
    );
    // The first run only sets the baseline: counts since the server started are history.
    let before = counters.replace(now).unwrap_or(now);
    values.insert("evicted_keys".to_owned(), (now.0 - before.0).max(0.0));
    values.insert(
        "rejected_connections".to_owned(),
        (now.1 - before.1).max(0.0),
    );
    values
}
