//! The oracle: it knows the whole trace and pays the fewest dyno-seconds such that no step has
//! more than `late_goal` of its requests late, respecting boot time, min/max and the
//! formation-change limit. It is the floor every policy is compared with.
//!
//! Plan: `need[j]` = the fewest up dynos for each evaluation interval (the worst step in it).
//! With changes every `W` seconds, the quantity set at `τ` is the most needed over
//! `[τ, τ + W + boot)`: dynos added at `τ` serve from `τ + boot`, and until then the previous
//! quantity (which covered up to `τ + boot`) still does, since a scale-down removes booting
//! dynos first. The cheapest `W` whose changes fit the hourly limit wins.

use crate::engine::{Controller, View};
use crate::fast::required_dynos;
use crate::scenario::Scenario;
use crate::trace::Trace;

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Quantity per evaluation interval, from second 0.
    pub quantity: Vec<u32>,
    pub interval_s: f64,
    /// Seconds between possible changes in the chosen plan.
    pub change_every_s: f64,
}

impl Plan {
    pub fn at(&self, t_s: f64) -> u32 {
        let i = (t_s / self.interval_s).floor().max(0.0) as usize;
        self.quantity
            .get(i.min(self.quantity.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    }

    pub fn peak(&self) -> u32 {
        self.quantity.iter().copied().max().unwrap_or(0)
    }
}

/// Up dynos needed in each evaluation interval.
pub fn need(trace: &Trace, s: &Scenario) -> Vec<u32> {
    let steps_per = (s.evaluate_every_s / s.resolution_s).round().max(1.0) as usize;
    let steps = (trace.duration_s() / s.resolution_s).ceil() as usize;
    let mut out = Vec::with_capacity(steps / steps_per + 1);
    let mut last = (f64::NAN, 0);
    for chunk_start in (0..steps).step_by(steps_per) {
        let worst = (chunk_start..(chunk_start + steps_per).min(steps))
            .map(|i| {
                let rate = trace.rate_at(i as f64 * s.resolution_s);
                if rate != last.0 {
                    last = (rate, required_dynos(s, rate, s.late_goal));
                }
                last.1
            })
            .max()
            .unwrap_or(0);
        out.push(worst.clamp(s.min, s.max));
    }
    out
}

pub fn plan(trace: &Trace, s: &Scenario) -> Plan {
    let need = need(trace, s);
    let interval = (s.evaluate_every_s / s.resolution_s).round().max(1.0) * s.resolution_s;
    let boot = (s.boot_s / interval).ceil() as usize;
    let mut best: Option<(f64, Plan)> = None;
    let longest = ((3_600.0 / f64::from(s.formation_changes_per_hour)) / interval).ceil() as usize;
    for every in 1..=longest.max(1) {
        let quantity = blocks(&need, every, boot);
        if !within_limit(&quantity, interval, s.formation_changes_per_hour) {
            continue;
        }
        let cost: f64 = quantity.iter().map(|q| f64::from(*q)).sum();
        if best.as_ref().is_none_or(|(c, _)| cost < *c) {
            best = Some((
                cost,
                Plan {
                    quantity,
                    interval_s: interval,
                    change_every_s: every as f64 * interval,
                },
            ));
        }
    }
    best.map(|(_, p)| p).unwrap_or_else(|| Plan {
        quantity: vec![need.iter().copied().max().unwrap_or(s.min); need.len().max(1)],
        interval_s: interval,
        change_every_s: f64::INFINITY,
    })
}

fn blocks(need: &[u32], every: usize, boot: usize) -> Vec<u32> {
    let mut out = Vec::with_capacity(need.len());
    for start in (0..need.len()).step_by(every) {
        let end = (start + every + boot).min(need.len());
        let q = need[start..end].iter().copied().max().unwrap_or(0);
        let len = every.min(need.len() - start);
        out.extend(std::iter::repeat_n(q, len));
    }
    out
}

fn within_limit(quantity: &[u32], interval: f64, per_hour: u32) -> bool {
    let changes: Vec<f64> = quantity
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] != w[1])
        .map(|(i, _)| (i + 1) as f64 * interval)
        .collect();
    let mut first = 0;
    for (i, t) in changes.iter().enumerate() {
        while changes[first] <= t - 3_600.0 {
            first += 1;
        }
        if i - first + 1 > per_hour as usize {
            return false;
        }
    }
    true
}

/// Replays a plan.
pub struct Oracle {
    plan: Plan,
}

impl Oracle {
    pub fn new(plan: Plan) -> Self {
        Oracle { plan }
    }
}

impl Controller for Oracle {
    fn name(&self) -> String {
        "oracle".into()
    }

    fn decide(&mut self, view: &View<'_>) -> Option<u32> {
        Some(self.plan.at(view.now_s))
    }
}
