//! Log-session tails that never give up: every break of the stream (a failed session create, a
//! reset, a silent stream, a session that ends without data) is retried forever, with a growing
//! pause (`ReconnectPacer`: 1 s doubling up to 60 s, back to 1 s once lines flow again) and a
//! budget of session creates per hour, since each one spends a Platform API request. While the
//! stream is down the app's log source is marked disconnected, so its log-reading policies are
//! blind (with the missing signal named) instead of reading the gap as silence.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::{Clock, Timestamp};
use dynopilot_heroku::wire::LogSessionCreate;
use dynopilot_heroku::{HerokuClient, LogStreamOptions, StreamEnd};
use tokio_util::sync::CancellationToken;

use super::Ingest;

/// The first pause after a break.
pub const FIRST_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause between two attempts.
pub const MAX_PAUSE: Duration = Duration::from_secs(60);
/// Session creates allowed per `BUDGET_WINDOW` (an account has 4,500 API requests an hour,
/// shared with the pollers and the executor).
pub const BUDGET: usize = 120;
pub const BUDGET_WINDOW: Duration = Duration::from_secs(3600);

/// When the next reconnect may start: exponential backoff, reset by a session that delivered
/// lines, and never more than `budget` attempts in any `window`. Pure: time is an argument.
#[derive(Debug, Clone)]
pub struct ReconnectPacer {
    first: Duration,
    cap: Duration,
    budget: usize,
    window: Duration,
    next: Duration,
    /// Start times of the attempts inside the current window, oldest first.
    attempts: VecDeque<Timestamp>,
}

impl Default for ReconnectPacer {
    fn default() -> Self {
        ReconnectPacer::new(FIRST_PAUSE, MAX_PAUSE, BUDGET, BUDGET_WINDOW)
    }
}

impl ReconnectPacer {
    pub fn new(first: Duration, cap: Duration, budget: usize, window: Duration) -> Self {
        ReconnectPacer {
            first,
            cap: cap.max(first),
            budget: budget.max(1),
            window,
            next: first,
            attempts: VecDeque::new(),
        }
    }

    /// The stream delivered lines: the next break starts again from the first pause.
    pub fn delivered(&mut self) {
        self.next = self.first;
    }

    /// The stream broke at `now`: how long to wait before the next attempt, which is counted
    /// in the budget at the time it will start.
    pub fn pause_after_break(&mut self, now: Timestamp) -> Duration {
        let mut start = now.plus(self.next);
        self.next = (self.next * 2).min(self.cap);
        while self
            .attempts
            .front()
            .is_some_and(|&t| t.plus(self.window) <= start)
        {
            self.attempts.pop_front();
        }
        if self.attempts.len() >= self.budget
            && let Some(&oldest) = self.attempts.front()
        {
            // Spent: wait until the oldest attempt leaves the window.
            start = start.max(oldest.plus(self.window));
            self.attempts.pop_front();
        }
        self.attempts.push_back(start);
        start.since(now)
    }
}

/// Tails `app`'s log session until `cancel` fires. Never returns on an error.
pub async fn tail(
    client: HerokuClient,
    ingest: Ingest,
    clock: Arc<dyn Clock>,
    app: String,
    cancel: CancellationToken,
) {
    let create = LogSessionCreate {
        tail: Some(true),
        lines: Some(0),
        ..LogSessionCreate::default()
    };
    // Every break comes back here (no retries inside the client), so the app is marked
    // disconnected at once and the pacing below is the only one.
    let options = LogStreamOptions {
        max_failed_reconnects: 0,
        ..LogStreamOptions::default()
    };
    let mut pacer = ReconnectPacer::default();
    let mut breaks = 0u64;
    loop {
        let mut delivered = false;
        let ended = {
            let mut on_line = |line: &str| {
                if !delivered {
                    delivered = true;
                    ingest.source_reconnected(&app);
                }
                if !ingest.apply_log_line(&app, line.as_bytes()) && !line.trim().is_empty() {
                    ingest.metrics.count_dropped("unparseable_session_line", 1);
                }
            };
            client
                .stream_logs(&app, create.clone(), &options, &cancel, &mut on_line)
                .await
        };
        if matches!(ended, Ok(StreamEnd::Cancelled)) {
            return;
        }
        ingest.source_disconnected(&app);
        ingest.metrics.count_tail_break();
        if delivered {
            breaks = 0;
            pacer.delivered();
        }
        breaks += 1;
        let pause = pacer.pause_after_break(clock.now());
        match &ended {
            Err(e) => {
                tracing::warn!(app, error = %e, attempt = breaks, retry_in = ?pause, "log session broke; the app is blind until it reconnects")
            }
            Ok(_) => {
                tracing::warn!(app, attempt = breaks, retry_in = ?pause, "log session ended; starting a new one")
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = clock.sleep(pause) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_millis(secs * 1000)
    }

    #[test]
    fn backs_off_to_the_cap_and_starts_over_once_lines_flow() {
        let mut pacer = ReconnectPacer::default();
        let pauses: Vec<u64> = (0..9)
            .map(|i| pacer.pause_after_break(at(i * 100)).as_secs())
            .collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        pacer.delivered();
        assert_eq!(pacer.pause_after_break(at(2000)).as_secs(), 1);
    }

    #[test]
    fn never_spends_more_than_the_budget_in_a_window() {
        let window = Duration::from_secs(3600);
        let mut pacer =
            ReconnectPacer::new(Duration::from_secs(1), Duration::from_secs(1), 5, window);
        let mut now = at(0);
        let mut starts = Vec::new();
        for _ in 0..12 {
            let pause = pacer.pause_after_break(now);
            now = now.plus(pause);
            starts.push(now);
        }
        // Of any six consecutive attempts, the last starts a full window after the first.
        for pair in starts.windows(6) {
            assert!(pair[5].since(pair[0]) >= window, "{starts:?}");
        }
        assert_eq!(starts[4], at(5));
        assert_eq!(starts[5], at(3601));
    }
}
