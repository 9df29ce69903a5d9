//! Fault injection for the Platform API, deterministic for a seed and a request order: added
//! latency, `5xx` answers and `429` bursts and dropped connections decided before the handler
//! runs (so nothing is applied), and **apply-then-fail**, where the handler runs and the write
//! lands but the answer is replaced by a `5xx` or a dropped connection. Each rule may be
//! limited to a method and path glob and to a number of firings.

pub mod pattern;
pub mod spec;

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

pub use pattern::RequestPattern;
pub use spec::FaultSpecError;

/// The simple knobs older tests use; converted into a [`FaultPlan`] (a `429-burst` rule, then
/// a `5xx` rule). The default injects nothing.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Faults {
    /// Share of API requests (0.0–1.0) answered `503 Service Unavailable`.
    pub error_rate: f64,
    /// Every `burst_429_every` requests a burst starts (0 = never)…
    pub burst_429_every: u32,
    /// …and the next `burst_429_len` requests are answered `429 Too Many Requests`.
    pub burst_429_len: u32,
    pub seed: u64,
}

/// Every fault rule, tried in order for each API request; the default injects nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultPlan {
    pub seed: u64,
    pub rules: Vec<FaultRule>,
}

/// One fault, the requests it applies to, and how many times it may fire.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub kind: FaultKind,
    pub pattern: RequestPattern,
    /// Fires at most this many times, then never again (`None`: no limit).
    pub count: Option<u64>,
}

/// What a rule does when it fires.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Answer `status` without running the handler, for a share `rate` of requests.
    ServerError { rate: f64, status: u16 },
    /// `len` answers of `429` every `every` matching requests.
    Burst429 { len: u32, every: u32 },
    /// Wait `added` before handling, for a share `rate` of requests.
    Latency { added: Duration, rate: f64 },
    /// Drop the connection without an answer and without running the handler.
    Reset { rate: f64 },
    /// Run the handler (the write lands), then answer with `answer` instead.
    ApplyThenFail { rate: f64, answer: FailAnswer },
}

/// The answer that replaces a real one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailAnswer {
    Status(u16),
    Reset,
}

impl From<Faults> for FaultPlan {
    fn from(f: Faults) -> FaultPlan {
        let mut rules = Vec::new();
        if f.burst_429_every > 0 && f.burst_429_len > 0 {
            rules.push(FaultRule {
                kind: FaultKind::Burst429 {
                    len: f.burst_429_len,
                    every: f.burst_429_every,
                },
                pattern: RequestPattern::default(),
                count: None,
            });
        }
        if f.error_rate > 0.0 {
            rules.push(FaultRule {
                kind: FaultKind::ServerError {
                    rate: f.error_rate,
                    status: 503,
                },
                pattern: RequestPattern::default(),
                count: None,
            });
        }
        FaultPlan {
            seed: f.seed,
            rules,
        }
    }
}

/// How the answer to one request is refused before the handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Status(u16),
    RateLimited,
    Reset,
}

/// The faults chosen for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    pub latency: Duration,
    pub before: Option<Refusal>,
    pub after: Option<FailAnswer>,
}

impl Decision {
    fn answered(&self) -> bool {
        self.before.is_some() || self.after.is_some()
    }
}

/// How many faults of each kind were injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultCounts {
    /// `5xx` answers, before or after applying.
    pub server_errors: u64,
    pub rate_limited: u64,
    /// Dropped connections, before or after applying.
    pub resets: u64,
    pub delayed: u64,
}

/// The injector's state: the plan, what each rule has left, and the RNG.
#[derive(Debug, Default)]
pub struct FaultInjector {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    plan: FaultPlan,
    rules: Vec<RuleState>,
    rng: u64,
    counts: FaultCounts,
}

#[derive(Debug, Default, Clone, Copy)]
struct RuleState {
    remaining: Option<u64>,
    matched: u64,
    burst_left: u32,
}

impl FaultInjector {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the plan and restarts the sequence from its seed (counts are kept).
    pub fn set(&self, plan: impl Into<FaultPlan>) {
        let plan = plan.into();
        let mut state = self.state();
        state.rules = plan
            .rules
            .iter()
            .map(|r| RuleState {
                remaining: r.count,
                ..RuleState::default()
            })
            .collect();
        // xorshift must not start at zero
        state.rng = plan.seed ^ 0x9E37_79B9_7F4A_7C15;
        state.plan = plan;
    }

    /// The plan in force.
    pub fn plan(&self) -> FaultPlan {
        self.state().plan.clone()
    }

    /// Decides the faults of the next request.
    pub fn decide(&self, method: &str, path: &str) -> Decision {
        let mut guard = self.state();
        let state = &mut *guard;
        let mut decision = Decision::default();
        for (i, rule) in state.plan.rules.iter().enumerate() {
            let left = &mut state.rules[i];
            if left.remaining == Some(0) || !rule.pattern.matches(method, path) {
                continue;
            }
            let is_latency = matches!(rule.kind, FaultKind::Latency { .. });
            if !is_latency && decision.answered() {
                continue;
            }
            let fired = fire(rule, left, &mut state.rng, &mut decision);
            if fired {
                left.remaining = left.remaining.map(|n| n - 1);
            }
        }
        count(&mut state.counts, &decision);
        decision
    }

    /// How many faults were injected so far.
    pub fn counts(&self) -> FaultCounts {
        self.state().counts
    }

    /// How many `5xx` and `429` answers were injected so far.
    pub fn injected(&self) -> (u64, u64) {
        let c = self.counts();
        (c.server_errors, c.rate_limited)
    }
}

/// Whether `rule` fires for this request, noting its effect in `decision`.
fn fire(rule: &FaultRule, left: &mut RuleState, rng: &mut u64, decision: &mut Decision) -> bool {
    match rule.kind {
        FaultKind::Latency { added, rate } => {
            let hit = uniform(rng) < rate;
            if hit {
                decision.latency += added;
            }
            hit
        }
        FaultKind::Burst429 { len, every } => {
            left.matched += 1;
            if left.matched.is_multiple_of(u64::from(every)) {
                left.burst_left = len;
            }
            let hit = left.burst_left > 0;
            if hit {
                left.burst_left -= 1;
                decision.before = Some(Refusal::RateLimited);
            }
            hit
        }
        FaultKind::ServerError { rate, status } => {
            let hit = uniform(rng) < rate;
            decision.before = hit.then_some(Refusal::Status(status));
            hit
        }
        FaultKind::Reset { rate } => {
            let hit = uniform(rng) < rate;
            decision.before = hit.then_some(Refusal::Reset);
            hit
        }
        FaultKind::ApplyThenFail { rate, answer } => {
            let hit = uniform(rng) < rate;
            decision.after = hit.then_some(answer);
            hit
        }
    }
}

fn count(counts: &mut FaultCounts, d: &Decision) {
    if !d.latency.is_zero() {
        counts.delayed += 1;
    }
    match d.before {
        Some(Refusal::Status(_)) => counts.server_errors += 1,
        Some(Refusal::RateLimited) => counts.rate_limited += 1,
        Some(Refusal::Reset) => counts.resets += 1,
        None => {}
    }
    match d.after {
        Some(FailAnswer::Status(_)) => counts.server_errors += 1,
        Some(FailAnswer::Reset) => counts.resets += 1,
        None => {}
    }
}

/// A uniform sample in [0, 1) from xorshift64.
fn uniform(rng: &mut u64) -> f64 {
    let mut x = *rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *rng = x;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What each of `n` `GET /account` requests got: `None`, `Some(503)`, `Some(429)`.
    fn sequence(plan: impl Into<FaultPlan>, n: usize) -> Vec<Option<u16>> {
        let injector = FaultInjector::default();
        injector.set(plan);
        (0..n)
            .map(|_| match injector.decide("GET", "/account").before {
                None | Some(Refusal::Reset) => None,
                Some(Refusal::Status(s)) => Some(s),
                Some(Refusal::RateLimited) => Some(429),
            })
            .collect()
    }

    #[test]
    fn no_faults_by_default() {
        let injector = FaultInjector::default();
        assert!(
            (0..100).all(|_| injector.decide("DELETE", "/apps/a/dynos") == Decision::default())
        );
    }

    #[test]
    fn error_rate_is_roughly_honoured_and_seeded() {
        let faults = Faults {
            error_rate: 0.2,
            seed: 7,
            ..Faults::default()
        };
        let a = sequence(faults, 5_000);
        let errors = a.iter().filter(|f| **f == Some(503)).count();
        assert!((800..1200).contains(&errors), "{errors}");
        assert_eq!(a, sequence(faults, 5_000));
        let other = sequence(Faults { seed: 8, ..faults }, 5_000);
        assert_ne!(a, other);
    }

    #[test]
    fn bursts_of_429_come_at_the_configured_period() {
        let faults = Faults {
            burst_429_every: 10,
            burst_429_len: 3,
            ..Faults::default()
        };
        let got = sequence(faults, 30);
        let limited: Vec<usize> = got
            .iter()
            .enumerate()
            .filter(|(_, f)| **f == Some(429))
            .map(|(i, _)| i + 1)
            .collect();
        assert_eq!(limited, vec![10, 11, 12, 20, 21, 22, 30]);
    }

    #[test]
    fn a_counted_rule_fires_n_times_on_matching_requests_only() {
        let plan = FaultPlan::parse(
            "apply-then-fail=1:DELETE /apps/*/dynos/*:count=2,latency=10ms:GET",
            "t",
        )
        .unwrap();
        let injector = FaultInjector::default();
        injector.set(plan);
        let get = injector.decide("GET", "/apps/a/dynos/web.1");
        assert_eq!((get.latency, get.after), (Duration::from_millis(10), None));
        let fired: Vec<bool> = (0..4)
            .map(|_| {
                injector
                    .decide("DELETE", "/apps/a/dynos/web.1")
                    .after
                    .is_some()
            })
            .collect();
        assert_eq!(fired, [true, true, false, false]);
        assert_eq!(injector.decide("DELETE", "/apps/a/dynos").after, None);
        let counts = injector.counts();
        assert_eq!((counts.server_errors, counts.delayed), (2, 1));
    }
}
