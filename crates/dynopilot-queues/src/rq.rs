//! RQ: queue keys (`rq:queue:<name>`) in the `rq:queues` set; each queue a list of job ids
//! (pushed on the right, taken from the left, so the oldest is at index 0); each job a hash
//! `rq:job:<id>` whose `enqueued_at` is an ISO-8601 UTC time (`2024-05-01T12:00:00.123456Z`).
//! Running jobs: the started-job registry, a sorted set `rq:wip:<name>`.

use dynopilot_core::Timestamp;

use crate::adapter::Adapter;
use crate::reading::QueueReading;
use crate::redis_backend::{self as rb, Conn, Failure, settle};
use crate::{Snapshot, SourceError, SourceSpec};

const ADAPTER: Adapter = Adapter::Rq;
const QUEUE_PREFIX: &str = "rq:queue:";

pub(crate) async fn read(conn: &mut Conn, spec: &SourceSpec) -> Result<Snapshot, SourceError> {
    let mut snapshot = Snapshot::default();
    let names = if spec.queues.is_empty() {
        let listed = rb::members(conn, ADAPTER, "rq:queues").await;
        settle(&mut snapshot, "(queues)", listed)?
            .unwrap_or_default()
            .into_iter()
            .filter_map(|key| key.strip_prefix(QUEUE_PREFIX).map(str::to_owned))
            .collect()
    } else {
        spec.queues.clone()
    };
    for name in names {
        let result = read_queue(conn, &name).await;
        if let Some(reading) = settle(&mut snapshot, &name, result)? {
            snapshot.queues.push(reading);
        }
    }
    Ok(snapshot)
}

async fn read_queue(conn: &mut Conn, name: &str) -> Result<QueueReading, Failure> {
    let key = format!("{QUEUE_PREFIX}{name}");
    let depth = rb::llen(conn, ADAPTER, &key).await?;
    let busy: u64 = rb::query(
        conn,
        ADAPTER,
        redis::cmd("ZCARD").arg(format!("rq:wip:{name}")),
    )
    .await?;
    let mut oldest = None;
    if depth > 0
        && let Some(id) = rb::lindex(conn, ADAPTER, &key, 0).await?
    {
        let id = String::from_utf8(id).map_err(|_| Failure::garbage("job id is not UTF-8"))?;
        oldest = enqueued_at(conn, &id).await?;
    }
    Ok(QueueReading {
        queue: name.to_owned(),
        depth,
        oldest_enqueued_at: oldest,
        busy: Some(busy),
    })
}

/// A job hash that is gone (finished and expired meanwhile) tells nothing: `None`.
async fn enqueued_at(conn: &mut Conn, id: &str) -> Result<Option<Timestamp>, Failure> {
    let raw: Option<String> = rb::query(
        conn,
        ADAPTER,
        redis::cmd("HGET")
            .arg(format!("rq:job:{id}"))
            .arg("enqueued_at"),
    )
    .await?;
    let Some(raw) = raw.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    parse_utc(&raw)
        .map(Some)
        .ok_or_else(|| Failure::garbage(format!("job {id}: enqueued_at `{raw}` is not a time")))
}

/// RQ writes UTC without an offset letter in some versions; both forms are accepted.
fn parse_utc(raw: &str) -> Option<Timestamp> {
    let t = raw.trim();
    t.parse::<jiff::Timestamp>()
        .ok()
        .or_else(|| format!("{t}Z").parse::<jiff::Timestamp>().ok())
        .map(Timestamp::from_jiff)
}
