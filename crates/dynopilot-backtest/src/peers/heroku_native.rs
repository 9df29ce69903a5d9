//! Heroku's native autoscaling (prior-art §B3): the metric is a desired p95 response time;
//! it moves ±1 dyno per event, events at least 1 minute apart, and scales down less
//! aggressively than up. The decision model is closed source; this reading scales up when the
//! last minute's p95 exceeds the goal and down when every minute of the last 10 was under half
//! of it. The desired p95 is 500 ms: the UI suggests one from the app's own last 24 h, which a
//! 100 ms-mean app typically shows in that range (an assumption, stated in the report docs).

use crate::engine::{Controller, View};

const EVERY_S: f64 = 60.0;
const DESIRED_P95_MS: f64 = 500.0;
const DOWN_AFTER_MINUTES: usize = 10;

#[derive(Default)]
pub struct HerokuNative {
    next_s: f64,
    calm_minutes: usize,
}

impl Controller for HerokuNative {
    fn name(&self) -> String {
        "heroku-native".into()
    }

    fn decide(&mut self, view: &View<'_>) -> Option<u32> {
        if view.now_s < self.next_s {
            return None;
        }
        self.next_s = view.now_s + EVERY_S;
        let p95 = super::response_p95(view, view.now_s - EVERY_S)?;
        if p95 > DESIRED_P95_MS {
            self.calm_minutes = 0;
            return Some(view.quantity + 1);
        }
        if p95 < DESIRED_P95_MS / 2.0 {
            self.calm_minutes += 1;
        } else {
            self.calm_minutes = 0;
        }
        if self.calm_minutes >= DOWN_AFTER_MINUTES && view.quantity > view.scenario.min {
            self.calm_minutes = 0;
            return Some(view.quantity - 1);
        }
        None
    }
}
