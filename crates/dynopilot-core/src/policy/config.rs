//! Policy configuration for one app, as written in the TOML file: memory guard, zombie
//! detection, restart counter, error rules, schedules, escalation, notifications and guardrails.
//! Types only; `checks.rs` validates them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::duration::ConfigDuration;
pub use super::rule_config::{Condition, Metric, RuleAction, RuleConfig, Selector, Severity};

/// Runtime metrics arrive about every 20 s; no window can be shorter than one sample period.
pub const SAMPLE_PERIOD: ConfigDuration = ConfigDuration::from_secs(20);

/// Everything the policies of one app need.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub app: String,
    /// IANA time zone in which schedules are read.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    #[serde(default)]
    pub guardrails: GuardrailsConfig,
    #[serde(default)]
    pub notify: NotifyConfig,
    #[serde(default)]
    pub process_types: BTreeMap<String, ProcessTypeConfig>,
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
}

fn default_time_zone() -> String {
    "UTC".to_owned()
}

impl Config {
    /// A config with defaults everywhere, for tests and the shipped default file.
    pub fn new(app: impl Into<String>) -> Self {
        Config {
            app: app.into(),
            time_zone: default_time_zone(),
            guardrails: GuardrailsConfig::default(),
            notify: NotifyConfig::default(),
            process_types: BTreeMap::new(),
            rules: Vec::new(),
        }
    }
}

/// Per process type: bounds, size cap, schedule and the restart policies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessTypeConfig {
    /// Fewest dynos outside any schedule entry (`None`: no lower bound is enforced).
    pub min: Option<u32>,
    /// Most dynos outside any schedule entry (`None`: only the size's own limit).
    pub max: Option<u32>,
    /// Largest size any decision may resize to, compared by memory, never by name.
    pub max_size: Option<String>,
    pub schedule: Vec<ScheduleEntry>,
    pub memory_guard: Option<MemoryGuardConfig>,
    pub zombie: Option<ZombieConfig>,
    pub restart_counter: Option<RestartCounterConfig>,
    pub escalation: Option<EscalationConfig>,
    /// Horizontal autoscaler (`algorithm = "target" | "streak" | "trend" | "queue"`).
    pub autoscale: Option<crate::scaling::HorizontalConfig>,
    /// Vertical scaler (size ladder).
    pub vertical: Option<crate::scaling::VerticalConfig>,
}

/// What memory reading a threshold applies to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryMeasure {
    /// RSS + swap: what Heroku's R14 and R15 are computed from, so the kill risk.
    #[default]
    RssSwap,
    /// `memory_total`, as reported by runtime metrics.
    Total,
}

/// A memory threshold written as `"450MB"` or `"90%"` (of the dyno's quota); a bare number is MB.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MemoryThreshold {
    Mb(f64),
    PercentOfQuota(f64),
}

impl MemoryThreshold {
    pub fn as_mb(self, quota_mb: f64) -> f64 {
        match self {
            MemoryThreshold::Mb(mb) => mb,
            MemoryThreshold::PercentOfQuota(p) => quota_mb * p / 100.0,
        }
    }

    fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || format!("`{s}` is not a memory threshold like `450MB` or `90%`");
        if let Some(p) = s.strip_suffix('%') {
            return p
                .trim()
                .parse()
                .map(MemoryThreshold::PercentOfQuota)
                .map_err(|_| bad());
        }
        let mb = s
            .strip_suffix("MB")
            .or_else(|| s.strip_suffix("mb"))
            .unwrap_or(s);
        mb.trim()
            .parse()
            .map(MemoryThreshold::Mb)
            .map_err(|_| bad())
    }
}

impl fmt::Display for MemoryThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemoryThreshold::Mb(mb) => write!(f, "{mb}MB"),
            MemoryThreshold::PercentOfQuota(p) => write!(f, "{p}%"),
        }
    }
}

impl Serialize for MemoryThreshold {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MemoryThreshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(mb) => Ok(MemoryThreshold::Mb(mb)),
            Raw::Text(s) => MemoryThreshold::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryGuardConfig {
    pub threshold: MemoryThreshold,
    pub measure: MemoryMeasure,
    /// Consecutive samples above the threshold before a restart (one sample is noise).
    pub samples: u32,
    pub restart_on_r14: bool,
    pub restart_on_r15: bool,
    /// How recent an R14/R15 must be to act on it.
    pub error_window: ConfigDuration,
    /// Minimum time between two memory-guard restarts of one dyno.
    pub cooldown: ConfigDuration,
}

impl Default for MemoryGuardConfig {
    fn default() -> Self {
        MemoryGuardConfig {
            threshold: MemoryThreshold::PercentOfQuota(90.0),
            measure: MemoryMeasure::RssSwap,
            samples: 3,
            restart_on_r14: true,
            restart_on_r15: true,
            error_window: ConfigDuration::from_secs(60),
            cooldown: ConfigDuration::from_mins(5),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZombieConfig {
    /// An `up` dyno silent (no runtime metrics) for this long is a zombie.
    pub no_metrics_for: ConfigDuration,
    /// A dyno `starting` for longer than this is stuck.
    pub boot_limit: ConfigDuration,
    pub restart_crashed: bool,
    pub cooldown: ConfigDuration,
}

impl Default for ZombieConfig {
    fn default() -> Self {
        ZombieConfig {
            no_metrics_for: ConfigDuration::from_mins(3),
            boot_limit: ConfigDuration::from_mins(3),
            restart_crashed: true,
            cooldown: ConfigDuration::from_mins(5),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestartCounterConfig {
    /// Failures reported by the app within `ttl` that trigger a restart.
    pub threshold: u32,
    pub ttl: ConfigDuration,
    pub min_between_restarts: ConfigDuration,
}

impl Default for RestartCounterConfig {
    fn default() -> Self {
        RestartCounterConfig {
            threshold: 15,
            ttl: ConfigDuration::from_mins(60),
            min_between_restarts: ConfigDuration::from_mins(5),
        }
    }
}

/// When restarts stop helping: after `restarts` memory restarts of one dyno within `window`,
/// upsize its process type one step (if `upsize` and an explicit max size allows it), else
/// alert "leak not fixed by restarts"; restarts continue within the budgets either way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EscalationConfig {
    pub restarts: u32,
    pub window: ConfigDuration,
    pub upsize: bool,
}

impl Default for EscalationConfig {
    fn default() -> Self {
        EscalationConfig {
            restarts: 3,
            window: ConfigDuration::from_mins(6 * 60),
            upsize: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
}

/// Bounds that apply on the given days between `from` (inclusive) and `to` (exclusive), in
/// local wall-clock time of `Config::time_zone`. `to` may be `24:00`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleEntry {
    #[serde(default = "all_days")]
    pub days: Vec<Weekday>,
    pub from: String,
    pub to: String,
    pub min: u32,
    pub max: u32,
}

fn all_days() -> Vec<Weekday> {
    Weekday::ALL.to_vec()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuardrailsConfig {
    /// Restarts (of any kind) per app per rolling hour.
    pub restart_budget_per_hour: u32,
    /// Restarts per process type per rolling hour, so one misbehaving type cannot spend the
    /// whole app budget.
    pub process_type_restart_budget_per_hour: u32,
    /// Formation changes (scale or resize) per app per rolling hour: a flapping scaler stops.
    pub formation_change_budget_per_hour: u32,
    /// When more than half of a type's dynos need a restart at once, they are restarted one
    /// at a time, at least this far apart.
    pub restart_storm_gap: ConfigDuration,
    /// Minimum time between two restarts of one dyno, whichever policy asks.
    pub dyno_restart_cooldown: ConfigDuration,
    /// Refuse to restart the last healthy (`up`) dyno of a process type.
    pub protect_last_healthy: bool,
    /// Formation cost ceiling in dollars per hour, from the size table.
    pub cost_budget_per_hour: Option<f64>,
    /// No formation changes for this long after a release.
    pub deploy_freeze: ConfigDuration,
    /// After a change made outside dynopilot, leave the process type alone this long.
    pub manual_override: ConfigDuration,
    /// Compute and record decisions, but execute none.
    pub dry_run: bool,
    /// Upscales held while a dependency check says more dynos would make it worse.
    pub gates: super::status_checks::GatesConfig,
}

impl Default for GuardrailsConfig {
    fn default() -> Self {
        GuardrailsConfig {
            restart_budget_per_hour: 10,
            process_type_restart_budget_per_hour: 6,
            formation_change_budget_per_hour: 20,
            restart_storm_gap: ConfigDuration::from_secs(60),
            dyno_restart_cooldown: ConfigDuration::from_mins(5),
            protect_last_healthy: true,
            cost_budget_per_hour: None,
            deploy_freeze: ConfigDuration::from_mins(5),
            manual_override: ConfigDuration::from_mins(30),
            dry_run: false,
            gates: super::status_checks::GatesConfig::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    pub scaled: bool,
    pub capped_at_max: bool,
    pub below_min_idle: bool,
    pub api_failures: bool,
    pub guardrail_blocks: bool,
    /// The same topic alerts at most once per this period.
    pub cooldown: ConfigDuration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            scaled: true,
            capped_at_max: true,
            below_min_idle: false,
            api_failures: true,
            guardrail_blocks: true,
            cooldown: ConfigDuration::from_mins(10),
        }
    }
}
