//! Decisions: what the engine wants done (scale, resize, restart, alert, hook), why (the
//! inputs, thresholds and rule behind it, readable via `Display`), and which guardrails
//! blocked it. Decision ids are derived from the inputs, so re-evaluating never duplicates one.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

use super::config::{MemoryThreshold, Metric, Severity};
use super::duration::ConfigDuration;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Stable across re-evaluation of the same inputs: a hash of app, time, action and reason.
    pub id: String,
    pub app: String,
    #[serde(with = "super::serde_ts")]
    pub at: Timestamp,
    pub action: Action,
    pub reason: Reason,
    /// True when the executor should carry it out: not blocked and not a dry run.
    pub executed: bool,
    pub dry_run: bool,
    pub blocked: Vec<Blocked>,
    /// Guardrails that let the action through in a reduced form (a scale capped at max).
    pub limited_by: Vec<Blocked>,
}

impl Decision {
    pub fn is_blocked(&self) -> bool {
        !self.blocked.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    ScaleFormation {
        process_type: String,
        from: u32,
        to: u32,
    },
    Resize {
        process_type: String,
        from: String,
        to: String,
    },
    RestartDyno {
        dyno: String,
        instance_id: Option<String>,
    },
    RestartProcessType {
        process_type: String,
    },
    RestartApp,
    Alert {
        topic: String,
        severity: Severity,
        message: String,
    },
    RunHook {
        name: String,
    },
}

impl Action {
    pub fn is_restart(&self) -> bool {
        matches!(
            self,
            Action::RestartDyno { .. } | Action::RestartProcessType { .. } | Action::RestartApp
        )
    }

    /// The process type a formation change or restart concerns, if any.
    pub fn process_type(&self) -> Option<&str> {
        match self {
            Action::ScaleFormation { process_type, .. }
            | Action::Resize { process_type, .. }
            | Action::RestartProcessType { process_type } => Some(process_type),
            Action::RestartDyno { dyno, .. } => {
                Some(crate::names::split_dyno_name(dyno).map_or(dyno.as_str(), |(ty, _)| ty))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::ScaleFormation {
                process_type,
                from,
                to,
            } => {
                write!(f, "scale {process_type} {from} → {to}")
            }
            Action::Resize {
                process_type,
                from,
                to,
            } => {
                write!(f, "resize {process_type} {from} → {to}")
            }
            Action::RestartDyno { dyno, .. } => write!(f, "restart {dyno}"),
            Action::RestartProcessType { process_type } => write!(f, "restart all {process_type}"),
            Action::RestartApp => f.write_str("restart app"),
            Action::Alert {
                topic, severity, ..
            } => write!(f, "alert {severity} [{topic}]"),
            Action::RunHook { name } => write!(f, "run hook {name}"),
        }
    }
}

/// Why: each variant keeps the observed inputs and the thresholds they were compared with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    MemoryOver {
        dyno: String,
        measure: String,
        value_mb: f64,
        threshold: MemoryThreshold,
        threshold_mb: f64,
        quota_mb: f64,
        samples: u32,
    },
    MemoryError {
        dyno: String,
        code: String,
        #[serde(with = "super::serde_ts")]
        at: Timestamp,
    },
    NoMetrics {
        dyno: String,
        silent: ConfigDuration,
        limit: ConfigDuration,
    },
    StuckStarting {
        dyno: String,
        starting: ConfigDuration,
        limit: ConfigDuration,
    },
    Crashed {
        dyno: String,
        #[serde(with = "super::serde_ts")]
        since: Timestamp,
    },
    RestartCounter {
        dyno: String,
        count: u32,
        threshold: u32,
        ttl: ConfigDuration,
    },
    RuleCodes {
        rule: String,
        target: String,
        codes: Vec<String>,
        count: u32,
        at_least: u32,
        window: ConfigDuration,
    },
    RuleMetric {
        rule: String,
        target: String,
        metric: Metric,
        value: f64,
        above: f64,
        for_: ConfigDuration,
    },
    Schedule {
        process_type: String,
        quantity: u32,
        min: u32,
        max: u32,
        window: String,
    },
    Escalation {
        process_type: String,
        restarts: u32,
        window: ConfigDuration,
        next: String,
    },
    Autoscale {
        process_type: String,
        explanation: String,
    },
    /// A notification about another decision or event; `event` says what happened.
    Notify { event: String },
    /// Asked for by a person through the dashboard or API; `who` is the signed-in user.
    Manual { who: String, note: String },
}

impl Reason {
    /// The policy that produced the decision, as shown in transcripts and metrics labels.
    pub fn policy(&self) -> &'static str {
        match self {
            Reason::MemoryOver { .. } | Reason::MemoryError { .. } => "memory guard",
            Reason::NoMetrics { .. } | Reason::StuckStarting { .. } | Reason::Crashed { .. } => {
                "zombie"
            }
            Reason::RestartCounter { .. } => "restart counter",
            Reason::RuleCodes { .. } | Reason::RuleMetric { .. } => "rule",
            Reason::Schedule { .. } => "schedule",
            Reason::Escalation { .. } => "escalation",
            Reason::Autoscale { .. } => "autoscale",
            Reason::Notify { .. } => "notify",
            Reason::Manual { .. } => "manual",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::MemoryOver {
                dyno,
                measure,
                value_mb,
                threshold,
                threshold_mb,
                quota_mb,
                samples,
            } => {
                let limit = match threshold {
                    MemoryThreshold::PercentOfQuota(p) => format!("{p}% of {quota_mb:.0} MB"),
                    MemoryThreshold::Mb(_) => format!("{threshold_mb:.0} MB"),
                };
                write!(
                    f,
                    "{dyno} {measure} {value_mb:.0} MB ≥ {limit} for {samples} samples"
                )
            }
            Reason::MemoryError { dyno, code, at } => write!(f, "{dyno} reported {code} at {at}"),
            Reason::NoMetrics {
                dyno,
                silent,
                limit,
            } => {
                write!(
                    f,
                    "{dyno} is up but sent no runtime metrics for {silent} (limit {limit})"
                )
            }
            Reason::StuckStarting {
                dyno,
                starting,
                limit,
            } => {
                write!(f, "{dyno} starting for {starting} (boot limit {limit})")
            }
            Reason::Crashed { dyno, since } => write!(f, "{dyno} crashed since {since}"),
            Reason::RestartCounter {
                dyno,
                count,
                threshold,
                ttl,
            } => {
                write!(
                    f,
                    "{dyno} reported {count} failures within {ttl} (threshold {threshold})"
                )
            }
            Reason::RuleCodes {
                rule,
                target,
                codes,
                count,
                at_least,
                window,
            } => write!(
                f,
                "rule {rule}: {target} had {count} × {} within {window} (at least {at_least})",
                codes.join("|")
            ),
            Reason::RuleMetric {
                rule,
                target,
                metric,
                value,
                above,
                for_,
            } => write!(
                f,
                "rule {rule}: {target} {metric} {value:.1} > {above} for {for_}"
            ),
            Reason::Schedule {
                process_type,
                quantity,
                min,
                max,
                window,
            } => write!(
                f,
                "{process_type} has {quantity} dynos, outside {min}..={max} ({window})"
            ),
            Reason::Escalation {
                process_type,
                restarts,
                window,
                next,
            } => write!(
                f,
                "{process_type} needed {restarts} memory restarts within {window}; escalating: {next}"
            ),
            Reason::Autoscale {
                process_type,
                explanation,
            } => {
                write!(f, "{process_type}: {explanation}")
            }
            Reason::Notify { event } => f.write_str(event),
            Reason::Manual { who, note } if note.is_empty() => write!(f, "requested by {who}"),
            Reason::Manual { who, note } => write!(f, "requested by {who}: {note}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guardrail {
    Bounds,
    MaxSize,
    CostBudget,
    RestartBudget,
    DynoCooldown,
    LastHealthyDyno,
    DeployFreeze,
    ManualOverride,
    /// Too many formation changes (scale or resize) within the last hour.
    FormationBudget,
    /// Most dynos of a type need a restart at once: one at a time, with a gap.
    RestartStorm,
    /// Autoscaling of the app or process type was paused from the dashboard or API.
    Paused,
}

impl fmt::Display for Guardrail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Guardrail::Bounds => "bounds",
            Guardrail::MaxSize => "max size",
            Guardrail::CostBudget => "cost budget",
            Guardrail::RestartBudget => "restart budget",
            Guardrail::DynoCooldown => "dyno restart cooldown",
            Guardrail::LastHealthyDyno => "last healthy dyno",
            Guardrail::DeployFreeze => "deploy freeze",
            Guardrail::ManualOverride => "manual override",
            Guardrail::FormationBudget => "formation change budget",
            Guardrail::RestartStorm => "restart storm",
            Guardrail::Paused => "paused",
        })
    }
}

/// A guardrail that stopped (or trimmed) a decision, and what it prevented.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    pub guardrail: Guardrail,
    pub detail: String,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.guardrail, self.detail)
    }
}

/// FNV-1a, 64 bit: tiny, stable across Rust versions and platforms (unlike `DefaultHasher`).
pub(crate) fn stable_id(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0x1f)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_separate_parts() {
        assert_eq!(stable_id(&["a", "b"]), stable_id(&["a", "b"]));
        assert_ne!(stable_id(&["ab", ""]), stable_id(&["a", "b"]));
        assert_eq!(stable_id(&[]).len(), 16);
    }

    #[test]
    fn memory_reason_reads_like_a_sentence() {
        let r = Reason::MemoryOver {
            dyno: "web.2".into(),
            measure: "rss+swap".into(),
            value_mb: 540.0,
            threshold: MemoryThreshold::PercentOfQuota(90.0),
            threshold_mb: 460.8,
            quota_mb: 512.0,
            samples: 3,
        };
        assert_eq!(
            r.to_string(),
            "web.2 rss+swap 540 MB ≥ 90% of 512 MB for 3 samples"
        );
        assert_eq!(r.policy(), "memory guard");
    }
}
