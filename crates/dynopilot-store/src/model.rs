//! The rows the store keeps, as plain Rust values: samples, decisions, actions, events, policy
//! state, the time ranges queries take and the `Batch` that ingest writes in one transaction.

use std::time::Duration;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::decision::Decision;
use serde_json::Value;

use crate::rollup::Rollup;

/// A half-open time range `[start, end)`: `start` is included, `end` is not, so consecutive
/// ranges never count a row twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl TimeRange {
    pub fn new(start: Timestamp, end: Timestamp) -> Self {
        TimeRange { start, end }
    }

    /// The `d` leading up to (and excluding) `end`.
    pub fn last(d: Duration, end: Timestamp) -> Self {
        TimeRange {
            start: end.minus(d),
            end,
        }
    }

    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }
}

/// One runtime-metrics reading of one dyno (Heroku's `sample#memory_total=…` lines).
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub app: String,
    /// `web.1` or a Fir name; the process type is derived from it.
    pub dyno: String,
    /// Heroku's dyno id (`dyno=heroku.1234.abcd…`), which changes on every restart.
    pub instance_id: Option<String>,
    pub at: Timestamp,
    pub memory_total_mb: Option<f64>,
    pub memory_rss_mb: Option<f64>,
    pub memory_swap_mb: Option<f64>,
    pub memory_quota_mb: Option<f64>,
    pub load_1m: Option<f64>,
    /// Zero for a raw sample; the window length for a downsampled row starting at `at`.
    pub span: Duration,
    /// How many raw samples this row stands for (1 for a raw sample).
    pub count: u32,
}

impl Sample {
    /// A raw sample with no measurements yet; fill in the fields that the log line carried.
    pub fn new(app: &str, dyno: &str, at: Timestamp) -> Self {
        Sample {
            app: app.to_owned(),
            dyno: dyno.to_owned(),
            instance_id: None,
            at,
            memory_total_mb: None,
            memory_rss_mb: None,
            memory_swap_mb: None,
            memory_quota_mb: None,
            load_1m: None,
            span: Duration::ZERO,
            count: 1,
        }
    }

    /// `web` for `web.1` and `web-848cd4f64d-pvpr2`; the whole name when it is not a dyno name.
    pub fn process_type(&self) -> &str {
        dynopilot_core::names::split_dyno_name(&self.dyno).map_or(self.dyno.as_str(), |(t, _)| t)
    }
}

/// The highest memory of one dyno within one bucket of a chart: what the memory chart draws,
/// computed by the database so that a day of 20 s samples never crosses the connection row by
/// row.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryPeak {
    pub dyno: String,
    /// The bucket's start.
    pub at: Timestamp,
    pub memory_total_mb: Option<f64>,
    pub memory_quota_mb: Option<f64>,
}

/// `samples` (all at or after `start`) reduced to their peaks per dyno and `step` bucket from
/// `start`, ordered like `Store::memory_peaks`.
pub(crate) fn memory_peaks(
    samples: &[Sample],
    start: Timestamp,
    step: Duration,
) -> Vec<MemoryPeak> {
    let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX).max(1);
    let mut peaks: std::collections::BTreeMap<(i64, &str), MemoryPeak> = Default::default();
    let max = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    for s in samples {
        let bucket = (s.at.as_millis() - start.as_millis()).div_euclid(step_ms);
        let peak = peaks
            .entry((bucket, &s.dyno))
            .or_insert_with(|| MemoryPeak {
                dyno: s.dyno.clone(),
                at: Timestamp::from_millis(start.as_millis() + bucket * step_ms),
                memory_total_mb: None,
                memory_quota_mb: None,
            });
        peak.memory_total_mb = max(peak.memory_total_mb, s.memory_total_mb);
        peak.memory_quota_mb = max(peak.memory_quota_mb, s.memory_quota_mb);
    }
    peaks.into_values().collect()
}

/// Which dynos a sample query covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SampleFilter {
    Dyno(String),
    ProcessType(String),
    AllDynos,
}

/// A decision as the journal keeps it. The full decision is JSON so that the store does not
/// depend on the Rust shape of `dynopilot_core::policy::Decision`.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionRecord {
    /// Deterministic: the same inputs give the same id, so inserting twice is harmless.
    pub id: String,
    pub app: String,
    pub at: Timestamp,
    /// The action's type tag (`scale_formation`, `restart_dyno`, …).
    pub kind: String,
    pub executed: bool,
    pub dry_run: bool,
    /// Human-readable reason, as the dashboard shows it.
    pub reason: String,
    pub decision: Value,
}

impl DecisionRecord {
    /// The journal row for a core decision.
    pub fn from_decision(decision: &Decision) -> Result<Self, serde_json::Error> {
        let json = serde_json::to_value(decision)?;
        let kind = action_kind(&json).to_owned();
        Ok(DecisionRecord {
            id: decision.id.clone(),
            app: decision.app.clone(),
            at: decision.at,
            kind,
            executed: decision.executed,
            dry_run: decision.dry_run,
            reason: decision.reason.to_string(),
            decision: json,
        })
    }
}

/// The action's serde type tag, read from the JSON so new action kinds need no change here.
fn action_kind(json: &Value) -> &str {
    json.get("action")
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("unknown")
}

/// How one attempt at carrying out a decision ended (or that it is under way).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionOutcome {
    /// Recorded before the Heroku call, so a crash mid-call is visible after restart.
    Started,
    Ok,
    /// Heroku's answer proves nothing changed.
    Failed,
    Skipped,
    /// The request left but no answer came (5xx, timeout, reset) and Heroku's state could not
    /// tell: reconciliation decides at the next start.
    Unknown,
    /// Not carried out and never will be (too old when found unfinished); `error` says why.
    Abandoned,
}

impl ActionOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionOutcome::Started => "started",
            ActionOutcome::Ok => "ok",
            ActionOutcome::Failed => "failed",
            ActionOutcome::Skipped => "skipped",
            ActionOutcome::Unknown => "unknown",
            ActionOutcome::Abandoned => "abandoned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "started" => ActionOutcome::Started,
            "ok" => ActionOutcome::Ok,
            "failed" => ActionOutcome::Failed,
            "skipped" => ActionOutcome::Skipped,
            "unknown" => ActionOutcome::Unknown,
            "abandoned" => ActionOutcome::Abandoned,
            _ => return None,
        })
    }

    /// Ok, skipped and abandoned are final: the executor must never carry the decision out
    /// again.
    pub fn is_complete(self) -> bool {
        matches!(
            self,
            ActionOutcome::Ok | ActionOutcome::Skipped | ActionOutcome::Abandoned
        )
    }

    /// Started and unknown: the attempt has no outcome yet, so whether Heroku acted is open.
    pub fn is_open(self) -> bool {
        matches!(self, ActionOutcome::Started | ActionOutcome::Unknown)
    }

    /// How the dashboard and the control API word it: `sent`, `done`, `failed: …` (a decision
    /// with no attempt yet is `queued`).
    pub fn status(self, error: Option<&str>) -> String {
        let why = error.unwrap_or("no reason recorded");
        match self {
            ActionOutcome::Started => "sent".to_owned(),
            ActionOutcome::Ok => match error {
                Some(note) => format!("done ({note})"),
                None => "done".to_owned(),
            },
            ActionOutcome::Failed => format!("failed: {why}"),
            ActionOutcome::Skipped => format!("skipped: {why}"),
            ActionOutcome::Unknown => format!("sent, answer lost: {why}"),
            ActionOutcome::Abandoned => format!("abandoned: {why}"),
        }
    }
}

/// One attempt at a decision; `(decision_id, attempt)` is unique and re-recording updates it.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionRecord {
    pub decision_id: String,
    pub attempt: u32,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub outcome: ActionOutcome,
    /// Why it failed, was skipped or abandoned, or how an ok was established
    /// ("reconciled after restart").
    pub error: Option<String>,
}

/// A journaled decision whose last attempt has no outcome (`started` or `unknown`), or whose
/// outcome is a word this version does not know.
#[derive(Clone, Debug, PartialEq)]
pub struct UnfinishedAction {
    pub decision: DecisionRecord,
    pub attempt: u32,
    pub started_at: Timestamp,
    /// The outcome text as journaled; see [`UnfinishedAction::known_outcome`].
    pub outcome: String,
}

impl UnfinishedAction {
    /// `None` for an outcome word this version does not know: such a row is reported, never
    /// acted on.
    pub fn known_outcome(&self) -> Option<ActionOutcome> {
        ActionOutcome::parse(&self.outcome)
    }
}

/// Something worth showing on the dashboard timeline (a dyno crashed, a release, a warning).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub app: String,
    pub at: Timestamp,
    pub kind: String,
    pub message: String,
    pub detail: Value,
}

/// The policy engine's state for one app (cooldowns, counters, streaks) as JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyStateRecord {
    pub app: String,
    pub updated_at: Timestamp,
    pub state: Value,
}

/// What ingest hands to the store in one transaction.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    pub samples: Vec<Sample>,
    pub rollups: Vec<Rollup>,
    pub events: Vec<Event>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.samples.len() + self.rollups.len() + self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `other`, keeping order within each kind.
    pub fn append(&mut self, other: Batch) {
        self.samples.extend(other.samples);
        self.rollups.extend(other.rollups);
        self.events.extend(other.events);
    }
}
