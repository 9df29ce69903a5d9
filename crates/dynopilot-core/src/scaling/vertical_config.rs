//! Configuration of the vertical scaler and its validation (thresholds, durations, a max size
//! and ladder that must name real, scalable sizes in ladder order, and the weekly windows in
//! which a resize may happen).

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use jiff::tz::TimeZone;

use super::checks::{check_non_negative, check_window, friendly};
use crate::Timestamp;
use crate::policy::config::Weekday;
use crate::policy::schedule::{local_day_minute, parse_span};
use crate::size::{DynoSize, is_single_dyno_tier};
use crate::validate::{Validation, key};

/// The vertical scaler of one process type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerticalConfig {
    /// Upscale when the busiest dyno's memory stays above this % of its quota...
    pub upscale_percent: f64,
    /// ...for this long.
    #[serde(serialize_with = "friendly")]
    pub upscale_after: SignedDuration,
    /// Revert when memory stays below this % of the *original* size's quota...
    pub downscale_percent: f64,
    /// ...for this long.
    #[serde(serialize_with = "friendly")]
    pub downscale_after: SignedDuration,
    /// Stay on an upscaled size at least this long.
    #[serde(serialize_with = "friendly")]
    pub min_upscale_duration: SignedDuration,
    /// Never climb past this size (compared by ladder position, not by name).
    pub max_size: Option<String>,
    /// Sizes to climb through, smallest first; default: every size of the current size's ladder.
    pub ladder: Option<Vec<String>>,
    /// When a resize (which restarts every dyno of the type) may happen, in the app's time
    /// zone; empty: at any time. Escalation upsizes obey the same windows.
    pub windows: Vec<ResizeWindow>,
}

/// A weekly window in which resizes are allowed, e.g. weekdays 08:00–20:00 ("no upsizes at
/// night"); `to` may be `24:00`, an overnight window is written as two.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResizeWindow {
    #[serde(default = "all_days")]
    pub days: Vec<Weekday>,
    pub from: String,
    pub to: String,
}

fn all_days() -> Vec<Weekday> {
    Weekday::ALL.to_vec()
}

impl Default for VerticalConfig {
    fn default() -> Self {
        VerticalConfig {
            upscale_percent: 90.0,
            upscale_after: SignedDuration::from_mins(2),
            downscale_percent: 50.0,
            downscale_after: SignedDuration::from_mins(30),
            min_upscale_duration: SignedDuration::from_hours(1),
            max_size: None,
            ladder: None,
            windows: Vec::new(),
        }
    }
}

impl VerticalConfig {
    pub fn validate(&self, prefix: &str, v: &mut Validation) {
        for (name, pct) in [
            ("upscale_percent", self.upscale_percent),
            ("downscale_percent", self.downscale_percent),
        ] {
            // Memory may exceed the quota (swap) up to the R15 kill point of 200%.
            v.check(
                pct.is_finite() && pct > 0.0 && pct <= 200.0,
                key(prefix, name),
                format!("{name} {pct} must be within (0, 200]"),
            );
        }
        v.check(
            self.downscale_percent < self.upscale_percent,
            key(prefix, "downscale_percent"),
            format!(
                "downscale_percent {} must be below upscale_percent {}",
                self.downscale_percent, self.upscale_percent
            ),
        );
        check_non_negative(prefix, "upscale_after", self.upscale_after, v);
        check_window(prefix, "downscale_after", self.downscale_after, v);
        check_non_negative(prefix, "min_upscale_duration", self.min_upscale_duration, v);
        if let Some(max) = &self.max_size {
            check_size(&key(prefix, "max_size"), max, v);
        }
        if let Some(ladder) = &self.ladder {
            check_ladder(&key(prefix, "ladder"), ladder, v);
        }
        for (i, w) in self.windows.iter().enumerate() {
            let wk = format!("{}[{i}]", key(prefix, "windows"));
            if w.days.is_empty() {
                v.push(key(&wk, "days"), "names no day, so the window never opens");
            }
            if let Err(message) = parse_span(&w.days, &w.from, &w.to) {
                v.push(wk, message);
            }
        }
    }

    /// Whether a resize is allowed at `now` (local time in `tz`).
    pub fn window_open(&self, tz: &TimeZone, now: Timestamp) -> bool {
        if self.windows.is_empty() {
            return true;
        }
        let (day, minute) = local_day_minute(tz, now);
        self.windows.iter().any(|w| {
            parse_span(&w.days, &w.from, &w.to).is_ok_and(|span| span.contains(day, minute))
        })
    }
}

fn check_size(at: &str, name: &str, v: &mut Validation) -> Option<&'static DynoSize> {
    match DynoSize::lookup(name) {
        Ok(size) if is_single_dyno_tier(size) => {
            v.push(
                at,
                format!(
                    "{} allows one dyno per type and cannot be scaled to",
                    size.name
                ),
            );
            None
        }
        Ok(size) => Some(size),
        Err(e) => {
            v.push(at, e.to_string());
            None
        }
    }
}

fn check_ladder(at: &str, ladder: &[String], v: &mut Validation) {
    v.check(ladder.len() >= 2, at, "a ladder needs at least two sizes");
    let sizes: Vec<_> = ladder
        .iter()
        .enumerate()
        .map(|(i, name)| check_size(&format!("{at}[{i}]"), name, v))
        .collect();
    for (i, pair) in sizes.windows(2).enumerate() {
        if let [Some(a), Some(b)] = pair {
            v.check(
                a.ladder_key() < b.ladder_key(),
                format!("{at}[{}]", i + 1),
                format!(
                    "{} is not larger than {}: list sizes smallest first",
                    b.name, a.name
                ),
            );
        }
    }
}
