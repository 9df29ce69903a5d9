//! Status checks of an app's dependencies (its web endpoint, Redis, Postgres) as the core sees
//! them: their latest state and history, the gate that holds upscales while a dependency is
//! saturated or down, and one alert per state transition of a check or a heartbeat probe.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

use super::config::Severity;
use super::decision::{Action, Reason};
use super::state::{ObservedState, PolicyState, Ring};

/// Samples of history kept per check (the dashboard shows them).
pub const CHECK_HISTORY: usize = 60;

/// Value names the runtime measures (`CheckSample::values` keys).
pub const CONNECTIONS_PCT: &str = "connections_pct";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    Http,
    Redis,
    Postgres,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Http => "http",
            CheckKind::Redis => "redis",
            CheckKind::Postgres => "postgres",
        }
    }

    fn title(self) -> &'static str {
        match self {
            CheckKind::Http => "HTTP",
            CheckKind::Redis => "Redis",
            CheckKind::Postgres => "Postgres",
        }
    }
}

/// A check's verdict against its thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    Ok,
    Degraded,
    Down,
}

impl CheckState {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckState::Ok => "ok",
            CheckState::Degraded => "degraded",
            CheckState::Down => "down",
        }
    }
}

/// One run of a check: the verdict, what was measured (`latency_ms`, `connections_pct`, …)
/// and, when not ok, which threshold or error decided it.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckSample {
    pub at: Timestamp,
    pub state: CheckState,
    pub values: BTreeMap<String, f64>,
    pub detail: String,
}

/// One configured check: its kind, latest run and recent history.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckStatus {
    pub kind: CheckKind,
    pub latest: Option<CheckSample>,
    /// Shared, so the runner's copy of observed state each tick does not copy the history;
    /// recording copies it only while such a copy is alive.
    pub history: Arc<Ring<CheckSample>>,
}

impl CheckStatus {
    pub fn new(kind: CheckKind) -> Self {
        CheckStatus {
            kind,
            latest: None,
            history: Arc::new(Ring::new(CHECK_HISTORY)),
        }
    }

    pub fn record(&mut self, sample: CheckSample) {
        self.latest = Some(sample.clone());
        Arc::make_mut(&mut self.history).push(sample);
    }

    pub fn state(&self) -> Option<CheckState> {
        self.latest.as_ref().map(|s| s.state)
    }
}

/// When dependency checks hold upscales: more dynos would open more connections to a
/// database that is already saturated, or fail against a Redis that is down.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatesConfig {
    /// Process types whose upscales are gated.
    pub process_types: Vec<String>,
    /// Hold while a Postgres check measures at least this % of `max_connections` in use
    /// (`None`: never).
    pub postgres_connections_pct: Option<f64>,
    /// Hold while a Redis check is down.
    pub redis_down: bool,
}

impl Default for GatesConfig {
    fn default() -> Self {
        GatesConfig {
            process_types: vec!["web".to_owned()],
            postgres_connections_pct: Some(90.0),
            redis_down: true,
        }
    }
}

impl GatesConfig {
    /// Why an upscale of `process_type` is held now, if it is: one phrase per dependency.
    pub fn holds(&self, process_type: &str, observed: &ObservedState) -> Vec<String> {
        if !self.process_types.iter().any(|t| t == process_type) {
            return Vec::new();
        }
        let mut why = Vec::new();
        for (name, check) in &observed.checks {
            let Some(latest) = &check.latest else {
                continue;
            };
            match check.kind {
                CheckKind::Postgres => {
                    let used = latest.values.get(CONNECTIONS_PCT).copied();
                    if let (Some(limit), Some(used)) = (self.postgres_connections_pct, used)
                        && used >= limit
                    {
                        why.push(format!(
                            "on Postgres {name}: {used:.0} % of max_connections in use (gate at {limit} %)"
                        ));
                    }
                }
                CheckKind::Redis if self.redis_down && latest.state == CheckState::Down => {
                    why.push(format!("on Redis {name}: down ({})", latest.detail));
                }
                _ => {}
            }
        }
        why
    }
}

pub const CHECK_DEGRADED: &str = "check-degraded";
pub const CHECK_DOWN: &str = "check-down";
pub const CHECK_RECOVERED: &str = "check-recovered";
pub const PROBE_FAILING: &str = "probe-failing";
pub const PROBE_RECOVERED: &str = "probe-recovered";

/// One alert per transition of a check's state or a probe's success, remembered in `state`
/// so a state that lasts raises nothing more. A first run that is ok says nothing; a first
/// run that is not ok is a transition from an assumed healthy start.
pub fn transitions(observed: &ObservedState, state: &mut PolicyState) -> Vec<(Action, Reason)> {
    let mut out = Vec::new();
    for (name, check) in &observed.checks {
        let Some(latest) = &check.latest else {
            continue;
        };
        let before = state
            .check_states
            .insert(name.clone(), latest.state)
            .unwrap_or(CheckState::Ok);
        if before == latest.state {
            continue;
        }
        let what = format!("{} check {name}", check.kind.title());
        let (topic, severity, message) = match latest.state {
            CheckState::Degraded => (
                CHECK_DEGRADED,
                Severity::Warning,
                format!("{what} is degraded: {}", latest.detail),
            ),
            CheckState::Down => (
                CHECK_DOWN,
                Severity::Critical,
                format!("{what} is down: {}", latest.detail),
            ),
            CheckState::Ok => (
                CHECK_RECOVERED,
                Severity::Info,
                format!("{what} recovered (was {})", before.as_str()),
            ),
        };
        out.push(alert(topic, severity, message));
    }
    for (process_type, pt) in &observed.process_types {
        let mut latest: BTreeMap<&str, &super::state::ProbeResult> = BTreeMap::new();
        for p in &pt.probes {
            if latest.get(p.name.as_str()).is_none_or(|l| l.at <= p.at) {
                latest.insert(&p.name, p);
            }
        }
        for (name, p) in latest {
            let before = state.probe_ok.insert(name.to_owned(), p.ok).unwrap_or(true);
            if before == p.ok {
                continue;
            }
            out.push(if p.ok {
                alert(
                    PROBE_RECOVERED,
                    Severity::Info,
                    format!("probe {name} ({process_type}) answers again"),
                )
            } else {
                alert(
                    PROBE_FAILING,
                    Severity::Warning,
                    format!("probe {name} ({process_type}) is failing"),
                )
            });
        }
    }
    out
}

fn alert(topic: &str, severity: Severity, message: String) -> (Action, Reason) {
    (
        Action::Alert {
            topic: topic.to_owned(),
            severity,
            message: message.clone(),
        },
        Reason::Notify { event: message },
    )
}
