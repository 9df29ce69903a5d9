//! dynopilot itself as a backtest controller: each evaluation turns the steps since the last
//! one into what the daemon's fleet state would hold (a router window of queue and service
//! times, the dyno list with `starting`/`up` lifecycles, the formation), calls
//! `core::policy::evaluate` with the real guardrails, and executes the `ScaleFormation` it let
//! through.
//!
//! The daemon builds the same `ObservedState` in `dynopilot-server`'s fleet module from parsed
//! log lines and API polls; that module is tied to the server's async ingest, so the backtest
//! fills the same structure directly from the model's steps (one router window per evaluation,
//! as the fleet closes one per 10 s).

use dynopilot_core::policy::{
    Action, Config, DynoLifecycle, DynoState, Formation, ObservedState, PolicyState,
    ProcessTypeConfig, QueueSample, RouterWindow,
};
use dynopilot_core::scaling::{
    CapacityConfig, HorizontalConfig, QueueConfig, StreakConfig, TrendConfig,
};
use dynopilot_core::{LatencySketch, Timestamp};

use crate::engine::{Controller, Observed, View};
use crate::fast::POINTS;

/// 2026-01-01T00:00:00Z, a Thursday: virtual second 0.
pub const EPOCH_S: i64 = 1_767_225_600;
pub const PROCESS_TYPE: &str = "web";
/// The app every backtest runs as.
pub const APP: &str = "backtest";
/// Router windows kept: one hour of 10 s windows covers every algorithm's lookback.
const WINDOWS_KEPT: usize = 360;

pub fn at(t_s: f64) -> Timestamp {
    Timestamp::from_millis(EPOCH_S * 1000 + (t_s * 1000.0).round() as i64)
}

/// The autoscale configurations dynopilot ships, by backtest policy name. `dynopilot` is the
/// recommended web autoscaler: `capacity`, told the app's concurrency (threads per dyno) and
/// the backtest's lateness target, everything else at its defaults.
pub fn configured(name: &str, s: &crate::Scenario) -> Option<Option<HorizontalConfig>> {
    Some(match name {
        "dynopilot" => Some(HorizontalConfig::Capacity(CapacityConfig {
            concurrency: s.threads,
            queue_target: jiff::SignedDuration::from_millis(s.late_ms.round() as i64),
            ..CapacityConfig::default()
        })),
        "dynopilot-target" => Some(HorizontalConfig::default()),
        "dynopilot-streak" => Some(HorizontalConfig::Streak(StreakConfig::default())),
        "dynopilot-trend" => Some(HorizontalConfig::Trend(TrendConfig::default())),
        "dynopilot-queue" => Some(HorizontalConfig::Queue(QueueConfig::default())),
        _ => return None,
    })
}

pub const NAMES: [&str; 5] = [
    "dynopilot",
    "dynopilot-target",
    "dynopilot-streak",
    "dynopilot-trend",
    "dynopilot-queue",
];

/// The policy configuration a backtest of `autoscale` runs: app `backtest`, process type
/// `web` with `min`/`max`, the formation-change budget, everything else at its defaults.
pub fn policy_config(
    autoscale: Option<HorizontalConfig>,
    min: u32,
    max: u32,
    formation_changes_per_hour: u32,
) -> Config {
    let mut config = Config::new(APP);
    config.guardrails.formation_change_budget_per_hour = formation_changes_per_hour;
    config.process_types.insert(
        PROCESS_TYPE.into(),
        ProcessTypeConfig {
            min: Some(min),
            max: Some(max),
            autoscale: Some(autoscale.unwrap_or_default()),
            ..ProcessTypeConfig::default()
        },
    );
    config
}

pub struct Dynopilot {
    name: String,
    config: Config,
    state: PolicyState,
    observed: ObservedState,
    last_eval_s: f64,
    /// The fraction of a request not yet logged (see `step_lines`).
    carry: f64,
}

impl Dynopilot {
    /// `autoscale = None` is the default policy: what `[process_types.web.autoscale]` gets
    /// with no keys set.
    pub fn new(
        name: &str,
        autoscale: Option<HorizontalConfig>,
        min: u32,
        max: u32,
        formation_changes_per_hour: u32,
    ) -> Self {
        Dynopilot {
            name: name.into(),
            config: policy_config(autoscale, min, max, formation_changes_per_hour),
            state: PolicyState::default(),
            observed: ObservedState::default(),
            last_eval_s: 0.0,
            carry: 0.0,
        }
    }

    fn observe(&mut self, view: &View<'_>) {
        let since = self.last_eval_s;
        let (window, queue) = self.router_window(view, since);
        let pt = self
            .observed
            .process_types
            .entry(PROCESS_TYPE.into())
            .or_default();
        pt.formation = Some(formation(view));
        pt.dynos = dynos(view).into_iter().collect();
        if pt.router.len() == WINDOWS_KEPT {
            pt.router.remove(0);
        }
        pt.router.push(window);
        if pt.queue.len() == WINDOWS_KEPT {
            pt.queue.remove(0);
        }
        pt.queue.push(queue);
    }
}

/// The formation as the Platform API would show it.
pub fn formation(view: &View<'_>) -> Formation {
    Formation {
        quantity: view.quantity,
        size: view.scenario.size.clone(),
        updated_at: at(view.updated_s),
    }
}

/// The dyno list as the Platform API would show it: `web.N`, `starting` until booted.
pub fn dynos(view: &View<'_>) -> Vec<(String, DynoState)> {
    view.dynos
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let up = d.up_at_s <= view.now_s;
            let (lifecycle, since) = if up {
                (DynoLifecycle::Up, d.up_at_s)
            } else {
                (DynoLifecycle::Starting, d.started_s)
            };
            (
                format!("{PROCESS_TYPE}.{}", i + 1),
                DynoState::new(Some(format!("b{i}")), lifecycle, at(since)),
            )
        })
        .collect()
}

/// One step's requests as the router lines and `measure#queue_time` lines they would log:
/// `(count, wait ms, response ms)` per point of the step's distributions, values in whole
/// milliseconds as the lines print them. `carry` keeps the fraction of a request a step ends
/// with, so rounding loses nothing over a run.
pub fn step_lines(o: &Observed, carry: &mut f64) -> Vec<(u64, f64, f64)> {
    *carry += o.requests.max(0.0);
    let lines = carry.floor();
    *carry -= lines;
    let lines = lines as u64;
    let points = POINTS as u64;
    (0..POINTS)
        .map(|j| {
            let n = lines / points + u64::from((j as u64) < lines % points);
            (n, o.wait_ms[j].round(), o.response_ms[j].round())
        })
        .filter(|(n, _, _)| *n > 0)
        .collect()
}

impl Dynopilot {
    /// The steps since `since_s` as one router window (what the daemon's fleet closes from
    /// the same lines), and the in-flight requests as a queue sample (Little's law: waiting =
    /// λ·E[wait], busy = λ·E[service]).
    fn router_window(&mut self, view: &View<'_>, since_s: f64) -> (RouterWindow, QueueSample) {
        let mut w = RouterWindow {
            start: at(since_s),
            end: at(view.now_s),
            ..RouterWindow::default()
        };
        let (mut wait_sum, mut response_sum) = (0.0, 0.0);
        for o in view.since(since_s) {
            for (n, wait, response) in step_lines(o, &mut self.carry) {
                w.count += n;
                w.queue_ms.add_n(wait, n);
                w.service_ms.add_n(response, n);
                wait_sum += wait * n as f64;
                response_sum += response * n as f64;
            }
        }
        w.status_2xx = w.count;
        w.connect_ms = LatencySketch::new();
        let seconds = (view.now_s - since_s).max(1e-9);
        let queue = QueueSample {
            at: at(view.now_s),
            depth: (wait_sum / 1000.0 / seconds).round() as u64,
            latency_ms: None,
            busy: Some(((response_sum - wait_sum) / 1000.0 / seconds).round() as u64),
        };
        (w, queue)
    }
}

impl Controller for Dynopilot {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn decide(&mut self, view: &View<'_>) -> Option<u32> {
        self.observe(view);
        self.last_eval_s = view.now_s;
        let (decisions, next) = dynopilot_core::policy::evaluate(
            &self.config,
            &self.observed,
            &self.state,
            at(view.now_s),
        );
        self.state = next;
        decisions.iter().find_map(|d| match &d.action {
            Action::ScaleFormation {
                process_type, to, ..
            } if d.executed && process_type == PROCESS_TYPE => Some(*to),
            _ => None,
        })
    }
}
