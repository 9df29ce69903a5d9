//! The Postgres status check: connections in use against `max_connections`, the longest
//! running query, and the replay lag of a replica when one is given. A small pool, read-only
//! sessions and a statement timeout of the check's own timeout; a connection error is down.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::policy::{CheckSample, CheckState};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::http_check::down;
use super::{Context, TargetStats, judge, record};
use crate::config::{CheckConfig, Secret, redact_urls_in};

const IN_USE: &str =
    "SELECT count(*)::float8 FROM pg_stat_activity WHERE backend_type = 'client backend'";
const LONGEST: &str = "SELECT COALESCE(EXTRACT(EPOCH FROM max(now() - query_start)) * 1000, 0)::float8 \
     FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() \
     AND backend_type = 'client backend'";
const REPLAY_LAG: &str =
    "SELECT (EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) * 1000)::float8";

pub async fn run(cx: Context, check: CheckConfig) {
    let stats = cx.stats.target(&cx.app, &check.name);
    let Some(primary) = pool(&cx, &check, &check.url) else {
        return;
    };
    let replica = match &check.replica_url {
        Some(url) => pool(&cx, &check, url),
        None => None,
    };
    loop {
        let Some(next) = cx
            .turn(once(&cx, &stats, &check, &primary, replica.as_ref()))
            .await
        else {
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
    check: &CheckConfig,
    primary: &PgPool,
    replica: Option<&PgPool>,
) -> Duration {
    let _in_flight = stats.start();
    let at = cx.clock.now();
    let read = tokio::time::timeout(check.timeout, measure(primary, replica)).await;
    let sample = match read {
        Ok(Ok(values)) => {
            let (state, detail) = judge(&values, &check.thresholds);
            CheckSample {
                at,
                state,
                values,
                detail,
            }
        }
        Ok(Err(e)) => down(at, redact_urls_in(&e.to_string())),
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

/// A lazy pool of at most two read-only sessions whose statements stop at the timeout.
fn pool(cx: &Context, check: &CheckConfig, url: &Secret) -> Option<PgPool> {
    let options = match PgConnectOptions::from_str(url.expose()) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(app = %cx.app, check = %check.name, error = %redact_urls_in(&e.to_string()), "Postgres URL not usable; check not run");
            return None;
        }
    };
    let timeout_ms = check.timeout.as_millis().to_string();
    let options = options.application_name("dynopilot-check").options([
        ("statement_timeout", timeout_ms.as_str()),
        ("default_transaction_read_only", "on"),
    ]);
    Some(
        PgPoolOptions::new()
            .max_connections(2)
            .min_connections(0)
            .acquire_timeout(check.timeout)
            .idle_timeout(Some(Duration::from_secs(300)))
            .connect_lazy_with(options),
    )
}

async fn measure(
    primary: &PgPool,
    replica: Option<&PgPool>,
) -> Result<BTreeMap<String, f64>, sqlx::Error> {
    let in_use: f64 = sqlx::query_scalar(IN_USE).fetch_one(primary).await?;
    let max: String = sqlx::query_scalar("SHOW max_connections")
        .fetch_one(primary)
        .await?;
    let longest: f64 = sqlx::query_scalar(LONGEST).fetch_one(primary).await?;
    let mut values = BTreeMap::from([
        ("connections".to_owned(), in_use),
        ("longest_query_ms".to_owned(), longest),
    ]);
    if let Ok(max) = max.trim().parse::<f64>()
        && max > 0.0
    {
        values.insert("max_connections".to_owned(), max);
        values.insert(
            dynopilot_core::policy::status_checks::CONNECTIONS_PCT.to_owned(),
            in_use / max * 100.0,
        );
    }
    if let Some(replica) = replica {
        // NULL on a server that is not replaying: no lag to report.
        let lag: Option<f64> = sqlx::query_scalar(REPLAY_LAG).fetch_one(replica).await?;
        if let Some(lag) = lag {
            values.insert("replication_lag_ms".to_owned(), lag.max(0.0));
        }
    }
    Ok(values)
}
