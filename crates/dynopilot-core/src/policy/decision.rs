//! Decisions: what the engine wants done (scale, resize, restart, alert, hook), why (the
//! inputs, thresholds and rule behind it, readable via `Display`), and which guardrails
//! blocked it. Decision ids are derived from the inputs, so re-evaluating never duplicates one.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::scaling::Signal;
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
        /// The dyno whose memory restarts did not help (escalation counts per dyno).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dyno: Option<String>,
        restarts: u32,
        window: ConfigDuration,
        next: String,
    },
    Autoscale {
        process_type: String,
        /// The algorithm's rule and arithmetic, for whoever wants the formula.
        explanation: String,
        /// The signal, its measured value and the target it was compared with, when the
        /// algorithm had them: the short form people read (`queue p95 180 ms > 100 ms`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<Signal>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<f64>,
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

/// In words, without the dyno or process type the action already names: a decision reads
/// `restart web.3 (memory 1,130 MB ≥ 1,024 MB in 3 samples in a row)`.
impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::MemoryOver {
                measure,
                value_mb,
                threshold,
                threshold_mb,
                quota_mb,
                samples,
                ..
            } => {
                let what = if measure == "rss+swap" {
                    "memory (rss+swap)"
                } else {
                    "memory"
                };
                write!(f, "{what} {} MB ≥ {} MB", mb(*value_mb), mb(*threshold_mb))?;
                if let MemoryThreshold::PercentOfQuota(p) = threshold {
                    write!(f, " ({p}% of {} MB)", mb(*quota_mb))?;
                }
                match samples {
                    1 => f.write_str(" in the latest sample"),
                    n => write!(f, " in {n} samples in a row"),
                }
            }
            Reason::MemoryError { code, at, .. } => {
                write!(f, "{code} {} at {}", error_words(code), clock(*at))
            }
            Reason::NoMetrics { silent, limit, .. } => {
                write!(f, "no runtime metrics for {silent}, limit {limit}")
            }
            Reason::StuckStarting {
                starting, limit, ..
            } => write!(f, "still starting after {starting}, boot limit {limit}"),
            Reason::Crashed { since, .. } => write!(f, "crashed at {}", clock(*since)),
            Reason::RestartCounter {
                count,
                threshold,
                ttl,
                ..
            } => write!(
                f,
                "the app asked for a restart {count} times within {ttl}, threshold {threshold}"
            ),
            Reason::RuleCodes {
                rule,
                target,
                codes,
                count,
                at_least,
                window,
            } => write!(
                f,
                "rule {rule}: {count} × {} on {target} within {window}, at least {at_least}",
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
                dyno,
                restarts,
                window,
                next,
            } => {
                let who = dyno.as_deref().unwrap_or(process_type);
                let times = if *restarts == 1 {
                    "restart"
                } else {
                    "restarts"
                };
                write!(
                    f,
                    "{restarts} memory {times} of {who} within {window} did not fix the leak; next: {next}"
                )
            }
            Reason::Autoscale {
                explanation,
                signal,
                value,
                target,
                ..
            } => match (signal, value, target) {
                (Some(signal), Some(value), Some(target)) => {
                    let cmp = if value > target { ">" } else { "≤" };
                    let show = |v: f64| {
                        if signal.is_latency() && v.is_finite() {
                            format!("{} ms", mb(v))
                        } else {
                            signal.show(v)
                        }
                    };
                    write!(
                        f,
                        "{} {} {cmp} {}",
                        signal_words(*signal),
                        show(*value),
                        show(*target)
                    )
                }
                _ => f.write_str(explanation),
            },
            Reason::Notify { event } => f.write_str(event),
            Reason::Manual { who, note } if note.is_empty() => write!(f, "requested by {who}"),
            Reason::Manual { who, note } => write!(f, "requested by {who}: {note}"),
        }
    }
}

/// A whole number of megabytes with thousands separators: `1,130`.
pub fn mb(value: f64) -> String {
    let whole = value.round();
    if !whole.is_finite() {
        return format!("{value}");
    }
    let digits = format!("{}", whole.abs() as u64);
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if whole < 0.0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `12:04:10`: the time of day (UTC) people compare with the clock on the wall.
pub fn clock(t: Timestamp) -> String {
    t.to_jiff().strftime("%H:%M:%S").to_string()
}

fn signal_words(signal: Signal) -> &'static str {
    match signal {
        Signal::QueueTimeP95 => "queue p95",
        Signal::ServiceP95 => "service p95",
        Signal::LoadPerDyno => "load per dyno",
        Signal::JobsPerDyno => "jobs per dyno",
        Signal::ProbeLatency => "probe latency",
    }
}

fn error_words(code: &str) -> &'static str {
    match code {
        "R14" => "(memory quota exceeded)",
        "R15" => "(memory quota vastly exceeded)",
        _ => "reported",
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
    /// A dependency check (Postgres connections, Redis down) holds upscales.
    DependencyGate,
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
            Guardrail::DependencyGate => "dependency gate",
        })
    }
}

/// A guardrail that stopped (or trimmed) a decision, and what it prevented.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    pub guardrail: Guardrail,
    pub detail: String,
}

/// `deploy freeze until 12:04:10 (release v42)`: each detail is written to follow the
/// guardrail's name.
impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.guardrail, self.detail)
    }
}

/// One line in words: `restart web.3 (memory …)`, `held: scale web 6 → 8 — deploy freeze
/// until 12:04:10 (release v42)`, `alert [topic] message`; a dry run says so at the end.
impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Action::Alert { topic, message, .. } = &self.action {
            write!(f, "alert [{topic}] {message}")?;
        } else if self.blocked.is_empty() {
            write!(f, "{} ({})", self.action, self.reason)?;
            for limit in &self.limited_by {
                write!(f, " — limited by {limit}")?;
            }
        } else {
            write!(f, "held: {} — ", self.action)?;
            for (i, blocked) in self.blocked.iter().enumerate() {
                if i > 0 {
                    f.write_str("; ")?;
                }
                write!(f, "{blocked}")?;
            }
        }
        if self.dry_run && self.blocked.is_empty() && !matches!(self.action, Action::Alert { .. }) {
            f.write_str(" [dry-run: not carried out]")?;
        }
        Ok(())
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
            "memory (rss+swap) 540 MB ≥ 461 MB (90% of 512 MB) in 3 samples in a row"
        );
        assert_eq!(r.policy(), "memory guard");
    }

    fn decision(action: Action, reason: Reason, blocked: Vec<Blocked>) -> Decision {
        Decision {
            id: stable_id(&["x"]),
            app: "shop".into(),
            at: Timestamp::from_secs(0),
            executed: blocked.is_empty(),
            dry_run: false,
            blocked,
            limited_by: Vec::new(),
            action,
            reason,
        }
    }

    #[test]
    fn a_restart_says_what_and_why_in_words() {
        let d = decision(
            Action::RestartDyno {
                dyno: "web.3".into(),
                instance_id: None,
            },
            Reason::MemoryOver {
                dyno: "web.3".into(),
                measure: "memory_total".into(),
                value_mb: 1130.2,
                threshold: MemoryThreshold::Mb(1024.0),
                threshold_mb: 1024.0,
                quota_mb: 1024.0,
                samples: 6,
            },
            Vec::new(),
        );
        assert_eq!(
            d.to_string(),
            "restart web.3 (memory 1,130 MB ≥ 1,024 MB in 6 samples in a row)"
        );
    }

    #[test]
    fn a_scale_names_the_signal_against_its_target_not_the_formula() {
        let reason = Reason::Autoscale {
            process_type: "web".into(),
            explanation: "target: desired = ceil(4 × 180ms / 100ms) = 8".into(),
            signal: Some(Signal::QueueTimeP95),
            value: Some(180.0),
            target: Some(100.0),
        };
        let scale = |from, to| Action::ScaleFormation {
            process_type: "web".into(),
            from,
            to,
        };
        let d = decision(scale(4, 6), reason.clone(), Vec::new());
        assert_eq!(d.to_string(), "scale web 4 → 6 (queue p95 180 ms > 100 ms)");
        let held = decision(
            scale(6, 8),
            reason,
            vec![Blocked {
                guardrail: Guardrail::DeployFreeze,
                detail: format!(
                    "until {} (release v42)",
                    clock(Timestamp::from_secs(12 * 3600 + 4 * 60 + 10))
                ),
            }],
        );
        assert_eq!(
            held.to_string(),
            "held: scale web 6 → 8 — deploy freeze until 12:04:10 (release v42)"
        );
        let mut dry = decision(scale(4, 6), held.reason.clone(), Vec::new());
        dry.dry_run = true;
        assert!(dry.to_string().ends_with("[dry-run: not carried out]"));
    }

    #[test]
    fn megabytes_group_thousands() {
        assert_eq!(mb(0.4), "0");
        assert_eq!(mb(999.0), "999");
        assert_eq!(mb(1130.4), "1,130");
        assert_eq!(mb(14_336.0), "14,336");
        assert_eq!(mb(-2048.0), "-2,048");
    }
}
