//! Boot time learned from observed `starting → up` transitions, per dyno size: the p90 of the
//! most recent observations, or a default until one is seen. Warm-up and predictive scaling
//! use it to know how long new capacity takes to arrive.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::size::DynoSize;

/// Observations kept per size; old boots say little about today's slug.
pub const KEEP: usize = 20;

/// Until a boot is observed: new dynos serve 20–60 s after a scale request on Heroku
/// (Judoscale's measurements); a web process must bind within 60 s (R10). 45 s sits between.
pub fn default_boot_time(_size: &DynoSize) -> Duration {
    Duration::from_secs(45)
}

/// Recent boot durations per size name, in milliseconds, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BootTimes {
    pub by_size: BTreeMap<String, Vec<u64>>,
}

impl BootTimes {
    /// Records one dyno that went `starting` at `starting` and `up` at `up`. Returns false (and
    /// records nothing) for a transition that goes back in time.
    pub fn observe(&mut self, size: &DynoSize, starting: Timestamp, up: Timestamp) -> bool {
        if up < starting {
            return false;
        }
        let ms = u64::try_from(up.as_millis() - starting.as_millis()).unwrap_or(u64::MAX);
        let seen = self.by_size.entry(size.name.to_owned()).or_default();
        seen.push(ms);
        if seen.len() > KEEP {
            seen.remove(0);
        }
        true
    }

    /// The p90 (nearest rank) of recent boots of `size`, or the default when none was seen.
    pub fn estimate(&self, size: &DynoSize) -> Duration {
        let Some(seen) = self.by_size.get(size.name).filter(|s| !s.is_empty()) else {
            return default_boot_time(size);
        };
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        // Nearest rank: the smallest value with at least 90% of observations at or below it.
        let rank = (sorted.len() * 9).div_ceil(10).max(1);
        Duration::from_millis(sorted[rank - 1])
    }

    /// How many boots of `size` the estimate rests on.
    pub fn observations(&self, size: &DynoSize) -> usize {
        self.by_size.get(size.name).map_or(0, Vec::len)
    }
}
