//! What one read of a queue source found: per queue depth, oldest runnable job and busy
//! count, the queues that could not be read, and their sum for the autoscaler.

use dynopilot_core::Timestamp;

/// One queue as read.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueReading {
    pub queue: String,
    /// Jobs waiting that could run now.
    pub depth: u64,
    /// When the oldest of them was enqueued (or became runnable), when the library records it.
    pub oldest_enqueued_at: Option<Timestamp>,
    /// Jobs of this queue being worked on, when the library tells.
    pub busy: Option<u64>,
}

impl QueueReading {
    pub fn empty(queue: &str) -> QueueReading {
        QueueReading {
            queue: queue.to_owned(),
            depth: 0,
            oldest_enqueued_at: None,
            busy: None,
        }
    }

    /// How long the oldest job has waited at `now` (zero for an empty queue).
    pub fn latency_ms(&self, now: Timestamp) -> Option<f64> {
        if self.depth == 0 {
            return Some(0.0);
        }
        self.oldest_enqueued_at
            .map(|at| (now.as_millis() - at.as_millis()).max(0) as f64)
    }
}

/// A queue (or the busy bookkeeping) that held something the library would not have written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueFault {
    pub queue: String,
    pub reason: String,
}

/// One read of a source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub queues: Vec<QueueReading>,
    pub faults: Vec<QueueFault>,
}

/// The queues of a source taken together, as the autoscaler sees one process type's queue.
#[derive(Clone, Debug, PartialEq)]
pub struct Total {
    pub depth: u64,
    /// The longest wait among the queues; `None` when a non-empty queue does not record it.
    pub latency_ms: Option<f64>,
    /// `None` when no queue tells how many jobs run.
    pub busy: Option<u64>,
}

impl Snapshot {
    /// Sum of depths and busy counts, the longest wait.
    pub fn total(&self, now: Timestamp) -> Total {
        let depth = self.queues.iter().map(|q| q.depth).sum();
        let known: Vec<u64> = self.queues.iter().filter_map(|q| q.busy).collect();
        let busy = (!known.is_empty()).then(|| known.iter().sum());
        let waits: Vec<Option<f64>> = self.queues.iter().map(|q| q.latency_ms(now)).collect();
        let latency_ms = if waits.iter().any(Option::is_none) {
            None
        } else {
            Some(waits.into_iter().flatten().fold(0.0, f64::max))
        };
        Total {
            depth,
            latency_ms,
            busy,
        }
    }

    pub(crate) fn fault(&mut self, queue: &str, reason: impl Into<String>) {
        self.faults.push(QueueFault {
            queue: queue.to_owned(),
            reason: reason.into(),
        });
    }

    pub fn reading(&self, queue: &str) -> Option<&QueueReading> {
        self.queues.iter().find(|q| q.queue == queue)
    }
}

/// Epoch milliseconds as a `Timestamp`, if finite.
pub(crate) fn from_epoch_ms(ms: f64) -> Option<Timestamp> {
    ms.is_finite()
        .then(|| Timestamp::from_millis(ms.round() as i64))
}
