//! Resque: queue names in the `<ns>:queues` set (namespace default `resque`), jobs in
//! `<ns>:queue:<name>` lists (pushed on the right, taken from the left), each a JSON object
//! `{"class": …, "args": […]}` with no enqueue time, so Resque queues report depth only.
//! Running jobs: every worker in `<ns>:workers` that is working has a `<ns>:worker:<id>` key
//! holding JSON `{"queue": …, "run_at": …, "payload": …}`.

use std::collections::BTreeMap;

use crate::adapter::Adapter;
use crate::reading::QueueReading;
use crate::redis_backend::{self as rb, Conn, Failure, settle};
use crate::{Snapshot, SourceError, SourceSpec};

const ADAPTER: Adapter = Adapter::Resque;
pub(crate) const DEFAULT_NAMESPACE: &str = "resque";

pub(crate) async fn read(conn: &mut Conn, spec: &SourceSpec) -> Result<Snapshot, SourceError> {
    let ns = spec.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE);
    let mut snapshot = Snapshot::default();
    let names = if spec.queues.is_empty() {
        let listed = rb::members(conn, ADAPTER, &format!("{ns}:queues")).await;
        settle(&mut snapshot, "(queues)", listed)?.unwrap_or_default()
    } else {
        spec.queues.clone()
    };
    let running = settle(&mut snapshot, "(workers)", busy_by_queue(conn, ns).await)?;
    for name in names {
        let result = read_queue(conn, &format!("{ns}:queue:{name}")).await;
        if let Some(depth) = settle(&mut snapshot, &name, result)? {
            let busy = running.as_ref().map(|r| r.get(&name).copied().unwrap_or(0));
            snapshot.queues.push(QueueReading {
                depth,
                busy,
                ..QueueReading::empty(&name)
            });
        }
    }
    Ok(snapshot)
}

async fn read_queue(conn: &mut Conn, key: &str) -> Result<u64, Failure> {
    let depth = rb::llen(conn, ADAPTER, key).await?;
    if depth > 0
        && let Some(next) = rb::lindex(conn, ADAPTER, key, 0).await?
        && !rb::json_object(&next)?.contains_key("class")
    {
        return Err(Failure::garbage("job has no class"));
    }
    Ok(depth)
}

async fn busy_by_queue(conn: &mut Conn, ns: &str) -> Result<BTreeMap<String, u64>, Failure> {
    let workers = rb::members(conn, ADAPTER, &format!("{ns}:workers")).await?;
    let mut busy = BTreeMap::new();
    for worker in workers {
        let job: Option<Vec<u8>> = rb::query(
            conn,
            ADAPTER,
            redis::cmd("GET").arg(format!("{ns}:worker:{worker}")),
        )
        .await?;
        let Some(job) = job else { continue };
        let job = rb::json_object(&job)?;
        let queue = job
            .get("queue")
            .and_then(|q| q.as_str())
            .ok_or_else(|| Failure::garbage("worker entry without a queue"))?;
        *busy.entry(queue.to_owned()).or_insert(0) += 1;
    }
    Ok(busy)
}
