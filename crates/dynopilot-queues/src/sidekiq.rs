//! Sidekiq: queue names in the `queues` set, jobs in the `queue:<name>` list (pushed on the
//! left, taken from the right, so the oldest is at index -1), each a JSON object whose
//! `enqueued_at` is epoch seconds as a float (Sidekiq ≤ 7) or epoch milliseconds as an
//! integer (Sidekiq 8). Running jobs: each live process in `processes` keeps a
//! `<identity>:work` hash of JSON `{"queue": …}` entries. Keys carry `<namespace>:` when the
//! app uses redis-namespace.

use std::collections::BTreeMap;

use dynopilot_core::Timestamp;

use crate::adapter::Adapter;
use crate::reading::QueueReading;
use crate::redis_backend::{self as rb, Conn, Failure, settle};
use crate::{Snapshot, SourceError, SourceSpec};

const ADAPTER: Adapter = Adapter::Sidekiq;

pub(crate) async fn read(conn: &mut Conn, spec: &SourceSpec) -> Result<Snapshot, SourceError> {
    let p = spec
        .namespace
        .as_deref()
        .map(|ns| format!("{ns}:"))
        .unwrap_or_default();
    let mut snapshot = Snapshot::default();
    let names = if spec.queues.is_empty() {
        let listed = rb::members(conn, ADAPTER, &format!("{p}queues")).await;
        settle(&mut snapshot, "(queues)", listed)?.unwrap_or_default()
    } else {
        spec.queues.clone()
    };
    let running = settle(&mut snapshot, "(processes)", busy_by_queue(conn, &p).await)?;
    for name in names {
        let result = read_queue(conn, &format!("{p}queue:{name}")).await;
        if let Some((depth, oldest)) = settle(&mut snapshot, &name, result)? {
            let busy = running.as_ref().map(|r| r.get(&name).copied().unwrap_or(0));
            snapshot.queues.push(QueueReading {
                queue: name,
                depth,
                oldest_enqueued_at: oldest,
                busy,
            });
        }
    }
    Ok(snapshot)
}

async fn read_queue(conn: &mut Conn, key: &str) -> Result<(u64, Option<Timestamp>), Failure> {
    let depth = rb::llen(conn, ADAPTER, key).await?;
    if depth == 0 {
        return Ok((0, None));
    }
    let Some(oldest) = rb::lindex(conn, ADAPTER, key, -1).await? else {
        return Ok((0, None));
    };
    let job = rb::json_object(&oldest)?;
    let at = match job.get("enqueued_at") {
        None => None,
        Some(v) => Some(
            v.as_f64()
                .and_then(enqueued_at)
                .ok_or_else(|| Failure::garbage("job's enqueued_at is not a number"))?,
        ),
    };
    Ok((depth, at))
}

/// Seconds (float, Sidekiq ≤ 7) or milliseconds (integer, Sidekiq 8): any epoch value past
/// 1e11 is milliseconds, as seconds that large lie thousands of years ahead.
fn enqueued_at(value: f64) -> Option<Timestamp> {
    let ms = if value.abs() > 1e11 {
        value
    } else {
        value * 1000.0
    };
    crate::reading::from_epoch_ms(ms)
}

/// Jobs running per queue across the live processes (a process whose heartbeat hash expired
/// is dead and its work entries are stale).
async fn busy_by_queue(conn: &mut Conn, p: &str) -> Result<BTreeMap<String, u64>, Failure> {
    let identities = rb::members(conn, ADAPTER, &format!("{p}processes")).await?;
    let mut busy = BTreeMap::new();
    for identity in identities {
        let alive: bool = rb::query(
            conn,
            ADAPTER,
            redis::cmd("EXISTS").arg(format!("{p}{identity}")),
        )
        .await?;
        if !alive {
            continue;
        }
        let work: BTreeMap<String, Vec<u8>> = rb::query(
            conn,
            ADAPTER,
            redis::cmd("HGETALL").arg(format!("{p}{identity}:work")),
        )
        .await?;
        for entry in work.values() {
            let entry = rb::json_object(entry)?;
            let queue = entry
                .get("queue")
                .and_then(|q| q.as_str())
                .ok_or_else(|| Failure::garbage("work entry without a queue"))?;
            *busy.entry(queue.to_owned()).or_insert(0) += 1;
        }
    }
    Ok(busy)
}
