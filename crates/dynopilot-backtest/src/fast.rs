//! The `fast` fidelity: a per-step queueing model of the web formation. Random routing splits
//! arrivals evenly over the `up` dynos, each an M/M/c queue (c = threads) with Erlang C for the
//! wait distribution. When arrivals exceed capacity, a fluid backlog carries over between
//! steps: its wait is backlog / capacity, and waits past the router timeout end as H12.

use crate::erlang::MMc;
use crate::scenario::Scenario;

/// Stratified points of the wait and response distributions per step, for percentiles.
pub const POINTS: usize = 64;

/// What one step of traffic did.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub requests: f64,
    /// Requests whose queue wait exceeded the lateness target (H12s included).
    pub late: f64,
    pub h12: f64,
    /// Queue waits (ms), equally weighted points of this step's distribution.
    pub wait_ms: [f64; POINTS],
    /// Response times, wait + service (ms), equally weighted points.
    pub response_ms: [f64; POINTS],
}

impl Default for Step {
    fn default() -> Self {
        Step {
            requests: 0.0,
            late: 0.0,
            h12: 0.0,
            wait_ms: [0.0; POINTS],
            response_ms: [0.0; POINTS],
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FastModel {
    /// Requests queued beyond what the threads absorb (fluid).
    backlog: f64,
}

impl FastModel {
    pub fn step(&mut self, s: &Scenario, rps: f64, up: u32, dt: f64) -> Step {
        let mu = 1000.0 / s.service_ms;
        let capacity = f64::from(up) * f64::from(s.threads) * mu;
        let requests = rps * dt;
        let late_s = s.late_ms / 1000.0;
        let per_dyno = MMc {
            c: s.threads,
            lambda: if up == 0 { 0.0 } else { rps / f64::from(up) },
            mu,
        };
        self.backlog = (self.backlog + (rps - capacity) * dt).max(0.0);
        let mut h12 = 0.0;
        let backlog_wait = if capacity > 0.0 {
            self.backlog / capacity
        } else if self.backlog > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        let overloaded = self.backlog > 0.0 || per_dyno.saturated() || up == 0;
        if backlog_wait > s.request_timeout_s {
            // The router gives up on what waits past the timeout.
            let keep = capacity * s.request_timeout_s;
            h12 = (self.backlog - keep).max(0.0);
            self.backlog = keep;
        }
        let mut step = Step {
            requests,
            h12,
            ..Step::default()
        };
        if overloaded {
            let wait = backlog_wait.min(s.request_timeout_s);
            step.late = if wait > late_s {
                requests
            } else {
                requests * near_saturation_tail(s, mu, late_s - wait)
            };
            for i in 0..POINTS {
                let service = service_quantile(s, stratum(i * 37 % POINTS));
                step.wait_ms[i] = wait * 1000.0;
                step.response_ms[i] = wait * 1000.0 + service;
            }
            return step;
        }
        step.late = requests * per_dyno.wait_exceeds(late_s);
        for i in 0..POINTS {
            let w = per_dyno.wait_quantile(stratum(i)) * 1000.0;
            step.wait_ms[i] = w;
            step.response_ms[i] = w + service_quantile(s, stratum(i * 37 % POINTS));
        }
        step
    }
}

/// Midpoint of the `i`-th of `POINTS` equal strata of (0, 1).
fn stratum(i: usize) -> f64 {
    (i as f64 + 0.5) / POINTS as f64
}

fn service_quantile(s: &Scenario, q: f64) -> f64 {
    -s.service_ms * (1.0 - q).ln()
}

/// A queue just at capacity: the tail of a 99 %-busy dyno for the remaining slack.
fn near_saturation_tail(s: &Scenario, mu: f64, slack_s: f64) -> f64 {
    let q = MMc {
        c: s.threads,
        lambda: 0.99 * f64::from(s.threads) * mu,
        mu,
    };
    q.wait_exceeds(slack_s.max(0.0))
}

/// The fewest up dynos that keep the share of late requests at `rps` within `goal`.
pub fn required_dynos(s: &Scenario, rps: f64, goal: f64) -> u32 {
    if rps <= 0.0 {
        return 0;
    }
    let mu = 1000.0 / s.service_ms;
    let mut n = ((rps / (f64::from(s.threads) * mu)).floor() as u32).max(1);
    loop {
        let q = MMc {
            c: s.threads,
            lambda: rps / f64::from(n),
            mu,
        };
        if !q.saturated() && q.wait_exceeds(s.late_ms / 1000.0) <= goal {
            return n;
        }
        n += 1;
    }
}
