//! `AttemptStats`: every failed Platform API attempt by status class, and every retry, counted
//! as it happens inside the client's retry loop (so a call that failed twice and then
//! succeeded shows two failures and two retries). Shared with whoever reports them (`/metrics`).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::HerokuError;

/// The status classes failures are counted in, in the order [`AttemptStats::failed`] lists them.
pub const FAILURE_CLASSES: [&str; 4] = ["429", "4xx", "5xx", "transport"];

#[derive(Debug, Default)]
pub struct AttemptStats {
    /// Per entry of [`FAILURE_CLASSES`].
    failed: [AtomicU64; 4],
    retries: AtomicU64,
}

impl AttemptStats {
    /// Counts one failed attempt. A request that was never sent (a bad name or URL) is not an
    /// attempt and is not counted.
    pub fn record_failure(&self, err: &HerokuError) {
        if let Some(class) = failure_class(err)
            && let Some(i) = FAILURE_CLASSES.iter().position(|c| *c == class)
        {
            self.failed[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one attempt after the first of the same call.
    pub fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Failed attempts per status class, every class listed (zero included).
    pub fn failed(&self) -> [(&'static str, u64); 4] {
        std::array::from_fn(|i| (FAILURE_CLASSES[i], self.failed[i].load(Ordering::Relaxed)))
    }

    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
}

/// `429`, other `4xx`, `5xx`, or `transport` (no answer, or an answer that broke off).
pub fn failure_class(err: &HerokuError) -> Option<&'static str> {
    Some(match err {
        HerokuError::RateLimited { .. } => "429",
        HerokuError::Upstream { .. } => "5xx",
        HerokuError::Unauthorized { .. }
        | HerokuError::Forbidden { .. }
        | HerokuError::NotFound { .. }
        | HerokuError::Conflict { .. }
        | HerokuError::Unprocessable { .. }
        | HerokuError::ClientStatus { .. } => "4xx",
        HerokuError::Transport { .. }
        | HerokuError::Connect { .. }
        | HerokuError::Decode { .. } => "transport",
        HerokuError::InvalidInput { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_by_status_class() {
        let stats = AttemptStats::default();
        for status in [503, 500, 429, 404, 422, 402] {
            stats.record_failure(&HerokuError::from_status(status, None, b""));
        }
        stats.record_failure(&HerokuError::Transport {
            message: "connection reset".into(),
        });
        stats.record_failure(&HerokuError::InvalidInput {
            message: "empty app name".into(),
        });
        stats.record_retry();
        assert_eq!(
            stats.failed(),
            [("429", 1), ("4xx", 3), ("5xx", 2), ("transport", 1)]
        );
        assert_eq!(stats.retries(), 1);
    }
}
