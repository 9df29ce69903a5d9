//! A Judoscale-like queue-time autoscaler (prior-art §B1): queue time p95 aggregated every
//! 10 s; upscale by 1 ("upscale jumps") when a recent 10 s aggregate exceeds the range and it
//! did not scale up in the last 3 minutes; downscale by 1 only when every metric stayed below
//! the range for the downscale delay (10 minutes), then again every delay. The range here is
//! 10–100 ms (the upper bound at this backtest's lateness target; the product's published
//! default range is not in our facts file).

use crate::engine::{Controller, View};

const UPPER_MS: f64 = 100.0;
const LOWER_MS: f64 = 10.0;
const UP_EVERY_S: f64 = 180.0;
const DOWN_DELAY_S: f64 = 600.0;

#[derive(Default)]
pub struct Judoscale {
    last_up_s: Option<f64>,
    calm_since_s: Option<f64>,
    last_down_s: Option<f64>,
}

impl Controller for Judoscale {
    fn name(&self) -> String {
        "judoscale".into()
    }

    fn decide(&mut self, view: &View<'_>) -> Option<u32> {
        let p95 = super::wait_p95(view, view.now_s - 10.0).unwrap_or(0.0);
        if p95 > UPPER_MS {
            self.calm_since_s = None;
            if self.last_up_s.is_none_or(|t| view.now_s - t >= UP_EVERY_S) {
                self.last_up_s = Some(view.now_s);
                return Some(view.quantity + 1);
            }
            return None;
        }
        if p95 >= LOWER_MS {
            self.calm_since_s = None;
            return None;
        }
        let since = *self.calm_since_s.get_or_insert(view.now_s);
        let waited = view.now_s - self.last_down_s.map_or(since, |d| d.max(since));
        if waited >= DOWN_DELAY_S && view.quantity > view.scenario.min {
            self.last_down_s = Some(view.now_s);
            return Some(view.quantity - 1);
        }
        None
    }
}
