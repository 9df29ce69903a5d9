//! The `exact` fidelity: every request simulated by `dynopilot-workload` (Poisson arrivals,
//! Heroku's random routing onto dynos with `threads` workers and FIFO queues, boot times,
//! H12 at the router timeout). Each step's queue waits are read back from the app's
//! `measure#queue_time` lines (every served request logs one here), as the daemon would read
//! them. Router lines are not formatted (formatting 43 million of them a day dominated the run
//! time): totals, H12s and response percentiles come from the world's ground truth instead, and
//! a step's response points are its measured waits plus stratified exponential service times.

use dynopilot_core::{DynoSize, Timestamp};
use dynopilot_logplex::logfmt;
use dynopilot_workload::{
    LogEntry, LogSink, MemoryModel, Model, PlatformModel, ProcessModel, RequestClass,
    ServiceDistribution, TrafficPattern, WorkloadConfig,
};

use crate::dynopilot::EPOCH_S;
use crate::error::BacktestError;
use crate::fast::{POINTS, Step};
use crate::fleet::Fleet;
use crate::scenario::Scenario;
use crate::trace::Trace;

/// Seconds the initial formation boots before the trace starts, so it starts up like the
/// fast model's.
fn warm_up_s(s: &Scenario) -> f64 {
    (s.boot_s + 5.0).ceil()
}

pub struct ExactModel {
    model: Model,
    sink: StepSink,
}

impl std::fmt::Debug for ExactModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExactModel").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct StepSink {
    waits: Vec<f64>,
}

impl LogSink for StepSink {
    fn wants(&mut self, source: &'static str, process: &str) -> bool {
        source == "app" && process.starts_with("web.")
    }

    fn log(&mut self, line: LogEntry) {
        if let Some(v) = line.message.strip_prefix("measure#queue_time=")
            && let Some((ms, _)) = logfmt::split_number(v)
        {
            self.waits.push(ms);
        }
    }
}

/// What the world's ground truth says about the whole run.
#[derive(Clone, Debug)]
pub struct Totals {
    pub requests: f64,
    pub h12: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

impl ExactModel {
    pub fn new(s: &Scenario, initial: u32, trace: &Trace) -> Result<Self, BacktestError> {
        let warm = warm_up_s(s);
        let config = workload(s, initial, trace, warm);
        let start = Timestamp::from_secs(EPOCH_S - warm as i64);
        let mut model =
            Model::new(config, start).map_err(|e| BacktestError::Exact(e.to_string()))?;
        let mut sink = StepSink::default();
        model.advance_to(Timestamp::from_secs(EPOCH_S), &mut sink);
        Ok(ExactModel {
            model,
            sink: StepSink::default(),
        })
    }

    pub fn step(&mut self, s: &Scenario, _fleet: &Fleet, t_s: f64, dt: f64) -> Step {
        let end = crate::dynopilot::at(t_s + dt);
        self.model.advance_to(end, &mut self.sink);
        let waits = std::mem::take(&mut self.sink.waits);
        let late = waits.iter().filter(|w| **w > s.late_ms).count();
        let mut step = Step {
            requests: waits.len() as f64,
            late: late as f64,
            ..Step::default()
        };
        step.wait_ms = points(waits);
        for (i, (r, w)) in step.response_ms.iter_mut().zip(&step.wait_ms).enumerate() {
            let q = ((i * 37 % POINTS) as f64 + 0.5) / POINTS as f64;
            *r = w - s.service_ms * (1.0 - q).ln();
        }
        self.sink.waits = Vec::with_capacity(late.max(64));
        step
    }

    /// Requests, H12s and response percentiles of the trace (the warm-up has no traffic).
    pub fn totals(&self) -> Totals {
        let all = self.model.truth().totals();
        let q = |p| all.latency.quantile(p).unwrap_or(0.0);
        Totals {
            requests: all.requests as f64,
            h12: all.codes.get("H12").copied().unwrap_or(0) as f64,
            p50_ms: q(0.5),
            p95_ms: q(0.95),
            p99_ms: q(0.99),
        }
    }

    pub fn scale(&mut self, fleet: &Fleet, now_s: f64) -> Result<(), BacktestError> {
        self.model
            .set_formation(
                "web",
                Some(fleet.quantity()),
                None,
                crate::dynopilot::at(now_s),
            )
            .map_err(|e| BacktestError::Exact(e.to_string()))
    }
}

/// `POINTS` stratified quantiles of the values (zeros when there are none).
fn points(mut values: Vec<f64>) -> [f64; POINTS] {
    let mut out = [0.0; POINTS];
    if values.is_empty() {
        return out;
    }
    values.sort_by(f64::total_cmp);
    for (i, slot) in out.iter_mut().enumerate() {
        let q = (i as f64 + 0.5) / POINTS as f64;
        let at = ((q * values.len() as f64) as usize).min(values.len() - 1);
        *slot = values[at];
    }
    out
}

fn workload(s: &Scenario, initial: u32, trace: &Trace, warm: f64) -> WorkloadConfig {
    let mut cfg = WorkloadConfig::demo();
    cfg.seed = s.seed;
    cfg.jobs = None;
    cfg.queue_time_sampling = 1.0;
    cfg.platform = PlatformModel {
        request_timeout_s: s.request_timeout_s,
        cycling: false,
        ..PlatformModel::default()
    };
    cfg.classes = vec![RequestClass {
        path: "/".into(),
        method: "GET".into(),
        weight: 1.0,
        // An exponential's median is its mean × ln 2.
        median_ms: s.service_ms * std::f64::consts::LN_2,
        sigma: 0.6,
        distribution: ServiceDistribution::Exponential,
        cpu_share: 0.0,
        bytes: 1_024,
        error_rate: 0.0,
    }];
    cfg.process_types = vec![ProcessModel {
        name: "web".into(),
        command: "bin/web".into(),
        size: s.size.clone(),
        quantity: initial,
        processes: 1,
        threads: s.threads,
        boot_s: s.boot_s.max(0.001),
        boot_sigma: 0.0,
        memory: MemoryModel::default(),
        crashes_per_day: 0.0,
    }];
    cfg.traffic = piecewise_constant(trace, warm);
    let _ = DynoSize::lookup(&s.size);
    cfg
}

/// The trace as the workload's linearly interpolated pattern: each rate held until just before
/// the next row, shifted by the warm-up (no traffic before the trace starts).
fn piecewise_constant(trace: &Trace, warm: f64) -> TrafficPattern {
    let mut points = vec![(0.0, 0.0), (warm - 0.001, 0.0)];
    let rows = trace.points();
    for (i, (t, r)) in rows.iter().enumerate() {
        points.push((t + warm, *r));
        let next = rows.get(i + 1).map_or(trace.duration_s(), |n| n.0);
        points.push((next + warm - 0.001, *r));
    }
    TrafficPattern::Trace { points }
}
