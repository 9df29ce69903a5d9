//! `RequestBudget`: a local model of the account's Platform API token bucket, shared by every
//! caller so dynopilot slows itself down before Heroku answers 429.
//!
//! Heroku gives each account at most 4500 tokens, refilled at about 75 per minute, and reports
//! what is left in `RateLimit-Remaining`. Other tools (the CLI, scripts) spend from the same
//! bucket, so the local estimate is lowered to the server's figure whenever that is smaller.
//! Above a reserve (10% by default) requests go out freely; inside the reserve they are spaced
//! at the refill rate, so we never drain the last tokens; at zero we wait for the refill.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use dynopilot_core::{Clock, Timestamp};

/// Bucket parameters; [`BudgetConfig::default`] matches Heroku's documented limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetConfig {
    pub capacity: f64,
    pub refill_per_sec: f64,
    /// Fraction of `capacity` kept in reserve; inside it requests are paced at the refill rate.
    pub reserve_fraction: f64,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            capacity: 4500.0,
            refill_per_sec: 75.0 / 60.0,
            reserve_fraction: 0.10,
        }
    }
}

impl BudgetConfig {
    fn reserve(&self) -> f64 {
        self.capacity * self.reserve_fraction
    }

    fn spacing(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.refill_per_sec.max(f64::MIN_POSITIVE))
    }
}

/// The pure accounting: tokens at a moment, plus when the next paced request may go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketState {
    tokens: f64,
    updated: Timestamp,
    next_paced: Timestamp,
}

/// What a caller asking for a token must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A token was taken; send now.
    Go,
    /// Nothing was taken; ask again at this time.
    WaitUntil(Timestamp),
}

impl BucketState {
    pub fn full(config: &BudgetConfig, now: Timestamp) -> Self {
        BucketState {
            tokens: config.capacity,
            updated: now,
            next_paced: now,
        }
    }

    /// Tokens believed left at `now` (after refill).
    pub fn tokens(&mut self, config: &BudgetConfig, now: Timestamp) -> f64 {
        self.refill(config, now);
        self.tokens
    }

    fn refill(&mut self, config: &BudgetConfig, now: Timestamp) {
        if now <= self.updated {
            return;
        }
        let secs = now.since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + secs * config.refill_per_sec).min(config.capacity);
        self.updated = now;
    }

    /// Tries to take one token at `now`.
    pub fn admit(&mut self, config: &BudgetConfig, now: Timestamp) -> Admission {
        self.refill(config, now);
        if self.tokens < 1.0 {
            let missing = 1.0 - self.tokens;
            let wait = Duration::from_secs_f64(missing / config.refill_per_sec);
            // Round up so the refill at the deadline really reaches one token.
            return Admission::WaitUntil(now.plus(wait).plus(Duration::from_millis(1)));
        }
        if self.tokens - 1.0 < config.reserve() {
            if now < self.next_paced {
                return Admission::WaitUntil(self.next_paced);
            }
            self.next_paced = now.plus(config.spacing());
        }
        self.tokens -= 1.0;
        Admission::Go
    }

    /// Lowers the estimate to Heroku's `RateLimit-Remaining` when that is smaller.
    pub fn observe_remaining(&mut self, config: &BudgetConfig, now: Timestamp, remaining: u32) {
        self.refill(config, now);
        self.tokens = self.tokens.min(f64::from(remaining));
    }

    /// A 429 means the server's bucket is empty whatever we believed.
    pub fn observe_exhausted(&mut self, config: &BudgetConfig, now: Timestamp) {
        self.refill(config, now);
        self.tokens = 0.0;
    }
}

/// The shared budget: wrap in `Arc` and hand the same one to every client of an account.
pub struct RequestBudget {
    config: BudgetConfig,
    clock: Arc<dyn Clock>,
    state: Mutex<BucketState>,
}

impl std::fmt::Debug for RequestBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBudget")
            .field("config", &self.config)
            .field("state", &*self.lock())
            .finish()
    }
}

impl RequestBudget {
    /// A budget with Heroku's limits, starting full.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        RequestBudget::with_config(clock, BudgetConfig::default())
    }

    pub fn with_config(clock: Arc<dyn Clock>, config: BudgetConfig) -> Self {
        let state = BucketState::full(&config, clock.now());
        RequestBudget {
            config,
            clock,
            state: Mutex::new(state),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BucketState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits (on the injected clock) until a request may be sent, then takes its token.
    pub async fn acquire(&self) {
        loop {
            let now = self.clock.now();
            let admission = self.lock().admit(&self.config, now);
            match admission {
                Admission::Go => return,
                Admission::WaitUntil(t) => self.clock.sleep_until(t).await,
            }
        }
    }

    /// Records a response's `RateLimit-Remaining`.
    pub fn observe_remaining(&self, remaining: u32) {
        let now = self.clock.now();
        self.lock().observe_remaining(&self.config, now, remaining);
    }

    /// Records a `429`.
    pub fn observe_exhausted(&self) {
        let now = self.clock.now();
        self.lock().observe_exhausted(&self.config, now);
    }

    /// Tokens believed left now (for metrics and `dynopilot status`).
    pub fn remaining(&self) -> f64 {
        let now = self.clock.now();
        self.lock().tokens(&self.config, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dynopilot_core::ManualClock;

    const T0: Timestamp = Timestamp::from_secs(1_000);

    fn small() -> BudgetConfig {
        BudgetConfig {
            capacity: 100.0,
            refill_per_sec: 1.0,
            reserve_fraction: 0.10,
        }
    }

    #[test]
    fn spends_freely_above_the_reserve() {
        let config = small();
        let mut s = BucketState::full(&config, T0);
        for _ in 0..90 {
            assert_eq!(s.admit(&config, T0), Admission::Go);
        }
        assert!((s.tokens(&config, T0) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn inside_the_reserve_requests_are_spaced_at_the_refill_rate() {
        let config = small();
        let mut s = BucketState::full(&config, T0);
        for _ in 0..90 {
            s.admit(&config, T0);
        }
        // 10 left = the reserve: the next goes, the one after must wait one refill interval.
        assert_eq!(s.admit(&config, T0), Admission::Go);
        assert_eq!(
            s.admit(&config, T0),
            Admission::WaitUntil(T0.plus(Duration::from_secs(1)))
        );
        let later = T0.plus(Duration::from_secs(1));
        assert_eq!(s.admit(&config, later), Admission::Go);
        // Pacing keeps the level steady instead of draining it.
        assert!(s.tokens(&config, later) > 8.0);
    }

    #[test]
    fn empty_bucket_waits_for_one_token_of_refill() {
        let config = BudgetConfig {
            reserve_fraction: 0.0,
            ..small()
        };
        let mut s = BucketState::full(&config, T0);
        s.observe_exhausted(&config, T0);
        match s.admit(&config, T0) {
            Admission::WaitUntil(t) => {
                let wait = t.since(T0);
                assert!(wait >= Duration::from_secs(1) && wait < Duration::from_millis(1100));
                assert_eq!(s.admit(&config, t), Admission::Go);
            }
            Admission::Go => panic!("an empty bucket admitted a request"),
        }
    }

    #[test]
    fn server_remaining_lowers_but_never_raises_the_estimate() {
        let config = small();
        let mut s = BucketState::full(&config, T0);
        s.observe_remaining(&config, T0, 40);
        assert!((s.tokens(&config, T0) - 40.0).abs() < 1e-9);
        s.observe_remaining(&config, T0, 4000);
        assert!((s.tokens(&config, T0) - 40.0).abs() < 1e-9);
        // Refill continues from the lowered level, capped at capacity.
        let t = T0.plus(Duration::from_secs(30));
        assert!((s.tokens(&config, t) - 70.0).abs() < 1e-9);
        assert!((s.tokens(&config, t.plus(Duration::from_secs(999))) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn heroku_defaults_refill_75_per_minute() {
        let config = BudgetConfig::default();
        let mut s = BucketState::full(&config, T0);
        s.observe_remaining(&config, T0, 0);
        let t = T0.plus(Duration::from_secs(60));
        assert!((s.tokens(&config, t) - 75.0).abs() < 1e-6);
        assert!((config.reserve() - 450.0).abs() < 1e-9);
    }

    #[tokio::test]
    async fn acquire_sleeps_on_the_clock_until_refill() {
        let clock = ManualClock::new(T0);
        let budget = Arc::new(RequestBudget::with_config(
            Arc::new(clock.clone()),
            BudgetConfig {
                reserve_fraction: 0.0,
                ..small()
            },
        ));
        budget.observe_remaining(0);
        let task = tokio::spawn({
            let budget = Arc::clone(&budget);
            async move { budget.acquire().await }
        });
        tokio::task::yield_now().await;
        assert!(!task.is_finished());
        while !task.is_finished() {
            clock.advance(Duration::from_millis(250));
            tokio::task::yield_now().await;
        }
        assert!(clock.now().since(T0) >= Duration::from_secs(1));
        assert!(clock.now().since(T0) <= Duration::from_millis(1500));
    }
}
