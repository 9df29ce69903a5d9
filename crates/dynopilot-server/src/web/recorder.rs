//! The recorder: every few seconds it copies what is new in the fleet state (per-dyno memory and
//! load samples, closed router windows, R/H errors) into the store through a `BatchWriter`, so
//! the charts have history. It runs on its own task, never on a request.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use dynopilot_core::policy::{DynoState, ProcessTypeState};
use dynopilot_core::{Clock, Timestamp};
use dynopilot_store::{Batch, BatchWriter, Rollup, Sample};
use tokio_util::sync::CancellationToken;

use crate::fleet::Fleet;
use crate::ingest::Ingest;

/// Shared with `/metrics`: the newest observation time handed to the writer.
#[derive(Debug, Default)]
pub struct RecorderStats {
    newest_ms: AtomicI64,
}

impl RecorderStats {
    pub fn newest(&self) -> Option<Timestamp> {
        let ms = self.newest_ms.load(Ordering::Relaxed);
        (ms > 0).then(|| Timestamp::from_millis(ms))
    }

    fn saw(&self, at: Timestamp) {
        self.newest_ms.fetch_max(at.as_millis(), Ordering::Relaxed);
    }
}

impl super::WebState {
    /// Seconds between now and the newest observation handed to the store (0 before any).
    pub fn recorder_lag_seconds(&self) -> f64 {
        self.recorder
            .newest()
            .map_or(0.0, |t| self.clock.now().since(t).as_secs_f64())
    }
}

pub struct Recorder {
    pub ingest: Ingest,
    pub clock: Arc<dyn Clock>,
    pub writer: BatchWriter,
    pub interval: Duration,
    pub stats: Arc<RecorderStats>,
    /// What was already recorded, so each observation is written once.
    marks: Marks,
}

#[derive(Debug, Default)]
struct Marks {
    /// (app, dyno) → time of the newest sample written.
    samples: BTreeMap<(String, String), Timestamp>,
    /// (app, process type) → end of the newest router window written.
    windows: BTreeMap<(String, String), Timestamp>,
    /// (app, process type) → time of the newest error written.
    errors: BTreeMap<(String, String), Timestamp>,
}

impl Recorder {
    pub fn new(
        ingest: Ingest,
        clock: Arc<dyn Clock>,
        writer: BatchWriter,
        interval: Duration,
    ) -> Self {
        Recorder {
            ingest,
            clock,
            writer,
            interval,
            stats: Arc::new(RecorderStats::default()),
            marks: Marks::default(),
        }
    }

    pub async fn run(mut self, cancel: CancellationToken) {
        loop {
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                () = self.clock.sleep(self.interval) => {}
            }
            self.record_once();
        }
        self.record_once();
        if !self.writer.flush().await {
            tracing::warn!("recorder: the last samples did not reach the store");
        }
    }

    /// Queues everything new since the last call; returns how many items were queued.
    pub fn record_once(&mut self) -> usize {
        let shared = Arc::clone(&self.ingest.fleet);
        let batch = {
            let Ok(fleet) = shared.lock() else {
                return 0;
            };
            self.collect(&fleet)
        };
        let n = batch.len();
        self.writer.send(batch);
        n
    }

    fn collect(&mut self, fleet: &Fleet) -> Batch {
        let mut batch = Batch::default();
        for (app, state) in fleet.apps() {
            for (ty, pt) in &state.observed.process_types {
                for (dyno, d) in &pt.dynos {
                    let key = (app.clone(), dyno.clone());
                    let mark = self.marks.samples.get(&key).copied();
                    let new = samples(app, dyno, d, mark);
                    if let Some(last) = new.iter().map(|s| s.at).max() {
                        self.stats.saw(last);
                        self.marks.samples.insert(key, last);
                    }
                    batch.samples.extend(new);
                }
                batch.rollups.extend(self.rollups(app, ty, pt));
            }
        }
        batch
    }

    /// One rollup per new closed window (the store merges windows of the same minute), plus
    /// new errors counted in the rollup of their minute.
    fn rollups(&mut self, app: &str, ty: &str, pt: &ProcessTypeState) -> Vec<Rollup> {
        let key = (app.to_owned(), ty.to_owned());
        let window_mark = self.marks.windows.get(&key).copied();
        let mut out = Vec::new();
        for w in pt
            .router
            .iter()
            .filter(|w| window_mark.is_none_or(|m| w.end > m))
        {
            let mut r = Rollup::new(app, ty, w.start);
            r.requests = w.count;
            r.status = [0, w.status_2xx, w.status_3xx, w.status_4xx, w.status_5xx];
            r.service = w.service_ms.clone();
            r.connect = w.connect_ms.clone();
            r.queue = w.queue_ms.clone();
            out.push(r);
            self.marks.windows.insert(key.clone(), w.end);
            self.stats.saw(w.end);
        }
        let error_mark = self.marks.errors.get(&key).copied();
        let errors = pt
            .errors
            .iter()
            .chain(pt.dynos.values().flat_map(|d| d.errors.iter()))
            .filter(|e| error_mark.is_none_or(|m| e.at > m));
        let mut newest = error_mark;
        for e in errors {
            let mut r = Rollup::new(app, ty, e.at);
            r.record_error(&e.code);
            out.push(r);
            newest = newest.max(Some(e.at));
        }
        if let Some(n) = newest {
            self.marks.errors.insert(key, n);
        }
        out
    }
}

/// The dyno's memory samples after `mark`, with the load average of the same moment attached;
/// load readings without a memory reading become samples of their own.
fn samples(app: &str, dyno: &str, d: &DynoState, mark: Option<Timestamp>) -> Vec<Sample> {
    let is_new = |at: Timestamp| mark.is_none_or(|m| at > m);
    let mut out: BTreeMap<Timestamp, Sample> = BTreeMap::new();
    for m in d.memory.iter().filter(|m| is_new(m.at)) {
        let s = out
            .entry(m.at)
            .or_insert_with(|| Sample::new(app, dyno, m.at));
        s.instance_id = m.instance_id.clone();
        s.memory_total_mb = Some(m.total_mb);
        s.memory_rss_mb = Some(m.rss_mb);
        s.memory_swap_mb = Some(m.swap_mb);
        s.memory_quota_mb = m.quota_mb;
    }
    for l in d.load.iter().filter(|l| is_new(l.at)) {
        let s = out
            .entry(l.at)
            .or_insert_with(|| Sample::new(app, dyno, l.at));
        s.load_1m = Some(l.load_avg_1m);
    }
    out.into_values().collect()
}
