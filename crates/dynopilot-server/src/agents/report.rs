//! One agent report in dynopilot's terms, whatever protocol brought it, and how it is folded into
//! an app's observed state: web request queue time into the router windows of the reporting
//! process type (the signal `queue_time_p95` reads), job queues into one queue sample per
//! process type (the `queue` autoscaler's input). Metrics stamped too far from now are counted
//! and skipped, like log lines (`fleet::actionable`).

use std::collections::BTreeMap;

use dynopilot_core::Timestamp;
use dynopilot_core::names::split_dyno_name;
use dynopilot_core::policy::QueueSample;

use crate::config::AgentsConfig;
use crate::fleet::AppState;
use crate::fleet::{FUTURE_SKEW, STALE_AFTER};

/// What a job-queue metric measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobMeasure {
    /// Age of the oldest waiting job, ms.
    LatencyMs,
    /// Jobs waiting.
    Depth,
    /// Jobs being worked on.
    Busy,
}

#[derive(Clone, Debug, PartialEq)]
pub struct JobMetric {
    pub at: Timestamp,
    pub queue: String,
    pub measure: JobMeasure,
    pub value: f64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// The reporting dyno (`web.1`), when the report names one.
    pub container: Option<String>,
    /// Queue time of single web requests, ms.
    pub queue_time: Vec<(Timestamp, f64)>,
    /// Per named job queue.
    pub jobs: Vec<JobMetric>,
    /// Samples already per process type (HireFire's info answer).
    pub samples: Vec<(String, QueueSample)>,
    /// Metrics of kinds dynopilot does not use (app time, utilization…).
    pub ignored: usize,
}

impl Report {
    pub(super) fn job(&mut self, at: Timestamp, queue: &str, measure: JobMeasure, value: f64) {
        self.jobs.push(JobMetric {
            at,
            queue: queue.to_owned(),
            measure,
            value,
        });
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReportError {
    #[error("malformed report: {0}")]
    Malformed(String),
}

/// What applying one report did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub queue_times: usize,
    pub queue_samples: usize,
    /// Metrics skipped for being stamped more than 5 minutes ago or 2 minutes ahead.
    pub stale: usize,
}

fn fresh(at: Timestamp, now: Timestamp) -> bool {
    at >= now.minus(STALE_AFTER) && at <= now.plus(FUTURE_SKEW)
}

/// One queue's latest numbers within a report.
#[derive(Default)]
struct QueueNumbers {
    at: Option<Timestamp>,
    depth: Option<f64>,
    latency_ms: Option<f64>,
    busy: Option<f64>,
}

/// Folds `report` into `state` at `now`.
pub fn apply(
    state: &mut AppState,
    report: &Report,
    agents: &AgentsConfig,
    now: Timestamp,
) -> Applied {
    let mut applied = Applied::default();
    let web = report
        .container
        .as_deref()
        .and_then(split_dyno_name)
        .map_or("web", |(ty, _)| ty);
    for &(at, ms) in &report.queue_time {
        if fresh(at, now) {
            state.observed.agent_queue_time.insert(web.to_owned());
            state.add_agent_queue_time(web, at, ms);
            applied.queue_times += 1;
        } else {
            applied.stale += 1;
        }
    }
    let mut queues: BTreeMap<&str, QueueNumbers> = BTreeMap::new();
    for job in &report.jobs {
        if !fresh(job.at, now) {
            applied.stale += 1;
            continue;
        }
        let q = queues.entry(job.queue.as_str()).or_default();
        q.at = Some(q.at.map_or(job.at, |t| t.max(job.at)));
        let slot = match job.measure {
            JobMeasure::Depth => &mut q.depth,
            JobMeasure::LatencyMs => &mut q.latency_ms,
            JobMeasure::Busy => &mut q.busy,
        };
        *slot = Some(job.value);
    }
    for (process_type, sample) in per_process_type(&queues, agents) {
        state.observed.queue_readers.insert(process_type.clone());
        state.add_agent_queue_sample(&process_type, sample);
        applied.queue_samples += 1;
    }
    for (process_type, sample) in &report.samples {
        if fresh(sample.at, now) {
            state.observed.queue_readers.insert(process_type.clone());
            state.add_agent_queue_sample(process_type, sample.clone());
            applied.queue_samples += 1;
        } else {
            applied.stale += 1;
        }
    }
    applied
}

/// The queues of one process type make one sample: depths and busy jobs add up, the latency is
/// the oldest job's. A queue reported with a waiting time but no depth has at least the job
/// that waits (adapters report 0 for an empty queue).
fn per_process_type(
    queues: &BTreeMap<&str, QueueNumbers>,
    agents: &AgentsConfig,
) -> BTreeMap<String, QueueSample> {
    let mut out: BTreeMap<String, QueueSample> = BTreeMap::new();
    for (name, q) in queues {
        let Some(at) = q.at else { continue };
        let latency = q.latency_ms.filter(|l| *l > 0.0);
        let depth = q
            .depth
            .map_or(u64::from(latency.is_some()), |d| d.round() as u64);
        let sample = out
            .entry(agents.process_type_of(name).to_owned())
            .or_insert(QueueSample {
                at,
                depth: 0,
                latency_ms: None,
                busy: None,
            });
        sample.at = sample.at.max(at);
        sample.depth = sample.depth.saturating_add(depth);
        if let Some(l) = q.latency_ms {
            sample.latency_ms = Some(sample.latency_ms.map_or(l, |s| s.max(l)));
        }
        if let Some(b) = q.busy {
            sample.busy = Some(sample.busy.unwrap_or(0).saturating_add(b.round() as u64));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::from_millis(1_767_225_610_000);

    fn job(queue: &str, measure: JobMeasure, value: f64) -> JobMetric {
        JobMetric {
            at: NOW.minus(std::time::Duration::from_secs(10)),
            queue: queue.to_owned(),
            measure,
            value,
        }
    }

    #[test]
    fn queues_of_one_process_type_add_up_and_the_oldest_job_counts() {
        let mut agents = AgentsConfig::default();
        agents.queues.insert("urgent".into(), "fast".into());
        let report = Report {
            jobs: vec![
                job("default", JobMeasure::Depth, 10.0),
                job("default", JobMeasure::LatencyMs, 4000.0),
                job("mailers", JobMeasure::Depth, 5.0),
                job("mailers", JobMeasure::LatencyMs, 9000.0),
                job("mailers", JobMeasure::Busy, 2.0),
                job("urgent", JobMeasure::LatencyMs, 300.0),
            ],
            ..Report::default()
        };
        let mut state = AppState::default();
        let applied = apply(&mut state, &report, &agents, NOW);
        assert_eq!(applied.queue_samples, 2);
        let worker = &state.observed.process_types["worker"].queue[0];
        assert_eq!(
            (worker.depth, worker.latency_ms, worker.busy),
            (15, Some(9000.0), Some(2))
        );
        let fast = &state.observed.process_types["fast"].queue[0];
        assert_eq!(
            (fast.depth, fast.latency_ms, fast.busy),
            (1, Some(300.0), None)
        );
    }

    #[test]
    fn metrics_far_from_now_are_counted_and_skipped() {
        let old = NOW.minus(std::time::Duration::from_secs(600));
        let ahead = NOW.plus(std::time::Duration::from_secs(600));
        let report = Report {
            queue_time: vec![(old, 50.0), (ahead, 50.0), (NOW, 50.0)],
            ..Report::default()
        };
        let mut state = AppState::default();
        let applied = apply(&mut state, &report, &AgentsConfig::default(), NOW);
        assert_eq!((applied.queue_times, applied.stale), (1, 2));
    }
}
