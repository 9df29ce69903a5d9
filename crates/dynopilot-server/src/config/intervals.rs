//! How often the daemon looks: the policy tick (`[runner]`), the Platform API polls and the
//! streak of failed polls that raises `api-failing` (`[poll]`), and the discovery refresh
//! (`discovery.refresh`). Each is a key with today's value as its default, checked against
//! bounds that keep the daemon useful and within Heroku's request budget.

use std::time::Duration;

use dynopilot_core::policy::ConfigDuration;
use serde::{Deserialize, Serialize};

use super::build::Builder;

/// `[runner]` as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRunner {
    /// How often every app's policies are evaluated.
    pub tick: ConfigDuration,
}

impl Default for RawRunner {
    fn default() -> Self {
        RawRunner {
            tick: ConfigDuration::from_secs(1),
        }
    }
}

/// `[poll]` as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPoll {
    /// Formation and dyno list of each app.
    pub formation: ConfigDuration,
    /// Recent releases of each app (a release starts the deploy freeze).
    pub releases: ConfigDuration,
    /// Whether `log-runtime-metrics` is on.
    pub runtime_metrics: ConfigDuration,
    /// Consecutive failed polls of an app before one `api-failing` alert; 0 turns it off.
    pub failing_after: u32,
}

impl Default for RawPoll {
    fn default() -> Self {
        RawPoll {
            formation: ConfigDuration::from_secs(30),
            releases: ConfigDuration::from_secs(30),
            runtime_metrics: ConfigDuration::from_mins(60),
            failing_after: 3,
        }
    }
}

/// The validated intervals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollConfig {
    pub tick: Duration,
    pub formation: Duration,
    pub releases: Duration,
    pub runtime_metrics: Duration,
    /// 0: never alert on failed polls.
    pub failing_after: u32,
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            tick: RawRunner::default().tick.get(),
            formation: RawPoll::default().formation.get(),
            releases: RawPoll::default().releases.get(),
            runtime_metrics: RawPoll::default().runtime_metrics.get(),
            failing_after: RawPoll::default().failing_after,
        }
    }
}

/// Default of `discovery.refresh`.
pub const DEFAULT_DISCOVERY_REFRESH: ConfigDuration = ConfigDuration::from_mins(5);

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// Longest streak `failing_after` accepts (at 30 s polls, over eight hours of failures).
const MAX_FAILING_AFTER: u32 = 1000;

impl Builder<'_> {
    pub(super) fn intervals(&mut self, runner: &RawRunner, poll: &RawPoll) -> PollConfig {
        // A tick under 100 ms only burns CPU (urgent observations wake the runner anyway); one
        // over a minute leaves R15s and crashes without an answer for too long.
        let tick = self.bounded(
            "runner.tick",
            runner.tick,
            Duration::from_millis(100),
            MINUTE,
        );
        // Heroku allows 4500 requests an hour per account: polls of a few seconds per app
        // would spend it on a handful of apps; polls of over an hour see nothing in time.
        let formation = self.bounded("poll.formation", poll.formation, 5 * SECOND, HOUR);
        let releases = self.bounded("poll.releases", poll.releases, 5 * SECOND, HOUR);
        let runtime_metrics =
            self.bounded("poll.runtime_metrics", poll.runtime_metrics, MINUTE, DAY);
        if poll.failing_after > MAX_FAILING_AFTER {
            self.err(
                "poll.failing_after",
                format!("must be at most {MAX_FAILING_AFTER} (0 turns the alert off)"),
            );
        }
        PollConfig {
            tick,
            formation,
            releases,
            runtime_metrics,
            failing_after: poll.failing_after.min(MAX_FAILING_AFTER),
        }
    }

    pub(super) fn discovery_refresh(&mut self, refresh: ConfigDuration) -> Duration {
        self.bounded("discovery.refresh", refresh, 30 * SECOND, DAY)
    }

    /// `d` when it lies within `min..=max`; else an error naming the bounds, and the nearest
    /// bound (so the rest of the checks run on a usable value).
    fn bounded(&mut self, key: &str, d: ConfigDuration, min: Duration, max: Duration) -> Duration {
        if let Some(problem) = d.positive_problem() {
            self.err(key, format!("{problem}; write a duration like `30s`"));
            return min;
        }
        let value = d.get();
        if value < min || value > max {
            self.err(
                key,
                format!(
                    "{d} is outside {} to {}; write a duration like `30s`",
                    show(min),
                    show(max)
                ),
            );
        }
        value.clamp(min, max)
    }
}

fn show(d: Duration) -> String {
    let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    ConfigDuration::from_millis(ms).to_string()
}
