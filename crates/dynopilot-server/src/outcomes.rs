//! Counters of what acting on Heroku came to: executor outcomes per action kind (succeeded,
//! failed by error kind, skipped), Platform API call errors per kind and caller, and the
//! client's own count of failed attempts and retries. Written by the executor, the pollers and
//! the Heroku client, read by `/metrics`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use dynopilot_heroku::{AttemptStats, HerokuError};

/// How one executed decision ended, as the metrics label it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ended {
    Succeeded,
    /// With the error kind (`upstream`, `rate_limited`, `journal`, …).
    Failed(&'static str),
    Skipped,
}

impl Ended {
    pub fn outcome(self) -> &'static str {
        match self {
            Ended::Succeeded => "succeeded",
            Ended::Failed(_) => "failed",
            Ended::Skipped => "skipped",
        }
    }

    /// The error kind of a failure; empty otherwise (Prometheus treats an empty label as
    /// absent, so successes carry no `error`).
    pub fn error(self) -> &'static str {
        match self {
            Ended::Failed(kind) => kind,
            Ended::Succeeded | Ended::Skipped => "",
        }
    }
}

/// Which part of dynopilot made an API call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Caller {
    Executor,
    Poller,
}

impl Caller {
    pub fn as_str(self) -> &'static str {
        match self {
            Caller::Executor => "executor",
            Caller::Poller => "poller",
        }
    }
}

#[derive(Debug, Default)]
pub struct Outcomes {
    /// (action kind, how it ended) → count.
    actions: Mutex<BTreeMap<(&'static str, Ended), u64>>,
    /// (caller, error kind) → count.
    api_errors: Mutex<BTreeMap<(Caller, &'static str), u64>>,
    /// Every failed attempt and retry, counted by the daemon's Heroku client itself.
    pub heroku_attempts: Arc<AttemptStats>,
}

impl Outcomes {
    /// Counters reading `attempts`, the ones the daemon's Heroku client counts into.
    pub fn sharing(attempts: Arc<AttemptStats>) -> Self {
        Outcomes {
            heroku_attempts: attempts,
            ..Outcomes::default()
        }
    }

    pub fn count_action(&self, kind: &'static str, ended: Ended) {
        if let Ok(mut a) = self.actions.lock() {
            *a.entry((kind, ended)).or_default() += 1;
        }
    }

    /// Counts a failed Platform API call (after the client's own retries).
    pub fn count_api_error(&self, caller: Caller, error: &HerokuError) {
        if let Ok(mut e) = self.api_errors.lock() {
            *e.entry((caller, error.kind())).or_default() += 1;
        }
    }

    pub fn actions(&self) -> BTreeMap<(&'static str, Ended), u64> {
        self.actions.lock().map(|a| a.clone()).unwrap_or_default()
    }

    pub fn api_errors(&self) -> BTreeMap<(Caller, &'static str), u64> {
        self.api_errors
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind_and_outcome() {
        let o = Outcomes::default();
        o.count_action("scale_formation", Ended::Succeeded);
        o.count_action("scale_formation", Ended::Succeeded);
        o.count_action("scale_formation", Ended::Failed("upstream"));
        o.count_api_error(Caller::Poller, &HerokuError::from_status(503, None, b""));
        let actions = o.actions();
        assert_eq!(
            actions.get(&("scale_formation", Ended::Succeeded)),
            Some(&2)
        );
        assert_eq!(
            actions.get(&("scale_formation", Ended::Failed("upstream"))),
            Some(&1)
        );
        assert_eq!(o.api_errors().get(&(Caller::Poller, "upstream")), Some(&1));
        assert_eq!(Ended::Failed("upstream").error(), "upstream");
        assert_eq!(Ended::Skipped.outcome(), "skipped");
    }
}
