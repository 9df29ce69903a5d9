//! Display rows for the templates: numbers formatted once here (dollars, percentages, times)
//! with a `ok`/`warn`/`bad` class, so templates stay free of logic.

use dynopilot_core::Timestamp;
use dynopilot_core::policy;
use dynopilot_store::{ActionRecord, DecisionRecord};

use super::summary::{AppSummary, DynoView, TypeSummary};

pub fn dollars(d: f64) -> String {
    format!("${d:.2}")
}

/// `14:03:07` UTC, for "updated at" lines.
pub fn clock_time(t: Timestamp) -> String {
    t.to_jiff().strftime("%H:%M:%S UTC").to_string()
}

/// `2026-03-01 14:03:07` UTC, for the decision log.
pub fn date_time(t: Timestamp) -> String {
    t.to_jiff().strftime("%Y-%m-%d %H:%M:%S").to_string()
}

fn level(value: Option<f64>, warn: f64, bad: f64) -> &'static str {
    match value {
        Some(v) if v >= bad => "bad",
        Some(v) if v >= warn => "warn",
        Some(_) => "ok",
        None => "none",
    }
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.0}%"))
}

fn error_rate(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}%"))
}

fn latency(p95: Option<f64>, target: Option<f64>) -> String {
    match (p95, target) {
        (Some(p), Some(t)) => format!("{p:.0} / {t:.0} ms"),
        (Some(p), None) => format!("{p:.0} ms"),
        (None, Some(t)) => format!("– / {t:.0} ms"),
        (None, None) => "–".to_owned(),
    }
}

fn latency_class(p95: Option<f64>, target: Option<f64>) -> &'static str {
    match (p95, target) {
        (Some(p), Some(t)) if p > t * 1.5 => "bad",
        (Some(p), Some(t)) if p > t => "warn",
        (Some(_), _) => "ok",
        _ => "none",
    }
}

pub struct FleetRow {
    pub name: String,
    pub mode: &'static str,
    pub formation: String,
    pub cost_hour: String,
    pub cost_month: String,
    pub memory: String,
    pub memory_class: &'static str,
    pub errors: String,
    pub errors_class: &'static str,
    pub latency: String,
    pub latency_class: &'static str,
    pub last_decision: String,
    /// `not_found: …` while the app cannot be reached; empty otherwise.
    pub error: String,
}

pub fn fleet_row(s: &AppSummary, last: Option<&DecisionRecord>) -> FleetRow {
    let formation = s
        .process_types
        .iter()
        .filter_map(|t| {
            Some(format!(
                "{} {}×{}",
                t.process_type,
                t.quantity?,
                t.size.as_deref()?
            ))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let memory = s
        .process_types
        .iter()
        .filter_map(|t| t.memory_max_pct)
        .reduce(f64::max);
    let errors = s
        .process_types
        .iter()
        .filter_map(|t| t.error_rate_pct)
        .reduce(f64::max);
    // The process type furthest above its latency target speaks for the app.
    let worst = s
        .process_types
        .iter()
        .filter(|t| t.watched_p95().0.is_some())
        .max_by(|a, b| ratio(a).total_cmp(&ratio(b)));
    let (p95, target) = worst.map_or((None, None), TypeSummary::watched_p95);
    let label = worst.map_or("", TypeSummary::watched_label);
    FleetRow {
        name: s.name.clone(),
        mode: s.mode,
        formation: if formation.is_empty() {
            "unknown yet".to_owned()
        } else {
            formation
        },
        cost_hour: dollars(s.dollars_per_hour),
        cost_month: dollars(s.projected_month_dollars),
        memory: percent(memory),
        memory_class: level(memory, 80.0, 100.0),
        errors: error_rate(errors),
        errors_class: level(errors, 1.0, 5.0),
        latency: format!("{label}{}", latency(p95, target)),
        latency_class: latency_class(p95, target),
        last_decision: last.map_or_else(|| "none yet".to_owned(), decision_in_words),
        error: s.error.as_ref().map_or_else(String::new, |e| {
            format!("in error since {}: {}", clock_time(e.since), e.message)
        }),
    }
}

/// `14:03:07 UTC scale web 2 → 4 (service p95 900 ms > 250 ms)`: what was done or held, in
/// the words the log uses; the journal's reason text if the record is not a decision we know.
pub fn decision_in_words(d: &DecisionRecord) -> String {
    match serde_json::from_value::<policy::Decision>(d.decision.clone()) {
        Ok(decision) => format!("{} {decision}", clock_time(d.at)),
        Err(_) => format!("{} {} ({})", clock_time(d.at), d.reason, d.kind),
    }
}

fn ratio(t: &TypeSummary) -> f64 {
    match t.watched_p95() {
        (Some(p), Some(target)) if target > 0.0 => p / target,
        _ => 0.0,
    }
}

pub struct TypeRow {
    pub name: String,
    pub dynos: String,
    pub quantity: u32,
    pub size: String,
    pub cost_hour: String,
    pub memory: String,
    pub memory_class: &'static str,
    pub errors: String,
    pub latency: String,
    pub paused: bool,
}

impl From<&TypeSummary> for TypeRow {
    fn from(t: &TypeSummary) -> Self {
        TypeRow {
            name: t.process_type.clone(),
            dynos: match t.quantity {
                Some(q) => format!("{} up of {q}", t.dynos_up),
                None => format!("{} up", t.dynos_up),
            },
            quantity: t.quantity.unwrap_or(0),
            size: t.size.clone().unwrap_or_else(|| "–".to_owned()),
            cost_hour: dollars(t.dollars_per_hour),
            memory: percent(t.memory_max_pct),
            memory_class: level(t.memory_max_pct, 80.0, 100.0),
            errors: error_rate(t.error_rate_pct),
            latency: {
                let (p95, target) = t.watched_p95();
                format!("{}{}", t.watched_label(), latency(p95, target))
            },
            paused: t.paused_by.is_some(),
        }
    }
}

pub struct DynoRow {
    pub name: String,
    pub state: &'static str,
    pub memory: String,
    pub memory_class: &'static str,
    pub load: String,
    pub errors: usize,
}

impl From<&DynoView> for DynoRow {
    fn from(d: &DynoView) -> Self {
        let pct = d
            .memory_total_mb
            .zip(d.memory_quota_mb)
            .map(|(m, q)| m / q * 100.0);
        DynoRow {
            name: d.name.clone(),
            state: d.lifecycle,
            memory: match (d.memory_total_mb, d.memory_quota_mb) {
                (Some(m), Some(q)) => format!("{m:.0} / {q:.0} MB"),
                (Some(m), None) => format!("{m:.0} MB"),
                _ => "–".to_owned(),
            },
            memory_class: level(pct, 80.0, 100.0),
            load: d
                .load_1m
                .map_or_else(|| "–".to_owned(), |l| format!("{l:.2}")),
            errors: d.errors,
        }
    }
}

pub struct DecisionRow {
    pub id: String,
    pub at: String,
    pub action: String,
    pub reason: String,
    pub status: String,
    pub status_class: &'static str,
    pub outcome: String,
}

impl DecisionRow {
    pub fn new(d: &DecisionRecord, action: Option<&ActionRecord>) -> Self {
        let parsed: Option<policy::Decision> = serde_json::from_value(d.decision.clone()).ok();
        let blocked = parsed
            .as_ref()
            .and_then(|p| p.blocked.first())
            .map(ToString::to_string);
        let (status, status_class) = match (&blocked, d.executed, d.dry_run) {
            (Some(b), _, _) => (format!("held: {b}"), "blocked"),
            (None, true, _) => ("executed".to_owned(), "executed"),
            (None, false, true) => ("dry run".to_owned(), "dry-run"),
            (None, false, false) => ("not executed".to_owned(), "blocked"),
        };
        let outcome = match action {
            Some(a) => a.outcome.status(a.error.as_deref()),
            None if d.executed => "queued".to_owned(),
            None => "–".to_owned(),
        };
        DecisionRow {
            id: d.id.clone(),
            at: date_time(d.at),
            action: parsed.map_or_else(|| d.kind.clone(), |p| p.action.to_string()),
            reason: d.reason.clone(),
            status,
            status_class,
            outcome,
        }
    }
}

pub struct Bound {
    pub name: String,
    pub text: String,
}

/// Configured min/max per process type against the current quantity.
pub fn bounds(config: &policy::Config, types: &[TypeSummary]) -> Vec<Bound> {
    types
        .iter()
        .filter_map(|t| {
            let c = config.process_types.get(&t.process_type)?;
            let now = t.quantity.map_or_else(|| "?".to_owned(), |q| q.to_string());
            let text = match (c.min, c.max) {
                (_, Some(max)) => format!(
                    "{now} of at most {max} ({} headroom)",
                    max.saturating_sub(t.quantity.unwrap_or(0))
                ),
                (Some(min), None) => format!("{now}, at least {min}, no maximum"),
                (None, None) => format!("{now}, no bounds"),
            };
            Some(Bound {
                name: t.process_type.clone(),
                text,
            })
        })
        .collect()
}

/// One status check on the app page: its state and why, the last values, and the states of
/// its recent runs, oldest first.
pub struct CheckRow {
    pub name: String,
    pub kind: &'static str,
    pub state: &'static str,
    pub detail: String,
    pub values: String,
    pub history: Vec<&'static str>,
}

impl CheckRow {
    pub fn new(name: &str, check: &dynopilot_core::policy::CheckStatus) -> Self {
        let latest = check.latest.as_ref();
        CheckRow {
            name: name.to_owned(),
            kind: check.kind.as_str(),
            state: latest.map_or("not run yet", |s| s.state.as_str()),
            detail: latest.map_or_else(String::new, |s| s.detail.clone()),
            values: latest.map_or_else(String::new, |s| {
                s.values
                    .iter()
                    .map(|(k, v)| format!("{k} {v:.0}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
            history: check.history.iter().map(|s| s.state.as_str()).collect(),
        }
    }
}
