//! Login attempt limits: failures are counted per client address and per user name; after
//! `FREE_FAILURES` of them a key is locked for a delay that doubles with each further failure
//! (capped at `MAX_LOCK`), and a locked key gets 429 with `Retry-After` before any password is
//! checked. A key forgets its failures `FORGET_AFTER` after the last one. Time comes from the
//! injected clock.

use std::collections::HashMap;
use std::time::Duration;

use dynopilot_core::Timestamp;

/// Failures allowed before the first lock (typos happen).
pub const FREE_FAILURES: u32 = 5;
/// The longest lock.
pub const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// Failures older than this (counted from the last one) are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Keys remembered at most; past that the stalest is dropped (a flood of addresses must not
/// grow memory without bound; the per-user key still holds).
const MAX_KEYS: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last_failure: Timestamp,
    locked_until: Option<Timestamp>,
}

#[derive(Debug, Default)]
pub struct LoginLimiter {
    entries: HashMap<String, Entry>,
}

impl LoginLimiter {
    /// How long the caller must still wait, when any of `keys` is locked at `now`.
    pub fn wait(&mut self, keys: &[String], now: Timestamp) -> Option<Duration> {
        self.forget(now);
        keys.iter()
            .filter_map(|k| self.entries.get(k)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| until.since(now))
            .max()
    }

    /// Counts a failed attempt against every key.
    pub fn failed(&mut self, keys: &[String], now: Timestamp) {
        for key in keys {
            if !self.entries.contains_key(key) && self.entries.len() >= MAX_KEYS {
                self.drop_stalest();
            }
            let entry = self.entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                last_failure: now,
                locked_until: None,
            });
            entry.failures = entry.failures.saturating_add(1);
            entry.last_failure = now;
            entry.locked_until = lock_for(entry.failures).map(|d| now.plus(d));
        }
    }

    /// A successful sign-in clears its keys.
    pub fn succeeded(&mut self, keys: &[String]) {
        for key in keys {
            self.entries.remove(key);
        }
    }

    fn forget(&mut self, now: Timestamp) {
        self.entries.retain(|_, e| {
            now.since(e.last_failure) < FORGET_AFTER || e.locked_until.is_some_and(|u| u > now)
        });
    }

    fn drop_stalest(&mut self) {
        let stalest = self
            .entries
            .iter()
            .min_by_key(|(_, e)| e.last_failure)
            .map(|(k, _)| k.clone());
        if let Some(key) = stalest {
            self.entries.remove(&key);
        }
    }
}

/// 1 s after the first failure past the free ones, then 2 s, 4 s, … up to `MAX_LOCK`.
fn lock_for(failures: u32) -> Option<Duration> {
    let over = failures.checked_sub(FREE_FAILURES)?;
    let secs = 1u64.checked_shl(over.min(30)).unwrap_or(u64::MAX);
    Some(Duration::from_secs(secs).min(MAX_LOCK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_free_failures_with_doubling_delays() {
        let mut limiter = LoginLimiter::default();
        let keys = vec!["user ops".to_owned()];
        let t0 = Timestamp::from_secs(1_000_000);
        for _ in 0..FREE_FAILURES - 1 {
            limiter.failed(&keys, t0);
            assert_eq!(limiter.wait(&keys, t0), None);
        }
        limiter.failed(&keys, t0);
        assert_eq!(limiter.wait(&keys, t0), Some(Duration::from_secs(1)));
        let t1 = t0.plus(Duration::from_secs(1));
        assert_eq!(limiter.wait(&keys, t1), None);
        limiter.failed(&keys, t1);
        assert_eq!(limiter.wait(&keys, t1), Some(Duration::from_secs(2)));
        for _ in 0..40 {
            limiter.failed(&keys, t1);
        }
        assert_eq!(limiter.wait(&keys, t1), Some(MAX_LOCK));
        limiter.succeeded(&keys);
        assert_eq!(limiter.wait(&keys, t1), None);
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_while() {
        let mut limiter = LoginLimiter::default();
        let keys = vec!["ip 10.0.0.1".to_owned()];
        let t0 = Timestamp::from_secs(1_000_000);
        for _ in 0..FREE_FAILURES {
            limiter.failed(&keys, t0);
        }
        let later = t0.plus(FORGET_AFTER + Duration::from_secs(1));
        assert_eq!(limiter.wait(&keys, later), None);
        limiter.failed(&keys, later);
        assert_eq!(limiter.wait(&keys, later), None, "counting starts over");
    }
}
