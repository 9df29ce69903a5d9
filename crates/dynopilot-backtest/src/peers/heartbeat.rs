//! The heartbeat seed (autoscalebot, 2012): a synthetic request every 30 s
//! (`HEARTBEAT_INTERVAL_IN_SECONDS`), classified TOO_HIGH above 1000 ms
//! (`MAX_RESPONSE_TIME_IN_MS`), TOO_LOW below 200 ms (`MIN_RESPONSE_TIME_IN_MS`); 3 TOO_HIGH in a
//! row (`NUMBER_OF_FAILS_TO_SCALE_UP_AFTER`) add `INCREMENT` = 1, 5 TOO_LOW in a row
//! (`NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER`) remove 1, and a successful scale clears the history.
//! One ping is one sample of one request (prior-art §A2).

use rand::rngs::SmallRng;

use crate::engine::{Controller, View};

const INTERVAL_S: f64 = 30.0;
const MAX_MS: f64 = 1000.0;
const MIN_MS: f64 = 200.0;
const FAILS: u32 = 3;
const PASSES: u32 = 5;

pub struct Heartbeat {
    rng: SmallRng,
    next_ping_s: f64,
    fails: u32,
    passes: u32,
}

impl Heartbeat {
    pub fn new(seed: u64) -> Self {
        Heartbeat {
            rng: super::rng(seed, 0x4842),
            next_ping_s: INTERVAL_S,
            fails: 0,
            passes: 0,
        }
    }
}

impl Controller for Heartbeat {
    fn name(&self) -> String {
        "heartbeat-streak".into()
    }

    fn decide(&mut self, view: &View<'_>) -> Option<u32> {
        if view.now_s < self.next_ping_s {
            return None;
        }
        self.next_ping_s = view.now_s + INTERVAL_S;
        let ms = super::ping(view, &mut self.rng)?;
        if ms > MAX_MS {
            self.fails += 1;
            self.passes = 0;
        } else if ms < MIN_MS {
            self.passes += 1;
            self.fails = 0;
        } else {
            (self.fails, self.passes) = (0, 0);
        }
        let to = if self.fails >= FAILS {
            view.quantity + 1
        } else if self.passes >= PASSES && view.quantity > view.scenario.min {
            view.quantity - 1
        } else {
            return None;
        };
        (self.fails, self.passes) = (0, 0);
        Some(to)
    }
}
