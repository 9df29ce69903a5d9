//! `SystemClock`: the one place in dynopilot that reads the wall clock. Everything else receives
//! an `Arc<dyn Clock>` so tests can substitute `ManualClock`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dynopilot_core::time::Sleep;
use dynopilot_core::{Clock, Timestamp};

/// Wall-clock time (UTC) with tokio timers for sleeping.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "SystemClock is the sanctioned wall-clock reader"
    )]
    fn now(&self) -> Timestamp {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Timestamp::from_millis(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
    }

    fn sleep_until(&self, deadline: Timestamp) -> Sleep {
        let wait = deadline.since(self.now());
        Box::pin(tokio::time::sleep(wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn now_is_recent_and_sleep_waits() {
        let clock = SystemClock;
        let before = clock.now();
        assert!(before.as_millis() > 1_700_000_000_000);
        clock.sleep(Duration::from_millis(20)).await;
        assert!(clock.now().since(before) >= Duration::from_millis(19));
    }
}
