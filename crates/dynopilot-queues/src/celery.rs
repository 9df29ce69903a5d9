//! Celery with the Redis broker (kombu): each queue is a list named after it (default
//! `celery`), pushed on the left and taken from the right; with priorities on, kombu adds the
//! lists `<name>\x06\x163`, `…6` and `…9`. A message is a JSON object (`body`, `headers`,
//! `properties`) that records no enqueue time, so Celery queues report depth only. Keys carry
//! kombu's `global_keyprefix` (the `namespace` setting) when one is set.

use crate::adapter::Adapter;
use crate::reading::QueueReading;
use crate::redis_backend::{self as rb, Conn, Failure, settle};
use crate::{Snapshot, SourceError, SourceSpec};

const ADAPTER: Adapter = Adapter::Celery;
const DEFAULT_QUEUE: &str = "celery";
/// kombu's separator between a queue name and its priority step.
const PRIORITY_SEP: &str = "\x06\x16";
const PRIORITY_STEPS: [u8; 3] = [3, 6, 9];

pub(crate) async fn read(conn: &mut Conn, spec: &SourceSpec) -> Result<Snapshot, SourceError> {
    let prefix = spec.namespace.as_deref().unwrap_or_default();
    let names = if spec.queues.is_empty() {
        vec![DEFAULT_QUEUE.to_owned()]
    } else {
        spec.queues.clone()
    };
    let mut snapshot = Snapshot::default();
    for name in names {
        let result = read_queue(conn, &format!("{prefix}{name}")).await;
        if let Some(depth) = settle(&mut snapshot, &name, result)? {
            snapshot.queues.push(QueueReading {
                depth,
                ..QueueReading::empty(&name)
            });
        }
    }
    Ok(snapshot)
}

async fn read_queue(conn: &mut Conn, key: &str) -> Result<u64, Failure> {
    let mut depth = 0;
    let mut keys = vec![key.to_owned()];
    keys.extend(
        PRIORITY_STEPS
            .iter()
            .map(|p| format!("{key}{PRIORITY_SEP}{p}")),
    );
    for k in &keys {
        let n = rb::llen(conn, ADAPTER, k).await?;
        if n > 0 {
            // Only a well-formed message counts: a list of garbage is not a queue.
            if let Some(next) = rb::lindex(conn, ADAPTER, k, -1).await? {
                let message = rb::json_object(&next)?;
                if !message.contains_key("headers") && !message.contains_key("properties") {
                    return Err(Failure::garbage(
                        "message has neither headers nor properties",
                    ));
                }
            }
        }
        depth += n;
    }
    Ok(depth)
}
