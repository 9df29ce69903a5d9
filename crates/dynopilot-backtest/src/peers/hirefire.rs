//! A HireFire-like request-queue-time manager (prior-art §B2): a checkup every 60 s; the
//! upscale sensitivity (2 consecutive checkups wanting it) and downscale sensitivity (10) are
//! the low ends of the documented recommendations (2–5 up, 10–30 down), any other checkup
//! resets the counter; ±1 dyno per action, no timeouts. Thresholds: queue time p95 above
//! 100 ms wants more, below 20 ms wants fewer.

use crate::engine::{Controller, View};

const EVERY_S: f64 = 60.0;
const UP_SENSITIVITY: u32 = 2;
const DOWN_SENSITIVITY: u32 = 10;
const MAX_MS: f64 = 100.0;
const MIN_MS: f64 = 20.0;

#[derive(Default)]
pub struct HireFire {
    next_s: f64,
    up: u32,
    down: u32,
}

impl Controller for HireFire {
    fn name(&self) -> String {
        "hirefire".into()
    }

    fn decide(&mut self, view: &View<'_>) -> Option<u32> {
        if view.now_s < self.next_s {
            return None;
        }
        self.next_s = view.now_s + EVERY_S;
        let p95 = super::wait_p95(view, view.now_s - EVERY_S).unwrap_or(0.0);
        if p95 > MAX_MS {
            (self.up, self.down) = (self.up + 1, 0);
        } else if p95 < MIN_MS {
            (self.up, self.down) = (0, self.down + 1);
        } else {
            (self.up, self.down) = (0, 0);
        }
        if self.up >= UP_SENSITIVITY {
            self.up = 0;
            return Some(view.quantity + 1);
        }
        if self.down >= DOWN_SENSITIVITY && view.quantity > view.scenario.min {
            self.down = 0;
            return Some(view.quantity - 1);
        }
        None
    }
}
