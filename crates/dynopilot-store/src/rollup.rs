//! `Rollup`: router traffic of one process type over one minute, and how rollups merge — when
//! the same minute is written twice (upsert) and when minutes are combined into coarser steps.

use std::collections::BTreeMap;
use std::time::Duration;

use dynopilot_core::{LatencySketch, Timestamp};

use crate::TimeRange;
use crate::error::StoreError;

pub const MINUTE_MS: i64 = 60_000;

/// Request counts, status classes, latency sketches and error codes for one
/// (app, process type, minute). In step queries `minute` is the start of the step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rollup {
    pub app: String,
    pub process_type: String,
    pub minute: Timestamp,
    pub requests: u64,
    /// Responses by status class: index 0 is 1xx, 4 is 5xx.
    pub status: [u64; 5],
    /// Router `service=` times in ms.
    pub service: LatencySketch,
    /// Router `connect=` times in ms.
    pub connect: LatencySketch,
    /// Request queue time in ms as the app reports it (router lines carry none); empty when
    /// the app sends no queue-time metric.
    pub queue: LatencySketch,
    /// Heroku error codes (`H12`, `R14`, …) and how often they appeared.
    pub errors: BTreeMap<String, u64>,
}

impl Rollup {
    /// An empty rollup for the minute containing `at`.
    pub fn new(app: &str, process_type: &str, at: Timestamp) -> Self {
        Rollup {
            app: app.to_owned(),
            process_type: process_type.to_owned(),
            minute: align_down(at, MINUTE_MS),
            ..Rollup::default()
        }
    }

    /// Counts one routed request with its status and timings.
    pub fn record_request(&mut self, status: u16, service_ms: f64, connect_ms: f64) {
        self.requests += 1;
        if let Some(class) = status_class(status) {
            self.status[class] += 1;
        }
        self.service.add(service_ms);
        self.connect.add(connect_ms);
    }

    pub fn record_error(&mut self, code: &str) {
        *self.errors.entry(code.to_owned()).or_default() += 1;
    }

    /// Adds `other`'s counts and merges its sketches; keys are left as they are.
    pub fn merge(&mut self, other: &Rollup) {
        self.requests = self.requests.saturating_add(other.requests);
        for (mine, theirs) in self.status.iter_mut().zip(other.status) {
            *mine = mine.saturating_add(theirs);
        }
        self.service.merge(&other.service);
        self.connect.merge(&other.connect);
        self.queue.merge(&other.queue);
        for (code, n) in &other.errors {
            let entry = self.errors.entry(code.clone()).or_default();
            *entry = entry.saturating_add(*n);
        }
    }

    pub(crate) fn errors_json(&self) -> String {
        // A map of strings to integers always serializes.
        serde_json::to_string(&self.errors).unwrap_or_else(|_| "{}".to_owned())
    }

    pub(crate) fn parse_errors(json: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        serde_json::from_str(json).map_err(|e| StoreError::corrupt("rollups", e))
    }

    pub(crate) fn parse_sketch(bytes: &[u8]) -> Result<LatencySketch, StoreError> {
        LatencySketch::from_bytes(bytes).map_err(|e| StoreError::corrupt("rollups", e))
    }

    /// The queue sketch's column value: NULL when empty, since most apps report no queue
    /// time and an empty sketch would still cost bytes on every row.
    pub(crate) fn queue_bytes(&self) -> Option<Vec<u8>> {
        (!self.queue.is_empty()).then(|| self.queue.to_bytes())
    }
}

/// 0 for 1xx … 4 for 5xx; `None` for anything outside 100–599.
fn status_class(status: u16) -> Option<usize> {
    (100..600)
        .contains(&status)
        .then(|| usize::from(status / 100 - 1))
}

/// The start of the `step_ms` bucket containing `t`, buckets aligned to the epoch.
pub fn align_down(t: Timestamp, step_ms: i64) -> Timestamp {
    Timestamp::from_millis(t.as_millis().div_euclid(step_ms) * step_ms)
}

/// Rows with the same (app, process type, minute) merged into one, sorted by key. The store
/// uses this before an upsert so one batch touches each row once, in a fixed (deadlock-free)
/// order.
pub(crate) fn coalesce(rollups: &[Rollup]) -> Vec<Rollup> {
    merge_by_step(rollups.iter().cloned(), MINUTE_MS)
}

/// Rollups combined into `step_ms` buckets per (app, process type), sorted by key, each
/// bucket's `minute` being its start.
pub fn merge_by_step(rollups: impl IntoIterator<Item = Rollup>, step_ms: i64) -> Vec<Rollup> {
    let mut merged: BTreeMap<(String, String, Timestamp), Rollup> = BTreeMap::new();
    for mut r in rollups {
        r.minute = align_down(r.minute, step_ms);
        let key = (r.app.clone(), r.process_type.clone(), r.minute);
        match merged.get_mut(&key) {
            Some(existing) => existing.merge(&r),
            None => {
                merged.insert(key, r);
            }
        }
    }
    merged.into_values().collect()
}

pub const HOUR_MS: i64 = 3_600_000;

/// Which rollup table: per minute, or the same traffic merged per hour for long ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tier {
    Minute,
    Hour,
}

impl Tier {
    pub(crate) fn table(self) -> &'static str {
        match self {
            Tier::Minute => "rollups",
            Tier::Hour => "rollups_hourly",
        }
    }
}

/// Whether a query can be answered from hourly rows: whole-hour steps over a range that starts
/// and ends on the hour (so no hourly row straddles an edge).
pub(crate) fn hourly_fits(step_ms: i64, range: TimeRange) -> bool {
    step_ms % HOUR_MS == 0
        && range.start.as_millis() % HOUR_MS == 0
        && range.end.as_millis() % HOUR_MS == 0
}

/// Validates a query step: at least a minute and a whole number of minutes.
pub(crate) fn step_millis(step: Duration) -> Result<i64, StoreError> {
    let ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
    if ms < MINUTE_MS || ms % MINUTE_MS != 0 {
        return Err(StoreError::Invalid(format!(
            "rollup step must be a whole number of minutes, at least one (got {step:?})"
        )));
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollup(minute_ms: i64, status: u16, service: f64) -> Rollup {
        let mut r = Rollup::new("app", "web", Timestamp::from_millis(minute_ms));
        r.record_request(status, service, 1.0);
        r
    }

    #[test]
    fn merge_adds_counts_and_error_codes() {
        let mut a = rollup(0, 200, 10.0);
        a.record_error("H12");
        let mut b = rollup(0, 503, 30.0);
        b.record_error("H12");
        b.record_error("H13");
        a.merge(&b);
        assert_eq!(a.requests, 2);
        assert_eq!(a.status, [0, 1, 0, 0, 1]);
        assert_eq!(a.errors.get("H12"), Some(&2));
        assert_eq!(a.errors.get("H13"), Some(&1));
        assert_eq!(a.service.count(), 2);
    }

    #[test]
    fn merge_combines_queue_time_and_keeps_an_empty_one_empty() {
        let mut a = rollup(0, 200, 10.0);
        assert_eq!(a.queue_bytes(), None);
        a.queue.add(5.0);
        let mut b = rollup(0, 200, 10.0);
        b.queue.add(500.0);
        a.merge(&b);
        assert_eq!(a.queue.count(), 2);
        assert_eq!(a.queue.max(), Some(500.0));
        assert!(a.queue_bytes().is_some());
    }

    #[test]
    fn statuses_outside_http_ranges_count_as_requests_only() {
        let r = rollup(0, 999, 1.0);
        assert_eq!(r.requests, 1);
        assert_eq!(r.status, [0; 5]);
    }

    #[test]
    fn step_buckets_align_to_the_epoch_and_keep_types_apart() {
        let mut rows: Vec<Rollup> = (0..10)
            .map(|m| rollup(m * MINUTE_MS + 5, 200, 1.0))
            .collect();
        rows.push(Rollup {
            process_type: "worker".into(),
            ..rollup(MINUTE_MS, 200, 1.0)
        });
        let merged = merge_by_step(rows, 5 * MINUTE_MS);
        let summary: Vec<(&str, i64, u64)> = merged
            .iter()
            .map(|r| (r.process_type.as_str(), r.minute.as_millis(), r.requests))
            .collect();
        assert_eq!(
            summary,
            vec![("web", 0, 5), ("web", 5 * MINUTE_MS, 5), ("worker", 0, 1)]
        );
    }

    #[test]
    fn steps_must_be_whole_minutes() {
        assert!(step_millis(Duration::from_secs(30)).is_err());
        assert!(step_millis(Duration::from_secs(90)).is_err());
        assert_eq!(step_millis(Duration::from_secs(300)).ok(), Some(300_000));
    }
}
