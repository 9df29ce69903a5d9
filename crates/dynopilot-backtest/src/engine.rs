//! The backtest loop in virtual time: each step the trace's rate meets the formation (fast or
//! exact model), the outcome is accumulated, and every `evaluate_every_s` the controller (a
//! policy, a peer or the oracle's plan) may set a new quantity, which the fleet executes with
//! Heroku's timing. Nothing here reads a clock.

use std::collections::VecDeque;

use serde::Serialize;

use crate::error::BacktestError;
use crate::exact::ExactModel;
use crate::fast::{FastModel, POINTS, Step};
use crate::fleet::Fleet;
use crate::histogram::Histogram;
use crate::scenario::Scenario;
use crate::trace::Trace;

/// Which queueing model serves the traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fidelity {
    Fast,
    Exact,
}

/// One step as policies may observe it (what the router lines of that step would show).
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    pub at_s: f64,
    pub dt: f64,
    pub requests: f64,
    pub wait_ms: [f64; POINTS],
    pub response_ms: [f64; POINTS],
}

impl Observed {
    /// The `q` quantile of this step's wait points.
    pub fn wait_quantile(&self, q: f64) -> f64 {
        quantile(&self.wait_ms, q)
    }

    pub fn response_quantile(&self, q: f64) -> f64 {
        quantile(&self.response_ms, q)
    }

    pub fn response_mean(&self) -> f64 {
        self.response_ms.iter().sum::<f64>() / POINTS as f64
    }
}

fn quantile(points: &[f64; POINTS], q: f64) -> f64 {
    let mut sorted = *points;
    sorted.sort_by(f64::total_cmp);
    let i = ((q * POINTS as f64).ceil() as usize).clamp(1, POINTS) - 1;
    sorted[i]
}

/// What a controller sees when it is asked: the formation and the last hour of steps.
#[derive(Debug)]
pub struct View<'a> {
    pub now_s: f64,
    pub quantity: u32,
    pub up: u32,
    pub booting: u32,
    /// When the quantity last changed.
    pub updated_s: f64,
    pub recent: &'a VecDeque<Observed>,
    pub scenario: &'a Scenario,
    pub dynos: &'a [crate::fleet::Dyno],
}

impl View<'_> {
    /// Steps that ended after `since_s`.
    pub fn since(&self, since_s: f64) -> impl Iterator<Item = &Observed> {
        self.recent.iter().filter(move |o| o.at_s + o.dt > since_s)
    }
}

/// A scaling policy under test: given the view, the quantity it sets (or `None` to hold).
pub trait Controller {
    fn name(&self) -> String;
    fn decide(&mut self, view: &View<'_>) -> Option<u32>;
}

/// One point of the timeline kept for charts (one per evaluation).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelinePoint {
    pub t_s: f64,
    pub rps: f64,
    pub up: u32,
    pub booting: u32,
    pub wait_p95_ms: f64,
    /// Set when the controller changed the quantity at this point.
    pub scaled_to: Option<u32>,
}

/// Totals of one run.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub policy: String,
    pub requests: f64,
    pub late: f64,
    pub h12: f64,
    pub dyno_seconds: f64,
    pub cost_dollars: f64,
    pub formation_changes: u32,
    pub response: Histogram,
    pub timeline: Vec<TimelinePoint>,
    /// Largest share of late requests in any one step.
    pub worst_step_late: f64,
    /// p50/p95/p99 response from the exact model's ground truth (the histogram is empty then).
    pub percentiles: Option<[f64; 3]>,
}

impl RunResult {
    /// p50, p95, p99 response time (ms).
    pub fn percentiles(&self) -> [f64; 3] {
        self.percentiles
            .unwrap_or_else(|| [0.5, 0.95, 0.99].map(|q| self.response.quantile(q).unwrap_or(0.0)))
    }
}

/// The step's model: fast (analytic) or exact (every request simulated).
enum Model {
    Fast(FastModel),
    Exact(Box<ExactModel>),
}

/// Runs one controller over the whole trace.
pub fn run(
    trace: &Trace,
    s: &Scenario,
    fidelity: Fidelity,
    initial: u32,
    controller: &mut dyn Controller,
) -> Result<RunResult, BacktestError> {
    s.validate()?;
    let price = s.dyno_size()?.dollars_per_hour();
    let dt = s.resolution_s;
    let steps = (trace.duration_s() / dt).ceil() as u64;
    let eval_every = (s.evaluate_every_s / dt).round().max(1.0) as u64;
    let keep = ((3_600.0 / dt).ceil() as usize).max(1);
    let mut fleet = Fleet::new(initial, s.boot_s, 0.0);
    let mut model = match fidelity {
        Fidelity::Fast => Model::Fast(FastModel::default()),
        Fidelity::Exact => Model::Exact(Box::new(ExactModel::new(s, initial, trace)?)),
    };
    let mut recent: VecDeque<Observed> = VecDeque::with_capacity(keep.min(4096));
    let mut result = RunResult {
        policy: controller.name(),
        requests: 0.0,
        late: 0.0,
        h12: 0.0,
        dyno_seconds: 0.0,
        cost_dollars: 0.0,
        formation_changes: 0,
        response: Histogram::default(),
        timeline: Vec::new(),
        worst_step_late: 0.0,
        percentiles: None,
    };
    let exact = fidelity == Fidelity::Exact;
    for i in 0..steps {
        let t = i as f64 * dt;
        let rps = trace.rate_at(t);
        let up = fleet.up(t);
        let step = match &mut model {
            Model::Fast(m) => m.step(s, rps, up, dt),
            Model::Exact(m) => m.step(s, &fleet, t, dt),
        };
        accumulate(&mut result, &step, fleet.quantity(), dt, !exact);
        if recent.len() == keep {
            recent.pop_front();
        }
        recent.push_back(Observed {
            at_s: t,
            dt,
            requests: step.requests,
            wait_ms: step.wait_ms,
            response_ms: step.response_ms,
        });
        if (i + 1) % eval_every == 0 {
            let now = t + dt;
            let view = View {
                now_s: now,
                quantity: fleet.quantity(),
                up: fleet.up(now),
                booting: fleet.booting(now),
                updated_s: fleet.updated_s,
                recent: &recent,
                scenario: s,
                dynos: fleet.dynos(),
            };
            let wanted = controller.decide(&view).map(|q| q.clamp(s.min, s.max));
            let mut scaled_to = None;
            if let Some(q) = wanted
                && fleet.scale_to(q, now)
            {
                result.formation_changes += 1;
                scaled_to = Some(q);
                if let Model::Exact(m) = &mut model {
                    m.scale(&fleet, now)?;
                }
            }
            let window = recent.iter().rev().take(eval_every as usize);
            let wait_p95 = window.map(|o| o.wait_quantile(0.95)).fold(0.0, f64::max);
            result.timeline.push(TimelinePoint {
                t_s: now,
                rps,
                up: fleet.up(now),
                booting: fleet.booting(now),
                wait_p95_ms: wait_p95,
                scaled_to,
            });
        }
    }
    result.cost_dollars = result.dyno_seconds / 3_600.0 * price;
    if let Model::Exact(m) = &model {
        let t = m.totals();
        result.requests = t.requests;
        result.h12 = t.h12;
        result.late += t.h12;
        result.percentiles = Some([t.p50_ms, t.p95_ms, t.p99_ms]);
    }
    Ok(result)
}

fn accumulate(result: &mut RunResult, step: &Step, quantity: u32, dt: f64, histogram: bool) {
    result.requests += step.requests;
    result.late += step.late.min(step.requests);
    result.h12 += step.h12;
    result.dyno_seconds += f64::from(quantity) * dt;
    if step.requests > 0.0 {
        result.worst_step_late = result.worst_step_late.max(step.late / step.requests);
        if histogram {
            let w = step.requests / POINTS as f64;
            for r in step.response_ms {
                result.response.add(r, w);
            }
        }
    }
}
