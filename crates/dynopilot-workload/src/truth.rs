//! The ground truth the world records about itself (per-minute traffic, latency, queue time and
//! error codes; per-dyno memory; jobs; dyno-seconds and cost; API actions received), so tests and
//! backtests can judge what the daemon did without trusting the logs.

use std::collections::BTreeMap;

use dynopilot_core::{LatencySketch, Timestamp};

/// One minute of web and worker traffic, keyed by when the router line was written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MinuteTruth {
    /// Start of the minute.
    pub at: Timestamp,
    /// Router lines written this minute (every request, failed or not).
    pub requests: u64,
    /// `service=` of requests a dyno answered (ms; queueing inside the dyno included).
    pub latency: LatencySketch,
    /// Time between the router and a dyno thread picking the request up (X-Request-Start delta).
    pub queue: LatencySketch,
    /// Router error codes (`H12`, `H13`, …) and their counts.
    pub codes: BTreeMap<&'static str, u64>,
    /// Responses by status class (index 2 = 2xx … 5 = 5xx).
    pub status_classes: [u64; 6],
    /// Jobs finished this minute and their wait + run time (ms).
    pub jobs_done: u64,
    pub job_latency: LatencySketch,
    /// Largest job-queue depth seen at a metrics sample this minute.
    pub job_depth_max: u64,
}

/// One memory sample of one dyno (what the runtime-metrics line said).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryPoint {
    pub at: Timestamp,
    /// Which boot of the dyno (increments on every restart).
    pub boot: u32,
    pub total_mb: f64,
    pub rss_mb: f64,
    pub swap_mb: f64,
}

/// Platform events by dyno, in order (R10/R14/R15, crashes, restarts, cycling).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynoIncident {
    pub at: Timestamp,
    pub dyno: String,
    /// `R14`, `R15`, `R10`, `crash`, `restart`, `cycle`, `boot`.
    pub kind: &'static str,
    /// The instance id (`heroku.N.uuid`) the dyno had at that point.
    pub instance_id: String,
}

/// An API call the simulator received, as it reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiAction {
    pub at: Timestamp,
    pub method: String,
    pub path: String,
    /// Free text (the request body or a summary).
    pub detail: String,
}

/// Everything the world knows about itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroundTruth {
    pub start: Timestamp,
    pub minutes: Vec<MinuteTruth>,
    /// Memory samples per dyno name.
    pub memory: BTreeMap<String, Vec<MemoryPoint>>,
    pub incidents: Vec<DynoIncident>,
    /// Seconds dynos existed in the formation, by size name (Heroku bills per second).
    pub dyno_seconds: BTreeMap<&'static str, f64>,
    pub cost_dollars: f64,
    pub api_actions: Vec<ApiAction>,
}

impl GroundTruth {
    pub(crate) fn new(start: Timestamp) -> Self {
        Self {
            start,
            ..Self::default()
        }
    }

    /// The minute record holding `at`, created on first use.
    pub(crate) fn minute(&mut self, at: Timestamp) -> &mut MinuteTruth {
        let index =
            usize::try_from((at.as_millis() - self.start.as_millis()).max(0) / 60_000).unwrap_or(0);
        while self.minutes.len() <= index {
            let at =
                Timestamp::from_millis(self.start.as_millis() + 60_000 * self.minutes.len() as i64);
            self.minutes.push(MinuteTruth {
                at,
                ..MinuteTruth::default()
            });
        }
        &mut self.minutes[index]
    }

    /// All minutes merged: total requests, latency and queue sketches.
    pub fn totals(&self) -> MinuteTruth {
        let mut all = MinuteTruth {
            at: self.start,
            ..MinuteTruth::default()
        };
        for m in &self.minutes {
            all.requests += m.requests;
            all.latency.merge(&m.latency);
            all.queue.merge(&m.queue);
            for (code, n) in &m.codes {
                *all.codes.entry(code).or_default() += n;
            }
            for (a, b) in all.status_classes.iter_mut().zip(m.status_classes) {
                *a += b;
            }
            all.jobs_done += m.jobs_done;
            all.job_latency.merge(&m.job_latency);
            all.job_depth_max = all.job_depth_max.max(m.job_depth_max);
        }
        all
    }

    /// Incidents of one kind.
    pub fn incidents_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a DynoIncident> {
        self.incidents.iter().filter(move |i| i.kind == kind)
    }

    pub(crate) fn bill(&mut self, size: &'static dynopilot_core::DynoSize, seconds: f64) {
        *self.dyno_seconds.entry(size.name).or_default() += seconds;
        self.cost_dollars += size.dollars_per_hour() * seconds / 3_600.0;
    }
}
