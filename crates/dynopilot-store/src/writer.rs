//! `BatchWriter`: a task that collects samples, rollups and events from ingest and writes them
//! in batches, so a drain request never waits on the database. It flushes every `max_items`
//! items or `max_delay` after the first unwritten item (timed by the injected `Clock`). A failed
//! write is counted, logged (once per outage and every 30 retries) and retried after
//! `max_delay`; items are kept up to `max_pending`, beyond which the oldest are dropped and
//! counted, so a database outage costs bounded memory. `pending` shows the backlog.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dynopilot_core::{Clock, Timestamp};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::model::{Batch, Event, Sample};
use crate::rollup::Rollup;
use crate::store::Store;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterConfig {
    /// Write as soon as this many items are waiting.
    pub max_items: usize,
    /// Write at most this long after the first unwritten item arrived; also the retry delay.
    pub max_delay: Duration,
    /// Capacity of the channel in messages; a full channel drops (and counts) new items.
    pub queue: usize,
    /// Items kept while the database is failing; older ones are dropped beyond this.
    pub max_pending: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            max_items: 1000,
            max_delay: Duration::from_secs(1),
            queue: 4096,
            max_pending: 100_000,
        }
    }
}

/// Counters for `/metrics` (they only ever grow) and the backlog gauge.
#[derive(Debug, Default)]
pub struct WriterStats {
    written: AtomicU64,
    failed_writes: AtomicU64,
    dropped: AtomicU64,
    pending: AtomicU64,
}

impl WriterStats {
    /// Items held in memory, not yet in the store: grows while the store is failing.
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }

    /// Items committed to the store.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Batch writes that failed (each is retried later).
    pub fn failed_writes(&self) -> u64 {
        self.failed_writes.load(Ordering::Relaxed)
    }

    /// Items lost: the channel was full or closed, or the failure backlog overflowed.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

enum Msg {
    Batch(Batch),
    Flush(oneshot::Sender<bool>),
}

/// The sending side; cheap to clone. The task ends, after a last write, once every clone is
/// dropped.
#[derive(Clone)]
pub struct BatchWriter {
    tx: mpsc::Sender<Msg>,
    stats: Arc<WriterStats>,
}

impl std::fmt::Debug for BatchWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchWriter")
            .field("stats", &self.stats)
            .finish()
    }
}

impl BatchWriter {
    /// Starts the writer task on the current tokio runtime.
    pub fn spawn(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: WriterConfig,
    ) -> (BatchWriter, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let stats = Arc::new(WriterStats::default());
        let task = Task {
            store,
            clock,
            config,
            stats: stats.clone(),
            pending: Batch::default(),
            deadline: None,
            backing_off: false,
            failures_in_a_row: 0,
        };
        (BatchWriter { tx, stats }, tokio::spawn(task.run(rx)))
    }

    pub fn stats(&self) -> &Arc<WriterStats> {
        &self.stats
    }

    /// Queues `batch` without waiting; returns false (and counts the items) when it is dropped.
    pub fn send(&self, batch: Batch) -> bool {
        let n = batch.len();
        if n == 0 {
            return true;
        }
        let sent = self.tx.try_send(Msg::Batch(batch)).is_ok();
        if !sent {
            WriterStats::add(&self.stats.dropped, n);
        }
        sent
    }

    pub fn sample(&self, sample: Sample) -> bool {
        self.send(Batch {
            samples: vec![sample],
            ..Batch::default()
        })
    }

    pub fn rollup(&self, rollup: Rollup) -> bool {
        self.send(Batch {
            rollups: vec![rollup],
            ..Batch::default()
        })
    }

    pub fn event(&self, event: Event) -> bool {
        self.send(Batch {
            events: vec![event],
            ..Batch::default()
        })
    }

    /// Writes everything queued before this call; true when it all reached the store.
    /// For shutdown and tests: this one does wait.
    pub async fn flush(&self) -> bool {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).await.is_err() {
            return false;
        }
        done.await.unwrap_or(false)
    }
}

struct Task {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: WriterConfig,
    stats: Arc<WriterStats>,
    pending: Batch,
    /// When the pending items must be written (or retried); `None` when nothing is pending.
    deadline: Option<Timestamp>,
    /// The last write failed: wait for the deadline before trying again.
    backing_off: bool,
    /// Failed writes since the last success, for logging the outage once, not every retry.
    failures_in_a_row: u64,
}

/// While the store keeps failing, the error is logged again every this many retries.
const LOG_EVERY_FAILURES: u64 = 30;

impl Task {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        loop {
            let timer = match self.deadline {
                Some(at) => self.clock.sleep_until(at),
                None => Box::pin(std::future::pending()),
            };
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(Msg::Batch(batch)) => self.push(batch).await,
                    Some(Msg::Flush(ack)) => {
                        self.write().await;
                        // The flusher may have given up waiting; nothing to do then.
                        let _ = ack.send(self.pending.is_empty());
                    }
                    None => break,
                },
                () = timer => self.write().await,
            }
        }
        self.write().await;
    }

    async fn push(&mut self, batch: Batch) {
        self.pending.append(batch);
        if self.deadline.is_none() {
            self.deadline = Some(self.clock.now().plus(self.config.max_delay));
        }
        self.trim();
        self.show_pending();
        // While retrying after a failure the deadline is the retry time: size alone must not
        // hammer a database that is down.
        if self.pending.len() >= self.config.max_items && !self.backing_off {
            self.write().await;
        }
    }

    async fn write(&mut self) {
        if self.pending.is_empty() {
            self.deadline = None;
            return;
        }
        match self.store.write_batch(&self.pending).await {
            Ok(()) => {
                if self.failures_in_a_row > 0 {
                    tracing::warn!(
                        failed_attempts = self.failures_in_a_row,
                        written = self.pending.len(),
                        "store writes recovered; the items held in memory are written"
                    );
                }
                WriterStats::add(&self.stats.written, self.pending.len());
                self.pending = Batch::default();
                self.deadline = None;
                self.backing_off = false;
                self.failures_in_a_row = 0;
            }
            Err(error) => {
                self.stats.failed_writes.fetch_add(1, Ordering::Relaxed);
                self.failures_in_a_row += 1;
                if self.failures_in_a_row % LOG_EVERY_FAILURES == 1 {
                    tracing::error!(
                        error = %crate::error::ErrorChain(&error),
                        pending = self.pending.len(),
                        max_pending = self.config.max_pending,
                        failed_attempts = self.failures_in_a_row,
                        "store write failed; holding items in memory (oldest samples dropped \
                         beyond max_pending) and retrying"
                    );
                }
                self.deadline = Some(self.clock.now().plus(self.config.max_delay));
                self.backing_off = true;
            }
        }
        self.show_pending();
    }

    fn show_pending(&self) {
        let n = u64::try_from(self.pending.len()).unwrap_or(u64::MAX);
        self.stats.pending.store(n, Ordering::Relaxed);
    }

    /// Drops the oldest items beyond `max_pending` in total: samples first, then rollups, then
    /// events (decisions and actions never pass through here).
    fn trim(&mut self) {
        let mut excess = self.pending.len().saturating_sub(self.config.max_pending);
        if excess == 0 {
            return;
        }
        WriterStats::add(&self.stats.dropped, excess);
        for kind in 0..3 {
            let n = match kind {
                0 => drain_front(&mut self.pending.samples, excess),
                1 => drain_front(&mut self.pending.rollups, excess),
                _ => drain_front(&mut self.pending.events, excess),
            };
            excess -= n;
        }
    }
}

fn drain_front<T>(items: &mut Vec<T>, n: usize) -> usize {
    let n = n.min(items.len());
    items.drain(..n);
    n
}
