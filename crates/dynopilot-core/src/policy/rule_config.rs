//! Configuration of error rules: selector, condition (codes in a window, or a metric held
//! above a value), actions and their severity.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::duration::ConfigDuration;

/// An error rule: selector + condition + actions, with a cooldown per rule and target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub name: String,
    #[serde(default)]
    pub selector: Selector,
    pub condition: Condition,
    pub actions: Vec<RuleAction>,
    #[serde(default = "default_rule_cooldown")]
    pub cooldown: ConfigDuration,
}

fn default_rule_cooldown() -> ConfigDuration {
    ConfigDuration::from_mins(5)
}

/// Which part of the app a rule watches; empty means the whole app.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    pub process_type: Option<String>,
    pub dyno: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// At least `at_least` occurrences of codes matching any of `codes` (`R14`, `H1*`, `5xx`)
    /// within `window`.
    Codes {
        codes: Vec<String>,
        at_least: u32,
        window: ConfigDuration,
    },
    /// `metric` above `above` for at least `for`.
    Metric {
        metric: Metric,
        above: f64,
        #[serde(rename = "for")]
        for_: ConfigDuration,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    MemoryPercent,
    LoadAvg1m,
    ServiceP95Ms,
    QueueTimeP95Ms,
    QueueDepth,
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Metric::MemoryPercent => "memory %",
            Metric::LoadAvg1m => "load_avg_1m",
            Metric::ServiceP95Ms => "service p95 ms",
            Metric::QueueTimeP95Ms => "queue time p95 ms",
            Metric::QueueDepth => "queue depth",
        })
    }
}

impl Metric {
    /// Per-dyno metrics come from runtime samples; the others from per-type aggregates.
    pub fn is_per_dyno(self) -> bool {
        matches!(self, Metric::MemoryPercent | Metric::LoadAvg1m)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleAction {
    Alert {
        #[serde(default)]
        severity: Severity,
    },
    RestartDyno,
    RestartProcessType,
    RestartApp,
    /// Scale the selected process type by `by` dynos (negative scales in).
    Scale {
        by: i32,
    },
    Webhook {
        name: String,
    },
}

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        })
    }
}
