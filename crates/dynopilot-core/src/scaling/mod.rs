//! Scaling algorithms: pure functions from signals to a desired quantity or size, with reasons.
//!
//! The policy engine owns observation, guardrails (min/max, budgets, freezes) and acting; this
//! module only answers "how many dynos / which size would this algorithm want, and why". Every
//! function takes its state explicitly and returns the new state: nothing here remembers anything.
//!
//! - [`horizontal::recommend`]: `target`, `streak`, `trend` and `queue` algorithms, with warm-up,
//!   per-direction cooldowns, stabilization windows and step limits.
//! - [`vertical::recommend`]: the size ladder (upscale on sustained memory, revert to the original).
//! - [`boot_time::BootTimes`]: boot time learned from observed `starting → up` transitions.

pub mod boot_time;
mod capacity;
mod checks;
pub mod config;
pub mod horizontal;
pub mod pattern;
mod queue;
mod series;
mod streak;
mod target;
mod trend;
pub mod vertical;
mod vertical_config;

pub use boot_time::{BootTimes, default_boot_time};
pub use config::{
    CapacityConfig, HorizontalConfig, QueueConfig, ResizeWindow, SAMPLE_PERIOD, StreakConfig,
    TargetConfig, TrendConfig, VerticalConfig,
};
pub use horizontal::{
    AlgoState, Algorithm, HorizontalInput, QueueObservation, Recommendation, RouterLoad,
    ScalingReason, clamp_step, recommend,
};
pub use vertical::{SizeRecommendation, SizeRule, VerticalInput, VerticalState};

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::Timestamp;

/// One observation of a scaling signal, already aggregated by the engine for the process type
/// (e.g. the p95 of router queue time over one 10 s window).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub at: Timestamp,
    /// In the signal's unit: milliseconds for latencies, a plain number for load and jobs.
    /// A failed or timed-out probe should be passed as `f64::INFINITY` (it is slow, not absent).
    pub value: f64,
}

impl Sample {
    pub fn new(at: Timestamp, value: f64) -> Self {
        Sample { at, value }
    }
}

/// What a horizontal algorithm measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// p95 of router `connect` + queueing before the app saw the request (ms).
    QueueTimeP95,
    /// p95 of router `service=` time (ms).
    ServiceP95,
    /// 1-minute load average per dyno.
    LoadPerDyno,
    /// Queued plus running jobs per dyno.
    JobsPerDyno,
    /// Latency of a configured HTTP probe (ms).
    ProbeLatency,
}

impl Signal {
    /// Whether values are milliseconds (and thresholds must be at least 1 ms).
    pub fn is_latency(self) -> bool {
        matches!(
            self,
            Signal::QueueTimeP95 | Signal::ServiceP95 | Signal::ProbeLatency
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Signal::QueueTimeP95 => "queue_time_p95",
            Signal::ServiceP95 => "service_p95",
            Signal::LoadPerDyno => "load_per_dyno",
            Signal::JobsPerDyno => "jobs_per_dyno",
            Signal::ProbeLatency => "probe_latency",
        }
    }

    /// Formats a value of this signal with its unit, for reasons.
    pub fn show(self, value: f64) -> String {
        show_value(value, if self.is_latency() { "ms" } else { "" })
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Renders a number compactly (no trailing `.0`, at most 2 decimals) followed by `unit`.
pub(crate) fn show_value(value: f64, unit: &str) -> String {
    if value.is_infinite() {
        return "∞".to_owned();
    }
    let rounded = (value * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}{unit}")
    } else {
        format!("{}{unit}", trim_zeros(&format!("{rounded:.2}")))
    }
}

fn trim_zeros(s: &str) -> &str {
    s.trim_end_matches('0').trim_end_matches('.')
}

/// Milliseconds of a configured duration, saturating; negative durations count as zero.
pub(crate) fn millis(d: jiff::SignedDuration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(0)
}

/// `t` moved back by a configured duration.
pub(crate) fn before(t: Timestamp, d: jiff::SignedDuration) -> Timestamp {
    Timestamp::from_millis(t.as_millis().saturating_sub(millis(d)))
}

/// Serde helpers for `Timestamp` as epoch milliseconds in persisted algorithm state.
pub(crate) mod ts_serde {
    use crate::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(t.as_millis())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        i64::deserialize(d).map(Timestamp::from_millis)
    }

    pub mod opt {
        use crate::Timestamp;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_some(&t.as_millis()),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
            Option::<i64>::deserialize(d).map(|o| o.map(Timestamp::from_millis))
        }
    }
}
