//! What the Postgres adapters share: a small lazy pool whose sessions are read-only, run in
//! UTC (Rails stores `timestamp without time zone` in UTC) and stop any statement after the
//! source's timeout; one query per read returning `(queue, depth, oldest ms, busy)` rows.

use std::time::Duration;

use dynopilot_core::Timestamp;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::adapter::Adapter;
use crate::reading::{QueueReading, from_epoch_ms};
use crate::{Snapshot, SourceError, SourceSpec};

/// Connections per source: one read at a time, one spare for a slow reconnect.
const MAX_CONNECTIONS: u32 = 2;

pub(crate) fn pool(adapter: Adapter, url: &str, timeout: Duration) -> Result<PgPool, SourceError> {
    let options: PgConnectOptions = url.parse().map_err(|e: sqlx::Error| SourceError::Url {
        adapter: adapter.as_str(),
        reason: crate::postgres::describe(&e),
    })?;
    let options = options.options([
        ("statement_timeout", timeout.as_millis().to_string()),
        ("default_transaction_read_only", "on".to_owned()),
        ("TimeZone", "UTC".to_owned()),
    ]);
    Ok(PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .min_connections(0)
        .acquire_timeout(timeout)
        .connect_lazy_with(options))
}

/// The error's kind and database message; sqlx's own text never includes the password, but
/// connection errors may name the host, which is fine to log.
pub(crate) fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => format!(
            "{} ({})",
            db.message(),
            db.code().as_deref().unwrap_or("no code")
        ),
        sqlx::Error::PoolTimedOut => "no connection within the timeout".to_owned(),
        other => other.to_string(),
    }
}

type Row = (String, i64, Option<f64>, Option<i64>);

/// Runs `sql` with `$1` = `now` in epoch milliseconds and turns its rows into a snapshot.
pub(crate) async fn read(
    pool: &PgPool,
    spec: &SourceSpec,
    sql: &'static str,
    now: Timestamp,
) -> Result<Snapshot, SourceError> {
    let rows: Vec<Row> = sqlx::query_as(sql)
        .bind(now.as_millis() as f64)
        .fetch_all(pool)
        .await
        .map_err(|e| SourceError::Postgres {
            adapter: spec.adapter.as_str(),
            reason: describe(&e),
        })?;
    Ok(snapshot(rows, &spec.queues))
}

/// Named queues without a row are empty (nothing queued is a fact the query established);
/// with no names, every queue that has jobs.
fn snapshot(rows: Vec<Row>, names: &[String]) -> Snapshot {
    let mut queues: Vec<QueueReading> = rows
        .into_iter()
        .filter(|(queue, ..)| names.is_empty() || names.contains(queue))
        .map(|(queue, depth, oldest, busy)| QueueReading {
            queue,
            depth: depth.max(0) as u64,
            oldest_enqueued_at: oldest.and_then(from_epoch_ms),
            busy: busy.map(|b| b.max(0) as u64),
        })
        .collect();
    let busy_known = queues.iter().any(|q| q.busy.is_some()) || queues.is_empty();
    for name in names {
        if !queues.iter().any(|q| &q.queue == name) {
            let mut empty = QueueReading::empty(name);
            empty.busy = busy_known.then_some(0);
            queues.push(empty);
        }
    }
    queues.sort_by(|a, b| a.queue.cmp(&b.queue));
    Snapshot {
        queues,
        faults: Vec::new(),
    }
}
