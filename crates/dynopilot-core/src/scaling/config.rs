//! Configuration of the scaling algorithms (serde, `deny_unknown_fields`, defaults) and its
//! validation, which reports every problem at once with its key path.

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use super::Signal;
use super::checks::{
    check_cooldowns, check_latency_signal, check_ms, check_positive, check_sample_age, check_step,
    check_target, check_tolerance, check_window, friendly, friendly_opt,
};
use crate::validate::{Validation, key};

pub(crate) use super::checks::show;
pub use super::vertical_config::{ResizeWindow, VerticalConfig};

/// Heroku emits runtime metrics every 20 s: no window may be shorter than one sample.
pub const SAMPLE_PERIOD: SignedDuration = SignedDuration::from_secs(20);

/// The horizontal algorithm of one process type, selected by `algorithm = "target" | ...`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "snake_case")]
pub enum HorizontalConfig {
    Target(TargetConfig),
    Streak(StreakConfig),
    Trend(TrendConfig),
    Queue(QueueConfig),
    Capacity(CapacityConfig),
}

impl Default for HorizontalConfig {
    fn default() -> Self {
        HorizontalConfig::Target(TargetConfig::default())
    }
}

impl HorizontalConfig {
    /// The signal whose samples the engine must pass in `HorizontalInput::samples`
    /// (`None` for `queue`, which reads `HorizontalInput::queue`).
    pub fn signal(&self) -> Option<Signal> {
        match self {
            HorizontalConfig::Target(c) => Some(c.signal),
            HorizontalConfig::Streak(c) => Some(c.signal),
            HorizontalConfig::Trend(c) => Some(c.signal),
            HorizontalConfig::Queue(_) => None,
            // Router lines: the rate and `service=` of each window.
            HorizontalConfig::Capacity(_) => Some(Signal::ServiceP95),
        }
    }

    /// How far back the engine must keep and pass samples for this algorithm.
    pub fn lookback(&self) -> SignedDuration {
        match self {
            HorizontalConfig::Trend(c) => c.window,
            HorizontalConfig::Target(c) => c.max_sample_age,
            HorizontalConfig::Streak(c) => c.max_sample_age,
            HorizontalConfig::Queue(c) => c.max_sample_age,
            HorizontalConfig::Capacity(c) => c.trend_window.max(c.max_sample_age),
        }
    }

    pub fn validate(&self, prefix: &str, v: &mut Validation) {
        match self {
            HorizontalConfig::Target(c) => c.validate(prefix, v),
            HorizontalConfig::Streak(c) => c.validate(prefix, v),
            HorizontalConfig::Trend(c) => c.validate(prefix, v),
            HorizontalConfig::Queue(c) => c.validate(prefix, v),
            HorizontalConfig::Capacity(c) => c.validate(prefix, v),
        }
    }
}

/// Proportional target tracking: `desired = ceil(n × value / target)` with `n` = dynos up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TargetConfig {
    pub signal: Signal,
    /// Target value in the signal's unit (ms for latencies).
    pub target: f64,
    /// No change while `|value / target − 1| ≤ tolerance`.
    pub tolerance: f64,
    /// Scale up to the lowest recommendation of this window (0 = react at once).
    #[serde(serialize_with = "friendly")]
    pub up_stabilization: SignedDuration,
    /// Scale down only to the highest recommendation of this window.
    #[serde(serialize_with = "friendly")]
    pub down_stabilization: SignedDuration,
    /// Most dynos added in one step (`None` = no limit).
    pub max_step_up: Option<u32>,
    /// Most dynos removed in one step (`None` = no limit).
    pub max_step_down: Option<u32>,
    #[serde(serialize_with = "friendly")]
    pub up_cooldown: SignedDuration,
    #[serde(serialize_with = "friendly")]
    pub down_cooldown: SignedDuration,
    /// Samples older than this are stale: the algorithm holds instead of acting on them.
    #[serde(serialize_with = "friendly")]
    pub max_sample_age: SignedDuration,
}

impl Default for TargetConfig {
    fn default() -> Self {
        TargetConfig {
            signal: Signal::QueueTimeP95,
            target: 100.0,
            tolerance: 0.1,
            up_stabilization: SignedDuration::ZERO,
            down_stabilization: SignedDuration::from_mins(5),
            max_step_up: None,
            max_step_down: Some(1),
            up_cooldown: SignedDuration::from_secs(60),
            down_cooldown: SignedDuration::from_mins(5),
            max_sample_age: SignedDuration::from_secs(60),
        }
    }
}

impl TargetConfig {
    pub fn validate(&self, prefix: &str, v: &mut Validation) {
        check_target(prefix, "target", self.signal, self.target, v);
        check_tolerance(prefix, self.tolerance, v);
        check_window(prefix, "up_stabilization", self.up_stabilization, v);
        check_window(prefix, "down_stabilization", self.down_stabilization, v);
        check_step(prefix, "max_step_up", self.max_step_up, v);
        check_step(prefix, "max_step_down", self.max_step_down, v);
        check_cooldowns(prefix, self.up_cooldown, self.down_cooldown, v);
        check_sample_age(prefix, self.max_sample_age, v);
    }
}

/// Consecutive fails/passes against a response-time band, adding or removing `increment`
/// (the heartbeat autoscaler's semantics; thresholds are durations, so `"500ms"` stays 500 ms).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreakConfig {
    pub signal: Signal,
    /// Below this a sample passes (too fast: capacity to spare).
    #[serde(serialize_with = "friendly")]
    pub min_response_time: SignedDuration,
    /// Above this a sample fails (too slow).
    #[serde(serialize_with = "friendly")]
    pub max_response_time: SignedDuration,
    /// Consecutive failing samples needed to add dynos.
    pub fails: u32,
    /// Consecutive passing samples needed to remove dynos.
    pub passes: u32,
    pub increment: u32,
    #[serde(serialize_with = "friendly")]
    pub up_cooldown: SignedDuration,
    #[serde(serialize_with = "friendly")]
    pub down_cooldown: SignedDuration,
    #[serde(serialize_with = "friendly")]
    pub max_sample_age: SignedDuration,
}

impl Default for StreakConfig {
    fn default() -> Self {
        StreakConfig {
            signal: Signal::ServiceP95,
            min_response_time: SignedDuration::from_millis(200),
            max_response_time: SignedDuration::from_millis(1000),
            fails: 3,
            passes: 5,
            increment: 1,
            up_cooldown: SignedDuration::ZERO,
            down_cooldown: SignedDuration::ZERO,
            max_sample_age: SignedDuration::from_secs(60),
        }
    }
}

impl StreakConfig {
    pub fn validate(&self, prefix: &str, v: &mut Validation) {
        check_latency_signal(prefix, self.signal, v);
        check_ms(prefix, "min_response_time", self.min_response_time, v);
        check_ms(prefix, "max_response_time", self.max_response_time, v);
        v.check(
            self.min_response_time < self.max_response_time,
            key(prefix, "min_response_time"),
            format!(
                "min_response_time {} must be below max_response_time {}",
                show(self.min_response_time),
                show(self.max_response_time)
            ),
        );
        check_positive(prefix, "fails", self.fails, v);
        check_positive(prefix, "passes", self.passes, v);
        check_positive(prefix, "increment", self.increment, v);
        check_cooldowns(prefix, self.up_cooldown, self.down_cooldown, v);
        check_sample_age(prefix, self.max_sample_age, v);
    }
}

/// Mean and least-squares slope of response time over a window (the Pingdom autoscaler's
/// semantics, plus scaling up when slow but flat and down when fast but flat).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrendConfig {
    pub signal: Signal,
    #[serde(serialize_with = "friendly")]
    pub window: SignedDuration,
    /// Fewest samples in the window before the slope means anything.
    pub min_samples: u32,
    /// Mean below this is fast.
    #[serde(serialize_with = "friendly")]
    pub low_response_time: SignedDuration,
    /// Mean at or above this is slow.
    #[serde(serialize_with = "friendly")]
    pub high_response_time: SignedDuration,
    /// Slope (ms per second) below which latency is falling; must be ≤ 0.
    pub low_slope: f64,
    /// Slope (ms per second) above which latency is rising; must be ≥ 0.
    pub high_slope: f64,
    pub increment: u32,
    #[serde(serialize_with = "friendly")]
    pub up_cooldown: SignedDuration,
    #[serde(serialize_with = "friendly")]
    pub down_cooldown: SignedDuration,
}

impl Default for TrendConfig {
    fn default() -> Self {
        TrendConfig {
            signal: Signal::ServiceP95,
            window: SignedDuration::from_mins(10),
            min_samples: 3,
            low_response_time: SignedDuration::from_millis(200),
            high_response_time: SignedDuration::from_millis(2000),
            low_slope: -0.5,
            high_slope: 0.5,
            increment: 1,
            up_cooldown: SignedDuration::from_mins(2),
            down_cooldown: SignedDuration::from_mins(5),
        }
    }
}

impl TrendConfig {
    pub fn validate(&self, prefix: &str, v: &mut Validation) {
        check_latency_signal(prefix, self.signal, v);
        v.check(
            self.window >= SAMPLE_PERIOD,
            key(prefix, "window"),
            format!(
                "window {} is shorter than the {} sample period",
                show(self.window),
                show(SAMPLE_PERIOD)
            ),
        );
        v.check(
            self.min_samples >= 2,
            key(prefix, "min_samples"),
            "a slope needs at least 2 samples",
        );
        let span = SAMPLE_PERIOD * i32::try_from(self.min_samples.saturating_sub(1)).unwrap_or(0);
        v.check(
            self.window >= span,
            key(prefix, "window"),
            format!(
                "window {} cannot hold {} samples taken every {}",
                show(self.window),
                self.min_samples,
                show(SAMPLE_PERIOD)
            ),
        );
        check_ms(prefix, "low_response_time", self.low_response_time, v);
        check_ms(prefix, "high_response_time", self.high_response_time, v);
        v.check(
            self.low_response_time < self.high_response_time,
            key(prefix, "low_response_time"),
            format!(
                "low_response_time {} must be below high_response_time {}",
                show(self.low_response_time),
                show(self.high_response_time)
            ),
        );
        v.check(
            self.low_slope.is_finite() && self.low_slope <= 0.0,
            key(prefix, "low_slope"),
            format!("low_slope {} must be ≤ 0 (ms per second)", self.low_slope),
        );
        v.check(
            self.high_slope.is_finite() && self.high_slope >= 0.0,
            key(prefix, "high_slope"),
            format!("high_slope {} must be ≥ 0 (ms per second)", self.high_slope),
        );
        check_positive(prefix, "increment", self.increment, v);
        check_cooldowns(prefix, self.up_cooldown, self.down_cooldown, v);
    }
}

/// Worker scaling from queue depth and/or queue latency, with scale to zero when idle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    /// Jobs (queued + running) one dyno should carry: `desired = ceil(jobs / jobs_per_dyno)`.
    pub jobs_per_dyno: Option<f64>,
    /// Target age of the oldest queued job: `desired = ceil(n × latency / target)`.
    #[serde(serialize_with = "friendly_opt")]
    pub latency_target: Option<SignedDuration>,
    pub tolerance: f64,
    /// Go to zero dynos once the queue was empty with nothing running for this long
    /// (`None` = keep at least one dyno).
    #[serde(serialize_with = "friendly_opt")]
    pub scale_to_zero_after: Option<SignedDuration>,
    pub max_step_up: Option<u32>,
    pub max_step_down: Option<u32>,
    #[serde(serialize_with = "friendly")]
    pub up_cooldown: SignedDuration,
    #[serde(serialize_with = "friendly")]
    pub down_cooldown: SignedDuration,
    #[serde(serialize_with = "friendly")]
    pub max_sample_age: SignedDuration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            jobs_per_dyno: Some(10.0),
            latency_target: None,
            tolerance: 0.1,
            scale_to_zero_after: None,
            max_step_up: None,
            max_step_down: Some(1),
            up_cooldown: SignedDuration::from_secs(30),
            down_cooldown: SignedDuration::from_mins(5),
            max_sample_age: SignedDuration::from_secs(60),
        }
    }
}

impl QueueConfig {
    pub fn validate(&self, prefix: &str, v: &mut Validation) {
        v.check(
            self.jobs_per_dyno.is_some() || self.latency_target.is_some(),
            key(prefix, "jobs_per_dyno"),
            "set jobs_per_dyno, latency_target or both",
        );
        if let Some(j) = self.jobs_per_dyno {
            v.check(
                j.is_finite() && j > 0.0,
                key(prefix, "jobs_per_dyno"),
                format!("jobs_per_dyno {j} must be a positive number"),
            );
        }
        if let Some(t) = self.latency_target {
            check_ms(prefix, "latency_target", t, v);
        }
        check_tolerance(prefix, self.tolerance, v);
        if let Some(t) = self.scale_to_zero_after {
            v.check(
                t >= SAMPLE_PERIOD,
                key(prefix, "scale_to_zero_after"),
                format!(
                    "scale_to_zero_after {} is shorter than the {} sample period",
                    show(t),
                    show(SAMPLE_PERIOD)
                ),
            );
        }
        check_step(prefix, "max_step_up", self.max_step_up, v);
        check_step(prefix, "max_step_down", self.max_step_down, v);
        check_cooldowns(prefix, self.up_cooldown, self.down_cooldown, v);
        check_sample_age(prefix, self.max_sample_age, v);
    }
}

/// Dynos from the request rate and service time through Erlang C, the rate extrapolated over
/// `lead` along its trend (see `scaling::capacity`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CapacityConfig {
    /// Requests one dyno serves at once (web processes × threads, e.g. Puma's).
    pub concurrency: u32,
    /// A request is late when it waits longer than this before a worker takes it.
    #[serde(serialize_with = "friendly")]
    pub queue_target: SignedDuration,
    /// Share of requests allowed to be late (0.005 = 0.5 %).
    pub late_share: f64,
    /// How far ahead the rate is extrapolated: a new dyno's boot time plus one evaluation.
    #[serde(serialize_with = "friendly")]
    pub lead: SignedDuration,
    /// Router windows the trend is fitted over.
    #[serde(serialize_with = "friendly")]
    pub trend_window: SignedDuration,
    /// Scale down only to the highest recommendation of this window.
    #[serde(serialize_with = "friendly")]
    pub down_stabilization: SignedDuration,
    /// Scale down only when at least this share of the dynos can go (0.1 = 10 %, and one).
    pub down_hysteresis: f64,
    pub max_step_down: Option<u32>,
    #[serde(serialize_with = "friendly")]
    pub up_cooldown: SignedDuration,
    #[serde(serialize_with = "friendly")]
    pub down_cooldown: SignedDuration,
    #[serde(serialize_with = "friendly")]
    pub max_sample_age: SignedDuration,
    /// Per-minute rates remembered to learn a repeating pattern ("0s" turns the pattern off);
    /// a daily cycle needs a day plus three hours.
    #[serde(serialize_with = "friendly")]
    pub pattern_history: SignedDuration,
}

impl Default for CapacityConfig {
    fn default() -> Self {
        CapacityConfig {
            concurrency: 8,
            queue_target: SignedDuration::from_millis(100),
            late_share: 0.003,
            lead: SignedDuration::from_secs(60),
            trend_window: SignedDuration::from_mins(3),
            down_stabilization: SignedDuration::from_mins(3),
            down_hysteresis: 0.1,
            max_step_down: None,
            up_cooldown: SignedDuration::ZERO,
            down_cooldown: SignedDuration::from_mins(1),
            max_sample_age: SignedDuration::from_secs(60),
            pattern_history: SignedDuration::from_hours(27),
        }
    }
}

impl CapacityConfig {
    pub fn validate(&self, prefix: &str, v: &mut Validation) {
        check_positive(prefix, "concurrency", self.concurrency, v);
        check_ms(prefix, "queue_target", self.queue_target, v);
        v.check(
            self.late_share.is_finite() && self.late_share > 0.0 && self.late_share < 1.0,
            key(prefix, "late_share"),
            format!("late_share {} must be between 0 and 1", self.late_share),
        );
        v.check(
            self.lead >= SignedDuration::ZERO,
            key(prefix, "lead"),
            "lead must not be negative",
        );
        check_window(prefix, "trend_window", self.trend_window, v);
        check_window(prefix, "down_stabilization", self.down_stabilization, v);
        v.check(
            (0.0..1.0).contains(&self.down_hysteresis),
            key(prefix, "down_hysteresis"),
            format!(
                "down_hysteresis {} must be at least 0 and below 1",
                self.down_hysteresis
            ),
        );
        check_step(prefix, "max_step_down", self.max_step_down, v);
        check_cooldowns(prefix, self.up_cooldown, self.down_cooldown, v);
        check_sample_age(prefix, self.max_sample_age, v);
        v.check(
            self.pattern_history >= SignedDuration::ZERO
                && self.pattern_history <= SignedDuration::from_hours(8 * 24),
            key(prefix, "pattern_history"),
            "pattern_history must be between 0s and 8d",
        );
    }
}
