//! What the Redis adapters share: one `ConnectionManager` per source (it reconnects by
//! itself), commands with a per-call error split between "this queue holds garbage" (a
//! `QueueFault`, the other queues are still read) and "Redis is unreachable" (the whole read
//! fails, so it can never pass for an empty queue).

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, RedisError};

use crate::SourceError;
use crate::adapter::Adapter;

pub(crate) type Conn = ConnectionManager;

/// A manager that connects on first use, so a source whose Redis is down at start still
/// comes up and reads once Redis is back.
pub(crate) fn connect_lazy(
    adapter: Adapter,
    url: &str,
    timeout: Duration,
) -> Result<Conn, SourceError> {
    if url.starts_with("rediss://") {
        // Already installed (by us or the binary) is fine: there is one provider either way.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
    let client = redis::Client::open(url).map_err(|e| SourceError::Url {
        adapter: adapter.as_str(),
        reason: format!("{:?}", e.kind()),
    })?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1)
        .set_max_delay(timeout);
    ConnectionManager::new_lazy_with_config(client, config).map_err(|e| source_error(adapter, &e))
}

/// A failed command: garbage in the key (`Err(Ok(reason))`) or the source is gone (`Err(Err)`).
pub(crate) enum Failure {
    Garbage(String),
    Source(SourceError),
}

impl Failure {
    pub(crate) fn garbage(reason: impl Into<String>) -> Failure {
        Failure::Garbage(reason.into())
    }
}

pub(crate) fn source_error(adapter: Adapter, e: &RedisError) -> SourceError {
    SourceError::Redis {
        adapter: adapter.as_str(),
        reason: describe(e),
    }
}

/// redis-rs errors name the failure, never the URL or its password.
fn describe(e: &RedisError) -> String {
    e.to_string()
}

fn classify(adapter: Adapter, e: RedisError) -> Failure {
    let unreachable = e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_unrecoverable_error();
    if unreachable {
        Failure::Source(source_error(adapter, &e))
    } else {
        Failure::Garbage(format!("{e}"))
    }
}

/// Runs one command.
pub(crate) async fn query<T: FromRedisValue>(
    conn: &mut Conn,
    adapter: Adapter,
    cmd: &redis::Cmd,
) -> Result<T, Failure> {
    cmd.query_async(conn)
        .await
        .map_err(|e| classify(adapter, e))
}

/// `SMEMBERS key`, sorted so readings come in a stable order.
pub(crate) async fn members(
    conn: &mut Conn,
    adapter: Adapter,
    key: &str,
) -> Result<Vec<String>, Failure> {
    let mut names: Vec<String> = query(conn, adapter, redis::cmd("SMEMBERS").arg(key)).await?;
    names.sort();
    Ok(names)
}

/// `LLEN key` as a depth.
pub(crate) async fn llen(conn: &mut Conn, adapter: Adapter, key: &str) -> Result<u64, Failure> {
    query(conn, adapter, redis::cmd("LLEN").arg(key)).await
}

/// `LINDEX key index`: `None` when the list is empty (or was drained meanwhile).
pub(crate) async fn lindex(
    conn: &mut Conn,
    adapter: Adapter,
    key: &str,
    index: i64,
) -> Result<Option<Vec<u8>>, Failure> {
    query(conn, adapter, redis::cmd("LINDEX").arg(key).arg(index)).await
}

/// A JSON object from raw bytes, or the reason it is not one.
pub(crate) fn json_object(
    bytes: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, Failure> {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::garbage("job is JSON but not an object")),
        Err(e) => Err(Failure::garbage(format!("job is not JSON: {e}"))),
    }
}

/// Per-queue results: a garbage queue becomes a fault, an unreachable source ends the read.
pub(crate) fn settle<T>(
    snapshot: &mut crate::Snapshot,
    queue: &str,
    result: Result<T, Failure>,
) -> Result<Option<T>, SourceError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(Failure::Garbage(reason)) => {
            snapshot.fault(queue, reason);
            Ok(None)
        }
        Err(Failure::Source(e)) => Err(e),
    }
}
