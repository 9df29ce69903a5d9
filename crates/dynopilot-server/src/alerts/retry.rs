//! How often and how long a transient delivery failure is retried.

use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls to the channel before a transiently failing delivery is marked failed.
    pub max_attempts: u32,
    /// Pause after the first failure; doubles after each further one.
    pub first_backoff: Duration,
    /// The longest pause between attempts.
    pub max_backoff: Duration,
    /// One call to a channel that takes longer counts as a transient failure ("timed out").
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            first_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(600),
            attempt_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The pause after `attempts` failed calls (1 → `first_backoff`), capped at `max_backoff`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(20);
        self.first_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }

    /// How long a claimed delivery is kept from other claimers: longer than any one call.
    pub fn lease(&self) -> Duration {
        self.attempt_timeout.saturating_mul(2) + Duration::from_secs(5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            first_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(60),
            ..RetryPolicy::default()
        };
        let pauses: Vec<u64> = (1..=6).map(|a| p.backoff(a).as_secs()).collect();
        assert_eq!(pauses, [10, 20, 40, 60, 60, 60]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(60));
    }
}
