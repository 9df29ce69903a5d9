//! The Platform API's per-token request bucket: 4500 tokens, refilled at 75 per minute.
//!
//! Pure accounting over `Timestamp`s; the HTTP layer asks [`RateLimiter::take`] once per
//! request and writes the result into `RateLimit-Remaining`.

use std::collections::HashMap;

use dynopilot_core::Timestamp;

/// Bucket size and refill rate; the default is Heroku's documented limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitConfig {
    pub capacity: u32,
    pub refill_per_minute: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            capacity: 4500,
            refill_per_minute: 75,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens in thousandths, so slow refills are not lost to rounding between requests.
    milli_tokens: i64,
    updated: Timestamp,
}

/// One bucket per API token.
#[derive(Debug, Default)]
pub struct RateLimiter {
    config: RateLimitConfig,
    buckets: HashMap<String, Bucket>,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> Self {
        RateLimiter {
            config,
            buckets: HashMap::new(),
        }
    }

    /// Takes one token for `key`: `Some(remaining)`, or `None` when the bucket is empty.
    pub fn take(&mut self, key: &str, now: Timestamp) -> Option<u32> {
        let config = self.config;
        let bucket = self.refilled(key, now);
        if bucket.milli_tokens < 1000 {
            return None;
        }
        bucket.milli_tokens -= 1000;
        Some(whole(bucket.milli_tokens, config))
    }

    /// Tokens left for `key` without spending any (`GET /account/rate-limits` is free).
    pub fn remaining(&mut self, key: &str, now: Timestamp) -> u32 {
        let config = self.config;
        whole(self.refilled(key, now).milli_tokens, config)
    }

    /// Sets the tokens left for `key` (a control knob for tests and demos).
    pub fn set_remaining(&mut self, key: &str, remaining: u32, now: Timestamp) {
        let bucket = self.refilled(key, now);
        bucket.milli_tokens = i64::from(remaining) * 1000;
    }

    fn refilled(&mut self, key: &str, now: Timestamp) -> &mut Bucket {
        let capacity = i64::from(self.config.capacity) * 1000;
        let per_minute = i64::from(self.config.refill_per_minute);
        let bucket = self.buckets.entry(key.to_owned()).or_insert(Bucket {
            milli_tokens: capacity,
            updated: now,
        });
        let elapsed_ms = (now.as_millis() - bucket.updated.as_millis()).max(0);
        // tokens/ms × 1000 milli-tokens = per_minute × elapsed_ms / 60.
        let gained = per_minute.saturating_mul(elapsed_ms) / 60;
        if gained > 0 {
            bucket.milli_tokens = (bucket.milli_tokens + gained).min(capacity);
            bucket.updated = now;
        }
        bucket
    }
}

fn whole(milli_tokens: i64, config: RateLimitConfig) -> u32 {
    u32::try_from(milli_tokens / 1000)
        .unwrap_or(0)
        .min(config.capacity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spends_one_token_per_request_and_refuses_when_empty() {
        let mut limiter = RateLimiter::new(RateLimitConfig {
            capacity: 3,
            refill_per_minute: 75,
        });
        let t = Timestamp::from_secs(100);
        assert_eq!(limiter.take("k", t), Some(2));
        assert_eq!(limiter.take("k", t), Some(1));
        assert_eq!(limiter.take("k", t), Some(0));
        assert_eq!(limiter.take("k", t), None);
        // Another token has its own bucket.
        assert_eq!(limiter.take("other", t), Some(2));
    }

    #[test]
    fn refills_75_per_minute_up_to_capacity() {
        let mut limiter = RateLimiter::new(RateLimitConfig::default());
        let t0 = Timestamp::from_secs(0);
        limiter.set_remaining("k", 0, t0);
        assert_eq!(limiter.remaining("k", Timestamp::from_secs(60)), 75);
        // 0.8 s gives exactly one token (75/min = one per 800 ms); fractions accumulate.
        let mut limiter = RateLimiter::new(RateLimitConfig::default());
        limiter.set_remaining("k", 0, t0);
        assert_eq!(limiter.remaining("k", Timestamp::from_millis(400)), 0);
        assert_eq!(limiter.remaining("k", Timestamp::from_millis(800)), 1);
        assert_eq!(
            limiter.remaining("k", Timestamp::from_secs(10 * 3600)),
            4500
        );
    }
}
