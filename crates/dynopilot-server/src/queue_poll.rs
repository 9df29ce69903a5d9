//! Queue pollers: one task per `[[apps.queues]]` source, off the runner's path, reading the job
//! backend every `interval` and feeding the sum over its queues to the process type's queue
//! autoscaler. A failed or partial read is counted (`dynopilot_queue_read_errors_total`),
//! logged and skipped: it never becomes a sample, so an outage can't read as an empty queue.

use std::collections::BTreeMap;
use std::sync::Arc;

use dynopilot_core::policy::QueueSample;
use dynopilot_core::{Clock, Timestamp};
use dynopilot_queues::{QueueSource, Snapshot, SourceError};
use tokio_util::sync::CancellationToken;

use crate::config::QueueSourceConfig;
use crate::ingest::Ingest;
use crate::web::WebState;
use crate::web::metrics::Out;

/// Samples kept per process type (as for app-logged queue metrics).
const SAMPLES_KEPT: usize = 360;

/// What the pollers of one app saw, for `/metrics` and the log.
#[derive(Debug, Default, Clone)]
pub struct QueueReads {
    /// (process type, adapter, kind) → failed reads; kind is `garbage` for a queue holding
    /// what its library would not write, else the source error's kind.
    pub errors: BTreeMap<(String, &'static str, &'static str), u64>,
    /// The last good reading per process type.
    pub last: BTreeMap<String, QueueSample>,
    /// Process types whose source is failing now (to log once per episode).
    failing: BTreeMap<String, bool>,
}

/// One source's poller.
pub struct QueuePoller {
    pub app: String,
    pub config: QueueSourceConfig,
    pub source: QueueSource,
    pub ingest: Ingest,
    pub clock: Arc<dyn Clock>,
}

/// The outcome of one poll, for tests and the log.
#[derive(Debug, Clone, PartialEq)]
pub enum Polled {
    Sample(QueueSample),
    Faults(usize),
    Failed(&'static str),
}

impl QueuePoller {
    pub fn new(
        app: &str,
        config: QueueSourceConfig,
        ingest: Ingest,
    ) -> Result<QueuePoller, SourceError> {
        let source = QueueSource::new(config.spec())?;
        let clock = Arc::clone(&ingest.clock);
        Ok(QueuePoller {
            app: app.to_owned(),
            config,
            source,
            ingest,
            clock,
        })
    }

    pub async fn run(self, cancel: CancellationToken) {
        self.mark_reader();
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = self.poll_once() => {}
            }
            tokio::select! {
                () = cancel.cancelled() => break,
                () = self.clock.sleep(self.config.interval) => {}
            }
        }
        self.source.close().await;
    }

    /// The process type's queue autoscaler now has a signal of its own: not blind without logs.
    pub fn mark_reader(&self) {
        if let Ok(mut fleet) = self.ingest.fleet.lock() {
            let observed = &mut fleet.app_mut(&self.app).observed;
            observed
                .queue_readers
                .insert(self.config.process_type.clone());
        }
    }

    /// One read; a good one becomes a sample of the process type.
    pub async fn poll_once(&self) -> Polled {
        let at = self.clock.now();
        let outcome = match self.source.read(at).await {
            Ok(snapshot) if snapshot.faults.is_empty() => Polled::Sample(sample(&snapshot, at)),
            Ok(snapshot) => {
                self.log_faults(&snapshot);
                Polled::Faults(snapshot.faults.len())
            }
            Err(e) => {
                self.log_error(&e);
                Polled::Failed(e.kind())
            }
        };
        self.record(&outcome);
        outcome
    }

    fn record(&self, outcome: &Polled) {
        let Ok(mut fleet) = self.ingest.fleet.lock() else {
            return;
        };
        let state = fleet.app_mut(&self.app);
        let pt = self.config.process_type.clone();
        let adapter = self.config.adapter.as_str();
        let reads = &mut state.queue_reads;
        let (kind, count) = match outcome {
            Polled::Sample(sample) => {
                reads.last.insert(pt.clone(), sample.clone());
                reads.failing.insert(pt.clone(), false);
                let queue = &mut state.observed.process_types.entry(pt).or_default().queue;
                queue.push(sample.clone());
                let excess = queue.len().saturating_sub(SAMPLES_KEPT);
                queue.drain(..excess);
                return;
            }
            Polled::Faults(n) => ("garbage", *n as u64),
            Polled::Failed(kind) => (*kind, 1),
        };
        *reads.errors.entry((pt, adapter, kind)).or_default() += count;
    }

    fn log_faults(&self, snapshot: &Snapshot) {
        for fault in &snapshot.faults {
            tracing::warn!(
                app = %self.app,
                adapter = %self.config.adapter,
                queue = %fault.queue,
                reason = %fault.reason,
                "queue holds data its library would not write; this read is skipped (no sample)"
            );
        }
    }

    /// Logged at warn when the source starts failing, then at debug until it recovers.
    fn log_error(&self, e: &SourceError) {
        let fresh = self.ingest.fleet.lock().ok().is_some_and(|mut fleet| {
            let failing = &mut fleet.app_mut(&self.app).queue_reads.failing;
            !failing
                .insert(self.config.process_type.clone(), true)
                .unwrap_or(false)
        });
        if fresh {
            tracing::warn!(app = %self.app, process_type = %self.config.process_type, error = %e, "cannot read the job queue; holding the workers until it answers");
        } else {
            tracing::debug!(app = %self.app, error = %e, "job queue still unreadable");
        }
    }
}

/// The queues of one source as one sample: depths and busy counts summed, the longest wait.
pub fn sample(snapshot: &Snapshot, at: Timestamp) -> QueueSample {
    let total = snapshot.total(at);
    QueueSample {
        at,
        depth: total.depth,
        latency_ms: total.latency_ms,
        busy: total.busy,
    }
}

/// `dynopilot_queue_read_errors_total` and the last reading's depth, per app and process type.
pub fn render_metrics(out: &mut Out, state: &WebState) {
    let per_app: Vec<(String, QueueReads)> = {
        let Ok(fleet) = state.ingest.fleet.lock() else {
            return;
        };
        state
            .apps
            .snapshot()
            .keys()
            .filter_map(|app| Some((app.clone(), fleet.app(app)?.queue_reads.clone())))
            .collect()
    };
    out.family(
        "dynopilot_queue_read_errors_total",
        "counter",
        "Job-queue reads that produced no sample, by kind (garbage, redis, postgres, timeout).",
    );
    for (app, reads) in &per_app {
        for ((pt, adapter, kind), n) in &reads.errors {
            let labels = [
                ("app", app.as_str()),
                ("process_type", pt.as_str()),
                ("adapter", adapter),
                ("kind", kind),
            ];
            out.sample("dynopilot_queue_read_errors_total", &labels, *n as f64);
        }
    }
    out.family(
        "dynopilot_queue_depth",
        "gauge",
        "Jobs waiting in the process type's job queue at the last good read.",
    );
    for (app, reads) in &per_app {
        for (pt, sample) in &reads.last {
            let labels = [("app", app.as_str()), ("process_type", pt.as_str())];
            out.sample("dynopilot_queue_depth", &labels, sample.depth as f64);
        }
    }
}
