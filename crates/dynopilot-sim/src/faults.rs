//! Fault injection for the Platform API: a share of requests answered `503` and bursts of
//! `429`, decided before the handler runs (so a faulted call has no effect, as when Heroku's
//! router refuses it). Deterministic: the same seed and request order give the same faults.

use std::sync::{Mutex, PoisonError};

/// What to inject. The default injects nothing.
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

/// The fault chosen for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    Unavailable,
    RateLimited,
}

/// The injector's state: the configured faults, a request counter and the RNG.
#[derive(Debug, Default)]
pub struct FaultInjector {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    faults: Faults,
    requests: u64,
    burst_left: u32,
    rng: u64,
    injected_503: u64,
    injected_429: u64,
}

impl FaultInjector {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the faults and restarts the sequence from `faults.seed`.
    pub fn set(&self, faults: Faults) {
        let mut state = self.state();
        state.faults = faults;
        state.requests = 0;
        state.burst_left = 0;
        // xorshift must not start at zero
        state.rng = faults.seed ^ 0x9E37_79B9_7F4A_7C15;
    }

    /// Decides the fault of the next request.
    pub fn next(&self) -> Fault {
        let mut state = self.state();
        let faults = state.faults;
        if faults == Faults::default() {
            return Fault::None;
        }
        state.requests += 1;
        if faults.burst_429_every > 0
            && state
                .requests
                .is_multiple_of(u64::from(faults.burst_429_every))
        {
            state.burst_left = faults.burst_429_len;
        }
        if state.burst_left > 0 {
            state.burst_left -= 1;
            state.injected_429 += 1;
            return Fault::RateLimited;
        }
        if state.uniform() < faults.error_rate {
            state.injected_503 += 1;
            return Fault::Unavailable;
        }
        Fault::None
    }

    /// How many `503` and `429` answers were injected so far.
    pub fn injected(&self) -> (u64, u64) {
        let state = self.state();
        (state.injected_503, state.injected_429)
    }
}

impl State {
    /// A uniform sample in [0, 1) from xorshift64.
    fn uniform(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequence(faults: Faults, n: usize) -> Vec<Fault> {
        let injector = FaultInjector::default();
        injector.set(faults);
        (0..n).map(|_| injector.next()).collect()
    }

    #[test]
    fn no_faults_by_default() {
        let injector = FaultInjector::default();
        assert!((0..100).all(|_| injector.next() == Fault::None));
    }

    #[test]
    fn error_rate_is_roughly_honoured_and_seeded() {
        let faults = Faults {
            error_rate: 0.2,
            seed: 7,
            ..Faults::default()
        };
        let a = sequence(faults, 5_000);
        let errors = a.iter().filter(|f| **f == Fault::Unavailable).count();
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
            .filter(|(_, f)| **f == Fault::RateLimited)
            .map(|(i, _)| i + 1)
            .collect();
        assert_eq!(limited, vec![10, 11, 12, 20, 21, 22, 30]);
    }
}
