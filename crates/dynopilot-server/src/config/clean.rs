//! `[[apps.clean]]`: periodic old-file cleans the daemon runs in a one-off dyno of the app
//! (`crate::clean::schedule`), checked key by key; the directory against the same allow-list
//! as `dynopilot clean`.

use std::time::Duration;

use dynopilot_core::DynoSize;
use dynopilot_core::policy::ConfigDuration;
use serde::{Deserialize, Serialize};

use super::build::Builder;
use crate::clean::{CleanError, CleanJob, CleanSpec};

pub const DEFAULT_CLEAN_OLDER_THAN: Duration = Duration::from_secs(48 * 3600);
pub const DEFAULT_CLEAN_EVERY: Duration = Duration::from_secs(24 * 3600);
pub const DEFAULT_CLEAN_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Each run starts a billed one-off dyno: not more often than this.
pub const MIN_CLEAN_EVERY: Duration = Duration::from_secs(10 * 60);
/// Heroku kills a one-off dyno after a day at most.
pub const MAX_CLEAN_TIMEOUT: Duration = Duration::from_secs(86_400);

/// One `[[apps.clean]]` entry as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClean {
    pub dir: String,
    #[serde(default)]
    pub older_than: Option<ConfigDuration>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub include_dotfiles: bool,
    #[serde(default)]
    pub every: Option<ConfigDuration>,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub timeout: Option<ConfigDuration>,
    #[serde(default)]
    pub size: Option<String>,
}

/// A validated periodic clean of one app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanScheduleConfig {
    pub job: CleanJob,
    pub every: Duration,
}

impl Builder<'_> {
    /// Every problem of `raw` reported under `prefix` (`apps[0].clean`); valid entries kept.
    pub(super) fn clean_schedules(
        &mut self,
        prefix: &str,
        raw: &[RawClean],
        dry_run: bool,
    ) -> Vec<CleanScheduleConfig> {
        raw.iter()
            .enumerate()
            .filter_map(|(i, c)| self.clean_schedule(&format!("{prefix}[{i}]"), c, dry_run))
            .collect()
    }

    fn clean_schedule(
        &mut self,
        key: &str,
        c: &RawClean,
        dry_run: bool,
    ) -> Option<CleanScheduleConfig> {
        let older_than =
            self.clean_duration(key, "older_than", c.older_than, DEFAULT_CLEAN_OLDER_THAN);
        let every = self.clean_duration(key, "every", c.every, DEFAULT_CLEAN_EVERY);
        let timeout = self.clean_duration(key, "timeout", c.timeout, DEFAULT_CLEAN_TIMEOUT);
        let mut ok = older_than.is_some() && every.is_some() && timeout.is_some();
        if every.is_some_and(|e| e < MIN_CLEAN_EVERY) {
            self.err(
                &format!("{key}.every"),
                "must be at least 10m: each run starts a one-off dyno",
            );
            ok = false;
        }
        if timeout.is_some_and(|t| t > MAX_CLEAN_TIMEOUT) {
            self.err(
                &format!("{key}.timeout"),
                "must be at most 24h (a one-off dyno's longest life)",
            );
            ok = false;
        }
        if let Some(size) = &c.size
            && DynoSize::lookup(size).is_err()
        {
            self.err(
                &format!("{key}.size"),
                format!("`{size}` is not a dyno size (see `dynopilot sizes`)"),
            );
            ok = false;
        }
        let spec = CleanSpec::new(
            &c.dir,
            older_than.unwrap_or(DEFAULT_CLEAN_OLDER_THAN),
            c.exclude.clone(),
            c.include_dotfiles,
        );
        let spec = match spec {
            Ok(spec) => spec,
            Err(e) => {
                let field = match &e {
                    CleanError::TooYoung(_) => "older_than",
                    CleanError::BadExclude(_) => "exclude",
                    _ => "dir",
                };
                self.err(&format!("{key}.{field}"), e.to_string());
                return None;
            }
        };
        ok.then(|| CleanScheduleConfig {
            job: CleanJob {
                spec,
                dry_run: dry_run || c.dry_run,
                size: c.size.clone(),
                timeout: timeout.unwrap_or(DEFAULT_CLEAN_TIMEOUT),
            },
            every: every.unwrap_or(DEFAULT_CLEAN_EVERY),
        })
    }

    fn clean_duration(
        &mut self,
        key: &str,
        field: &str,
        value: Option<ConfigDuration>,
        default: Duration,
    ) -> Option<Duration> {
        let Some(value) = value else {
            return Some(default);
        };
        match value.positive_problem() {
            Some(problem) => {
                self.err(&format!("{key}.{field}"), problem);
                None
            }
            None => Some(value.get()),
        }
    }
}
