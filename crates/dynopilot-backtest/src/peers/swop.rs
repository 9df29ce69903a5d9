//! The Swop seed (heroku-autoscale, 2012): Pingdom checks once a minute; every 5 minutes
//! (`check_frequency`) it takes the mean and least-squares slope (ms per second) of the last
//! 30 minutes (`pingdom_check_period`) and moves ±1 dyno: mean < 200 ms (`response_time_low`)
//! removes when the slope is negative; 200–2000 ms adds when the slope > 0.5
//! (`response_time_trend_high`) and removes when < −0.5 (`response_time_trend_low`); mean ≥
//! 2000 ms (`response_time_high`) adds when the slope is positive (prior-art §A3).

use rand::rngs::SmallRng;

use crate::engine::{Controller, View};

const CHECK_EVERY_S: f64 = 60.0;
const DECIDE_EVERY_S: f64 = 300.0;
const WINDOW_S: f64 = 1_800.0;
const LOW_MS: f64 = 200.0;
const HIGH_MS: f64 = 2_000.0;
const TREND_LOW: f64 = -0.5;
const TREND_HIGH: f64 = 0.5;

pub struct Swop {
    rng: SmallRng,
    checks: Vec<(f64, f64)>,
    next_check_s: f64,
    next_decision_s: f64,
}

impl Swop {
    pub fn new(seed: u64) -> Self {
        Swop {
            rng: super::rng(seed, 0x5357),
            checks: Vec::new(),
            next_check_s: CHECK_EVERY_S,
            next_decision_s: DECIDE_EVERY_S,
        }
    }
}

fn mean_and_slope(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| (my, sxy / sxx))
}

impl Controller for Swop {
    fn name(&self) -> String {
        "swop-trend".into()
    }

    fn decide(&mut self, view: &View<'_>) -> Option<u32> {
        if view.now_s >= self.next_check_s {
            self.next_check_s = view.now_s + CHECK_EVERY_S;
            if let Some(ms) = super::ping(view, &mut self.rng) {
                self.checks.push((view.now_s, ms));
            }
        }
        if view.now_s < self.next_decision_s {
            return None;
        }
        self.next_decision_s = view.now_s + DECIDE_EVERY_S;
        let from = view.now_s - WINDOW_S;
        self.checks.retain(|c| c.0 > from);
        let (mean, slope) = mean_and_slope(&self.checks)?;
        let (add, remove) = (view.quantity + 1, view.quantity.saturating_sub(1).max(1));
        if mean < LOW_MS {
            (slope < 0.0).then_some(remove)
        } else if mean < HIGH_MS {
            if slope > TREND_HIGH {
                Some(add)
            } else if slope < TREND_LOW {
                Some(remove)
            } else {
                None
            }
        } else {
            (slope > 0.0).then_some(add)
        }
    }
}
