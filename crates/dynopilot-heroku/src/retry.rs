//! Retrying failed calls: exponential backoff with jitter, waiting on the injected `Clock`.
//!
//! The delay before retry `n` (1-based) is `base * factor^(n-1)`, capped, then shortened by up
//! to half at random so many dynopilot instances do not retry in lockstep. Tests inject
//! [`ZeroJitter`] to get exact delays. A 429 carrying `Retry-After` waits that long instead.

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use dynopilot_core::Clock;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::error::HerokuError;

/// Longest `Retry-After` honoured; anything longer is treated as this, so a bad header cannot
/// park the daemon for hours.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// A source of jitter samples in `[0, 1)`.
pub trait Jitter: Send + Sync {
    fn sample(&self) -> f64;
}

/// No jitter: delays are exactly the backoff. For tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct ZeroJitter;

impl Jitter for ZeroJitter {
    fn sample(&self) -> f64 {
        0.0
    }
}

/// Pseudo-random jitter from a seeded small RNG.
#[derive(Debug)]
pub struct RandomJitter(Mutex<SmallRng>);

impl RandomJitter {
    pub fn seeded(seed: u64) -> Self {
        RandomJitter(Mutex::new(SmallRng::seed_from_u64(seed)))
    }
}

impl Jitter for RandomJitter {
    fn sample(&self) -> f64 {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .random::<f64>()
    }
}

/// Backoff parameters. `max_attempts` counts the first try (4 = one try and three retries).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub factor: u32,
    pub cap: Duration,
    pub max_attempts: u32,
    /// Largest fraction of the delay that jitter may remove.
    pub jitter_ratio: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_millis(500),
            factor: 2,
            cap: Duration::from_secs(30),
            max_attempts: 4,
            jitter_ratio: 0.5,
        }
    }
}

/// Whether a request may be repeated after an ambiguous failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// GET, PATCH to absolute values, stop: repeating cannot do harm.
    Idempotent,
    /// Restarts and creations: a second one is a second action. Only failures that prove
    /// nothing was done are retried (429, the preboot 409, a connection that never opened);
    /// after a 5xx or a broken connection the caller must read Heroku's state first
    /// (see `checked.rs`).
    NotIdempotent,
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1 = first retry), jitter applied.
    pub fn backoff(&self, retry: u32, jitter: &dyn Jitter) -> Duration {
        let exp = retry.saturating_sub(1).min(32);
        let multiplier = f64::from(self.factor).powi(exp as i32);
        let raw = self.base.as_secs_f64() * multiplier;
        let capped = raw.min(self.cap.as_secs_f64());
        let cut = capped * self.jitter_ratio.clamp(0.0, 1.0) * jitter.sample().clamp(0.0, 1.0);
        Duration::from_secs_f64(capped - cut)
    }

    /// The delay before retrying after `err`, or `None` if `err` must not be retried.
    pub fn delay_for(
        &self,
        err: &HerokuError,
        retry: u32,
        idempotency: Idempotency,
        jitter: &dyn Jitter,
    ) -> Option<Duration> {
        if retry >= self.max_attempts || !err.is_retryable() {
            return None;
        }
        let safe = match idempotency {
            Idempotency::Idempotent => true,
            Idempotency::NotIdempotent => {
                err.write_outcome() == crate::error::WriteOutcome::NotApplied
            }
        };
        if !safe {
            return None;
        }
        match err.retry_after() {
            Some(after) => Some(after.min(MAX_RETRY_AFTER)),
            None => Some(self.backoff(retry, jitter)),
        }
    }

    /// Runs `op` (given the 1-based attempt number) until it succeeds, fails for good, or the
    /// attempts run out; sleeps between attempts on `clock`.
    pub async fn run<T, F, Fut>(
        &self,
        clock: &dyn Clock,
        jitter: &dyn Jitter,
        idempotency: Idempotency,
        mut op: F,
    ) -> Result<T, HerokuError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, HerokuError>>,
    {
        let mut attempt = 1;
        loop {
            match op(attempt).await {
                Ok(value) => return Ok(value),
                Err(err) => match self.delay_for(&err, attempt, idempotency, jitter) {
                    Some(delay) => {
                        tracing::debug!(attempt, ?delay, error = %err, "retrying Heroku call");
                        clock.sleep(delay).await;
                        attempt += 1;
                    }
                    None => return Err(err),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(f64);
    impl Jitter for Fixed {
        fn sample(&self) -> f64 {
            self.0
        }
    }

    fn upstream() -> HerokuError {
        HerokuError::Upstream {
            status: 503,
            body: None,
        }
    }

    #[test]
    fn backoff_doubles_from_500ms_and_caps_at_30s() {
        let p = RetryPolicy::default();
        let delays: Vec<u128> = (1..=8)
            .map(|n| p.backoff(n, &ZeroJitter).as_millis())
            .collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
        assert_eq!(p.backoff(1000, &ZeroJitter), Duration::from_secs(30));
    }

    #[test]
    fn jitter_removes_at_most_half() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(2, &Fixed(1.0)), Duration::from_millis(500));
        assert_eq!(p.backoff(2, &Fixed(0.5)), Duration::from_millis(750));
        let random = RandomJitter::seeded(7);
        for n in 1..6 {
            let d = p.backoff(n, &random);
            let full = p.backoff(n, &ZeroJitter);
            assert!(d <= full && d >= full / 2, "{d:?} vs {full:?}");
        }
    }

    #[test]
    fn gives_up_after_max_attempts_and_on_permanent_errors() {
        let p = RetryPolicy::default();
        let j = &ZeroJitter;
        assert!(
            p.delay_for(&upstream(), 3, Idempotency::Idempotent, j)
                .is_some()
        );
        assert!(
            p.delay_for(&upstream(), 4, Idempotency::Idempotent, j)
                .is_none()
        );
        let not_found = HerokuError::NotFound { body: None };
        assert!(
            p.delay_for(&not_found, 1, Idempotency::Idempotent, j)
                .is_none()
        );
    }

    #[test]
    fn retry_after_wins_over_backoff_and_is_bounded() {
        let p = RetryPolicy::default();
        let limited = |secs| HerokuError::RateLimited {
            retry_after: Some(Duration::from_secs(secs)),
            body: None,
        };
        let j = &ZeroJitter;
        assert_eq!(
            p.delay_for(&limited(9), 1, Idempotency::Idempotent, j),
            Some(Duration::from_secs(9))
        );
        assert_eq!(
            p.delay_for(&limited(86_400), 1, Idempotency::Idempotent, j),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn non_idempotent_calls_retry_only_when_nothing_happened() {
        let p = RetryPolicy::default();
        let j = &ZeroJitter;
        assert!(
            p.delay_for(&upstream(), 1, Idempotency::NotIdempotent, j)
                .is_none()
        );
        let limited = HerokuError::RateLimited {
            retry_after: None,
            body: None,
        };
        assert_eq!(
            p.delay_for(&limited, 1, Idempotency::NotIdempotent, j),
            Some(Duration::from_millis(500))
        );
        let refused = HerokuError::Connect {
            message: "connection refused".into(),
        };
        assert!(
            p.delay_for(&refused, 1, Idempotency::NotIdempotent, j)
                .is_some()
        );
        let reset = HerokuError::Transport {
            message: "connection reset".into(),
        };
        assert!(
            p.delay_for(&reset, 1, Idempotency::NotIdempotent, j)
                .is_none()
        );
    }
}
