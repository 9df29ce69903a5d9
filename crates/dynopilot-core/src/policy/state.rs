//! What the policies see: observed state of one app (per process type and per dyno, with
//! bounded recent history), and `PolicyState`, the policies' own memory (cooldowns, restart
//! log, counters, overrides) that the store persists so a restart of dynopilot forgets nothing.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::sketch::LatencySketch;
use crate::time::Timestamp;

pub use super::error_log::ErrorLog;

/// A bounded buffer that keeps the newest `capacity` items, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Ring<T> {
    items: VecDeque<T>,
    capacity: usize,
}

impl<T> Ring<T> {
    pub fn new(capacity: usize) -> Self {
        Ring {
            items: VecDeque::with_capacity(capacity.min(64)),
            capacity: capacity.max(1),
        }
    }

    pub fn push(&mut self, item: T) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }

    pub fn last(&self) -> Option<&T> {
        self.items.back()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Enough for 30 minutes of 20 s samples.
pub const DEFAULT_SAMPLES: usize = 90;

/// Observed state of one app, as the fleet state last saw it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedState {
    pub process_types: BTreeMap<String, ProcessTypeState>,
    pub releases: Vec<Release>,
    /// Platform API calls of ours that failed, as reported by the executor.
    pub api_failures: Vec<ApiFailure>,
    /// Where this app's log lines come from and since when dynopilot has been hearing them.
    pub log_source: LogSourceState,
    /// When dynopilot started watching this app: releases created before are history, not a
    /// deploy to react to (`None`: every release counts).
    pub watching_since: Option<Timestamp>,
    /// Status checks of the app's dependencies (web endpoint, Redis, Postgres) by name.
    pub checks: BTreeMap<String, super::status_checks::CheckStatus>,
    /// Process types whose job queue dynopilot reads from the job backend itself
    /// (`[[apps.queues]]`) or hears from an agent in the app (Judoscale, HireFire): their
    /// queue autoscaler needs no log source.
    pub queue_readers: std::collections::BTreeSet<String>,
    /// Process types whose request queue time an agent in the app reports (Judoscale,
    /// HireFire): their queue-time autoscaler needs no log source.
    pub agent_queue_time: std::collections::BTreeSet<String>,
}

impl ObservedState {
    pub fn dyno(&self, name: &str) -> Option<&DynoState> {
        let ty = crate::names::split_dyno_name(name).map_or(name, |(ty, _)| ty);
        self.process_types.get(ty)?.dynos.get(name)
    }

    pub fn latest_release(&self) -> Option<&Release> {
        self.releases.iter().max_by_key(|r| r.at)
    }

    /// The newest release created while dynopilot was watching, if any.
    pub fn latest_watched_release(&self) -> Option<&Release> {
        self.releases
            .iter()
            .filter(|r| self.watching_since.is_none_or(|since| r.at >= since))
            .max_by_key(|r| r.at)
    }
}

/// Whether a signal is available: known on or off, or not (yet) known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Availability {
    Known(bool),
    #[default]
    Unknown,
}

/// What dynopilot has heard of one app's log source. Silence is only meaningful over time
/// dynopilot itself was listening: before that, no line proves nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSourceState {
    /// When dynopilot began listening to the app's logs; `None`: the app has no log source.
    pub listening_since: Option<Timestamp>,
    /// The last time the source reconnected (lines of the gap before it may be lost).
    pub last_reconnect: Option<Timestamp>,
    /// The first line the source delivered after `listening_since`: proof that it works.
    pub first_line_at: Option<Timestamp>,
    /// The newest line the source delivered (reception time). A dyno is silent only while the
    /// source delivers other lines: when the whole source goes quiet, that is the source's
    /// outage, not every dyno's. `None`: not tracked, silence runs up to now.
    pub last_line_at: Option<Timestamp>,
    /// Whether `log-runtime-metrics` is on for the app (memory and load samples).
    pub runtime_metrics: Availability,
    /// Since when the source has been broken and is being reconnected (a log session whose
    /// stream failed); `None` while it works. Blind while set: no line can arrive.
    pub disconnected_since: Option<Timestamp>,
}

impl Default for LogSourceState {
    /// A source heard from the beginning of time, with runtime metrics of unknown state: what
    /// core tests and offline analysis assume. The daemon always sets the real state.
    fn default() -> Self {
        LogSourceState {
            listening_since: Some(Timestamp::EPOCH),
            last_reconnect: None,
            first_line_at: Some(Timestamp::EPOCH),
            last_line_at: None,
            runtime_metrics: Availability::Unknown,
            disconnected_since: None,
        }
    }
}

impl LogSourceState {
    /// An app without a log source: every policy that needs log lines is blind.
    pub fn none() -> Self {
        LogSourceState {
            listening_since: None,
            last_reconnect: None,
            first_line_at: None,
            last_line_at: None,
            runtime_metrics: Availability::Unknown,
            disconnected_since: None,
        }
    }

    /// A source dynopilot started listening to at `at`, with no line heard yet.
    pub fn listening(at: Timestamp) -> Self {
        LogSourceState {
            listening_since: Some(at),
            ..LogSourceState::none()
        }
    }

    /// The start of dynopilot's own uninterrupted observation: the later of starting to
    /// listen and the last reconnect. `None` when there is no log source.
    pub fn observed_since(&self) -> Option<Timestamp> {
        let start = self.listening_since?;
        Some(self.last_reconnect.map_or(start, |r| r.max(start)))
    }

    /// True once the source delivered at least one line since dynopilot began listening.
    pub fn delivering(&self) -> bool {
        matches!(
            (self.listening_since, self.first_line_at),
            (Some(start), Some(first)) if first >= start
        )
    }

    /// Records that a line arrived at `now` (reception time, not the line's own timestamp).
    pub fn heard(&mut self, now: Timestamp) {
        if self.listening_since.is_some() && self.first_line_at.is_none() {
            self.first_line_at = Some(now);
        }
        self.last_line_at = Some(self.last_line_at.map_or(now, |t| t.max(now)));
    }

    /// Up to when silence can be told apart from a quiet source: the newest line heard, or
    /// `now` when lines are not tracked.
    pub fn heard_until(&self, now: Timestamp) -> Timestamp {
        self.last_line_at.map_or(now, |t| t.min(now))
    }

    /// False only when `log-runtime-metrics` is known to be off.
    pub fn runtime_metrics_possible(&self) -> bool {
        self.runtime_metrics != Availability::Known(false)
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessTypeState {
    pub formation: Option<Formation>,
    pub dynos: BTreeMap<String, DynoState>,
    /// Router aggregates, one per closed window, oldest first.
    pub router: Vec<RouterWindow>,
    /// Errors not attributable to one dyno (router H codes without `dyno=`).
    pub errors: ErrorLog,
    pub queue: Vec<QueueSample>,
    pub probes: Vec<ProbeResult>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Formation {
    pub quantity: u32,
    pub size: String,
    /// When Heroku last reported a change of quantity or size.
    pub updated_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DynoLifecycle {
    Starting,
    Up,
    Crashed,
    Down,
    Idle,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DynoState {
    /// The `dyno=` uuid of the current run; samples of other runs are ignored.
    pub instance_id: Option<String>,
    pub lifecycle: DynoLifecycle,
    pub since: Timestamp,
    pub memory: Ring<MemorySample>,
    pub load: Ring<LoadSample>,
    pub last_metrics_at: Option<Timestamp>,
    /// R and H errors attributed to this dyno, oldest first.
    pub errors: ErrorLog,
    /// Restart-counter increments reported by the app, oldest first.
    pub counter_events: Vec<Timestamp>,
}

impl DynoState {
    pub fn new(instance_id: Option<String>, lifecycle: DynoLifecycle, since: Timestamp) -> Self {
        DynoState {
            instance_id,
            lifecycle,
            since,
            memory: Ring::new(DEFAULT_SAMPLES),
            load: Ring::new(DEFAULT_SAMPLES),
            last_metrics_at: None,
            errors: ErrorLog::new(),
            counter_events: Vec::new(),
        }
    }

    /// Memory samples of the current run only (preboot overlaps reuse the dyno name).
    pub fn current_memory(&self) -> impl DoubleEndedIterator<Item = &MemorySample> {
        self.memory
            .iter()
            .filter(|s| s.instance_id == self.instance_id)
    }

    pub fn record_memory(&mut self, sample: MemorySample) {
        if sample.instance_id == self.instance_id {
            self.last_metrics_at =
                Some(self.last_metrics_at.map_or(sample.at, |t| t.max(sample.at)));
        }
        self.memory.push(sample);
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct MemorySample {
    pub at: Timestamp,
    pub instance_id: Option<String>,
    pub total_mb: f64,
    pub rss_mb: f64,
    pub swap_mb: f64,
    /// `memory_quota` when the line carries it; otherwise the size table's quota is used.
    pub quota_mb: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LoadSample {
    pub at: Timestamp,
    pub load_avg_1m: f64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorOccurrence {
    pub at: Timestamp,
    /// `R14`, `H12`, …
    pub code: String,
}

/// Router lines of one process type aggregated over `[start, end)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RouterWindow {
    pub start: Timestamp,
    pub end: Timestamp,
    pub count: u64,
    pub status_2xx: u64,
    pub status_3xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    pub service_ms: LatencySketch,
    pub queue_ms: LatencySketch,
    /// Router `connect=` times: slow connects point at the router or a saturated dyno's
    /// accept backlog rather than at the app's own code.
    pub connect_ms: LatencySketch,
}

impl RouterWindow {
    pub fn status_class(&self, class: u8) -> u64 {
        match class {
            2 => self.status_2xx,
            3 => self.status_3xx,
            4 => self.status_4xx,
            5 => self.status_5xx,
            _ => 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct QueueSample {
    pub at: Timestamp,
    pub depth: u64,
    pub latency_ms: Option<f64>,
    /// Jobs being worked on right now, when the queue backend tells.
    pub busy: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProbeResult {
    pub at: Timestamp,
    pub name: String,
    pub ok: bool,
    pub latency_ms: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub at: Timestamp,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiFailure {
    pub at: Timestamp,
    pub operation: String,
    pub message: String,
}

/// The policies' own persisted memory. Everything is keyed by name in `BTreeMap`s so that
/// iteration, serialization and therefore evaluation are deterministic.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyState {
    /// Every restart decided (executed or dry-run), newest last; pruned to what budgets and
    /// escalation can still look at.
    pub restarts: Vec<RestartRecord>,
    /// Last restart decided per dyno name (survives pruning of `restarts`).
    #[serde(with = "super::serde_ts::map")]
    pub last_restart: BTreeMap<String, Timestamp>,
    /// Cooldown expiries by key (`rule:<name>:<target>`, `notify:<topic>`, …).
    #[serde(with = "super::serde_ts::map")]
    pub cooldowns: BTreeMap<String, Timestamp>,
    /// Per dyno: restart-counter increments at or before this time no longer count.
    #[serde(with = "super::serde_ts::map")]
    pub counter_reset: BTreeMap<String, Timestamp>,
    /// What dynopilot last set per process type, to tell its own changes from manual ones.
    pub formations: BTreeMap<String, SetFormation>,
    /// Manual-change overrides: process type → expiry.
    #[serde(with = "super::serde_ts::map")]
    pub overrides: BTreeMap<String, Timestamp>,
    /// Size before the first escalation upsize per process type, for a later revert.
    pub original_sizes: BTreeMap<String, String>,
    /// Newest API failure already notified.
    #[serde(with = "super::serde_ts::option")]
    pub api_failures_seen: Option<Timestamp>,
    /// Consecutive evaluations per key (e.g. capped at max while breaching).
    pub streaks: BTreeMap<String, u32>,
    /// When each process type's quantity last went up / down (ours or manual).
    #[serde(with = "super::serde_ts::map")]
    pub scaled_up_at: BTreeMap<String, Timestamp>,
    #[serde(with = "super::serde_ts::map")]
    pub scaled_down_at: BTreeMap<String, Timestamp>,
    /// The horizontal algorithm's own state per process type.
    pub autoscale: BTreeMap<String, crate::scaling::AlgoState>,
    /// The vertical scaler's state per process type.
    pub vertical: BTreeMap<String, crate::scaling::VerticalState>,
    /// Formation changes (scale or resize) decided, newest last; pruned after an hour, for
    /// the formation-change budget.
    pub formation_changes: Vec<FormationChange>,
    /// Last state seen per status check, so a transition alerts once.
    pub check_states: BTreeMap<String, super::status_checks::CheckState>,
    /// Last success seen per heartbeat probe, so failing and recovery alert once.
    pub probe_ok: BTreeMap<String, bool>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormationChange {
    #[serde(with = "super::serde_ts")]
    pub at: Timestamp,
    pub process_type: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartRecord {
    #[serde(with = "super::serde_ts")]
    pub at: Timestamp,
    /// Dyno name, process type, or `*` for the whole app.
    pub target: String,
    pub policy: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetFormation {
    #[serde(with = "super::serde_ts")]
    pub at: Timestamp,
    pub quantity: u32,
    pub size: String,
}

impl PolicyState {
    pub fn cooldown_until(&self, key: &str) -> Option<Timestamp> {
        self.cooldowns.get(key).copied()
    }

    pub fn in_cooldown(&self, key: &str, now: Timestamp) -> bool {
        self.cooldown_until(key).is_some_and(|until| now < until)
    }

    pub fn restarts_since(&self, since: Timestamp) -> usize {
        self.restarts.iter().filter(|r| r.at > since).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_newest_items() {
        let mut ring = Ring::new(3);
        for i in 0..5 {
            ring.push(i);
        }
        assert_eq!(ring.iter().copied().collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(ring.last(), Some(&4));
    }

    #[test]
    fn samples_of_an_old_run_are_not_current() {
        let mut dyno = DynoState::new(Some("new".into()), DynoLifecycle::Up, Timestamp::EPOCH);
        let sample = |id: &str, at| MemorySample {
            at: Timestamp::from_secs(at),
            instance_id: Some(id.into()),
            total_mb: 100.0,
            rss_mb: 100.0,
            swap_mb: 0.0,
            quota_mb: None,
        };
        dyno.record_memory(sample("old", 30));
        dyno.record_memory(sample("new", 20));
        assert_eq!(dyno.current_memory().count(), 1);
        assert_eq!(dyno.last_metrics_at, Some(Timestamp::from_secs(20)));
    }

    #[test]
    fn policy_state_round_trips_through_serde() {
        let mut state = PolicyState::default();
        state
            .cooldowns
            .insert("rule:r:web".into(), Timestamp::from_secs(9));
        state.restarts.push(RestartRecord {
            at: Timestamp::from_secs(1),
            target: "web.1".into(),
            policy: "memory guard".into(),
        });
        let json = serde_json::to_string(&state).unwrap();
        assert!(json.contains(r#""rule:r:web":9000"#), "{json}");
        let back: PolicyState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, state);
    }
}
