//! Per-app trouble with the Platform API: an app the key cannot see, a 403, an app deleted
//! while running. Such an app is marked in error, retried with backoff and alerted once; every
//! other app keeps running. Also what the runner publishes for the dashboard (active overrides).

use std::collections::BTreeMap;
use std::time::Duration;

use dynopilot_core::Timestamp;
use dynopilot_heroku::HerokuError;
use serde::Serialize;

/// The longest wait between two retries of an app in error.
pub const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// What the dashboard, the API and `/metrics` show about one app besides its observations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AppStatus {
    pub error: Option<AppError>,
    /// Manual-change overrides in force: process type → expiry (published by the runner).
    pub overrides: BTreeMap<String, Timestamp>,
    /// Budgets left and holds in force at the runner's last tick (published by the runner).
    pub allowance: Option<dynopilot_core::policy::allowance::Allowance>,
}

/// Why an app cannot be watched right now, and when it is tried again.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AppError {
    /// `not_found`, `forbidden` or `unauthorized` (Heroku's answer), as in `/metrics`.
    pub kind: &'static str,
    pub message: String,
    #[serde(serialize_with = "crate::web::api::rfc3339")]
    pub since: Timestamp,
    #[serde(serialize_with = "crate::web::api::rfc3339")]
    pub retry_at: Timestamp,
    /// Failed attempts in a row.
    pub failures: u32,
    /// Set once the runner has raised the alert for this episode.
    #[serde(skip)]
    pub announced: bool,
}

/// True for answers that mean "this key cannot work on this app": retrying at the normal pace
/// would only spend the request budget.
pub fn is_access_error(e: &HerokuError) -> bool {
    matches!(
        e,
        HerokuError::NotFound { .. }
            | HerokuError::Forbidden { .. }
            | HerokuError::Unauthorized { .. }
    )
}

/// `interval × 2^(failures-1)`, at most `MAX_BACKOFF`.
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    interval.saturating_mul(factor).min(MAX_BACKOFF)
}

impl AppStatus {
    /// Records one more failed attempt at `now`; returns true when the app was fine before.
    pub fn fail(&mut self, e: &HerokuError, interval: Duration, now: Timestamp) -> bool {
        let (since, failures, announced, fresh) = match &self.error {
            Some(old) if old.kind == e.kind() => {
                (old.since, old.failures + 1, old.announced, false)
            }
            _ => (now, 1, false, true),
        };
        self.error = Some(AppError {
            kind: e.kind(),
            message: e.to_string(),
            since,
            retry_at: now.plus(backoff(interval, failures)),
            failures,
            announced,
        });
        fresh
    }

    /// Clears the error; returns it if there was one.
    pub fn recover(&mut self) -> Option<AppError> {
        self.error.take()
    }

    /// True while the app is in error and its next retry is not due.
    pub fn waiting(&self, now: Timestamp) -> bool {
        self.error.as_ref().is_some_and(|e| now < e.retry_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let i = Duration::from_secs(5);
        assert_eq!(backoff(i, 1), Duration::from_secs(5));
        assert_eq!(backoff(i, 2), Duration::from_secs(10));
        assert_eq!(backoff(i, 4), Duration::from_secs(40));
        assert_eq!(backoff(i, 40), MAX_BACKOFF);
    }

    #[test]
    fn an_error_episode_keeps_its_start_and_alert_until_recovery() {
        let mut status = AppStatus::default();
        let gone = HerokuError::NotFound { body: None };
        let t = Timestamp::from_secs(100);
        assert!(status.fail(&gone, Duration::from_secs(5), t));
        status.error.as_mut().unwrap().announced = true;
        assert!(!status.fail(
            &gone,
            Duration::from_secs(5),
            t.plus(Duration::from_secs(5))
        ));
        let e = status.error.clone().unwrap();
        assert_eq!(
            (e.kind, e.since, e.failures, e.announced),
            ("not_found", t, 2, true)
        );
        assert_eq!(e.retry_at, t.plus(Duration::from_secs(15)));
        assert!(status.waiting(t.plus(Duration::from_secs(14))));
        assert!(status.recover().is_some());
        assert!(!status.waiting(t));
    }
}
