//! Time series for the app page's charts, from stored samples, rollups and decisions: every
//! series shares one x axis of `step` buckets over `range` (uPlot's columnar shape), with
//! `null` where nothing was recorded.

use std::collections::BTreeMap;
use std::time::Duration;

use dynopilot_core::Timestamp;
use dynopilot_store::{DecisionRecord, MemoryPeak, Rollup, Store, TimeRange};
use serde::{Deserialize, Serialize};

use super::WebError;

/// At most this many decisions are drawn as markers.
const MAX_MARKERS: u32 = 500;

#[derive(Debug, Default, Deserialize)]
pub struct SeriesQuery {
    /// `1h`, `24h`, `7d`, or any `<n>m|h|d`; default `1h`.
    pub range: Option<String>,
    /// Bucket width, whole minutes (`1m`, `5m`, `1h`); default about 60 buckets, whole hours
    /// for ranges over 60 hours.
    pub step: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Series {
    pub range_seconds: u64,
    pub step_seconds: u64,
    /// Bucket starts, epoch seconds (uPlot's x values).
    pub t: Vec<i64>,
    /// Per process type: requests, latencies and errors.
    pub traffic: BTreeMap<String, Traffic>,
    /// Per process type: how many distinct dynos reported memory in each bucket.
    pub dynos: BTreeMap<String, Vec<Option<u32>>>,
    /// Per dyno: highest memory total (MB) in each bucket.
    pub memory_mb: BTreeMap<String, Vec<Option<f64>>>,
    /// Highest memory quota (MB) seen over the range.
    pub memory_quota_mb: Option<f64>,
    pub decisions: Vec<Marker>,
}

#[derive(Debug, Default, Serialize)]
pub struct Traffic {
    pub requests_per_min: Vec<Option<f64>>,
    pub p95_service_ms: Vec<Option<f64>>,
    pub p95_connect_ms: Vec<Option<f64>>,
    /// App-reported request queue time (l2met `queue_time`); all null when the app sends none.
    pub p95_queue_ms: Vec<Option<f64>>,
    /// The autoscaler's target for `p95_service_ms`, when it scales on service p95.
    pub service_target_ms: Option<f64>,
    /// The autoscaler's target for `p95_queue_ms`, when it scales on queue time p95.
    pub queue_target_ms: Option<f64>,
    /// Error code (`H12`, `R14`, `5xx`, …) → count per bucket.
    pub errors: BTreeMap<String, Vec<Option<u64>>>,
}

/// A decision drawn on the charts.
#[derive(Debug, Serialize)]
pub struct Marker {
    pub t: i64,
    pub id: String,
    pub kind: String,
    pub reason: String,
    pub executed: bool,
    pub dry_run: bool,
    pub blocked: bool,
}

/// Parses `<n>m`, `<n>h` or `<n>d`.
/// A positive whole number of minutes, hours or days: `<n>m`, `<n>h`, `<n>d`, n of 1 to 9
/// digits without sign or leading zero (`docs/openapi.yaml` has the same pattern).
pub fn parse_span(s: &str) -> Option<Duration> {
    // By char: a byte split inside a multi-byte character would panic.
    let unit = s.chars().last()?;
    let (n, unit) = (&s[..s.len() - unit.len_utf8()], unit);
    let digits_ok =
        (1..=9).contains(&n.len()) && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok {
        return None;
    }
    let n: u64 = n.parse().ok()?;
    let secs = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(secs)?))
}

/// Range and step from the query: ranges up to 31 days, steps whole minutes, ≤ 2000 buckets.
pub fn range_and_step(q: &SeriesQuery) -> Result<(Duration, Duration), WebError> {
    let range = match q.range.as_deref() {
        None => Duration::from_secs(3600),
        Some(r) => {
            parse_span(r).ok_or_else(|| WebError::bad_request("range is like 1h, 24h, 7d"))?
        }
    };
    if range > Duration::from_secs(31 * 86_400) {
        return Err(WebError::bad_request("range is at most 31d"));
    }
    let step = match q.step.as_deref() {
        Some(s) => parse_span(s).ok_or_else(|| WebError::bad_request("step is like 1m, 5m, 1h"))?,
        None => default_step(range),
    };
    if range.as_secs() / step.as_secs() > 2000 {
        return Err(WebError::bad_request("too many buckets; use a larger step"));
    }
    Ok((range, step))
}

/// About 60 buckets, in whole minutes; whole hours once a bucket spans an hour or more, so
/// the store answers from its hourly rollups instead of merging thousands of minutes.
fn default_step(range: Duration) -> Duration {
    let minutes = (range.as_secs() / 60).div_ceil(60).max(1);
    if minutes >= 60 {
        Duration::from_secs(minutes.div_ceil(60) * 3600)
    } else {
        Duration::from_secs(minutes * 60)
    }
}

/// Loads and buckets everything the charts show for `app` over `range` ending at `now`.
pub async fn load(
    store: &dyn Store,
    app: &str,
    process_types: &[String],
    range: Duration,
    step: Duration,
    now: Timestamp,
) -> Result<Series, WebError> {
    let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
    let end = dynopilot_store::align_down(now, step_ms).plus(step);
    let span = TimeRange::last(range, end);
    let t: Vec<i64> = (span.start.as_millis()..end.as_millis())
        .step_by(usize::try_from(step_ms).unwrap_or(usize::MAX))
        .map(|ms| ms / 1000)
        .collect();
    let bucket = |at: Timestamp| -> Option<usize> {
        let i = (at.as_millis() - span.start.as_millis()).div_euclid(step_ms);
        usize::try_from(i).ok().filter(|i| *i < t.len())
    };
    let mut traffic = BTreeMap::new();
    for ty in process_types {
        let rollups = store.rollups(app, ty, span, step).await?;
        traffic.insert(ty.clone(), bucket_traffic(&rollups, t.len(), step, &bucket));
    }
    let peaks = store.memory_peaks(app, span, step).await?;
    let (memory_mb, dynos, memory_quota_mb) = bucket_samples(&peaks, t.len(), &bucket);
    let decisions = store.decisions(app, span, MAX_MARKERS).await?;
    Ok(Series {
        range_seconds: range.as_secs(),
        step_seconds: step.as_secs(),
        decisions: decisions.iter().map(marker).collect(),
        t,
        traffic,
        dynos,
        memory_mb,
        memory_quota_mb,
    })
}

fn bucket_traffic(
    rollups: &[Rollup],
    n: usize,
    step: Duration,
    bucket: &impl Fn(Timestamp) -> Option<usize>,
) -> Traffic {
    let minutes = step.as_secs_f64() / 60.0;
    let mut out = Traffic {
        requests_per_min: vec![None; n],
        p95_service_ms: vec![None; n],
        p95_connect_ms: vec![None; n],
        p95_queue_ms: vec![None; n],
        errors: BTreeMap::new(),
        ..Traffic::default()
    };
    for r in rollups {
        let Some(i) = bucket(r.minute) else { continue };
        out.requests_per_min[i] = Some(r.requests as f64 / minutes);
        out.p95_service_ms[i] = r.service.quantile(0.95);
        out.p95_connect_ms[i] = r.connect.quantile(0.95);
        out.p95_queue_ms[i] = r.queue.quantile(0.95);
        let mut add = |code: &str, count: u64| {
            let column = out
                .errors
                .entry(code.to_owned())
                .or_insert_with(|| vec![None; n]);
            column[i] = Some(column[i].unwrap_or(0) + count);
        };
        if r.status[4] > 0 {
            add("5xx", r.status[4]);
        }
        for (code, count) in &r.errors {
            add(code, *count);
        }
    }
    out
}

type MemoryColumns = (
    BTreeMap<String, Vec<Option<f64>>>,
    BTreeMap<String, Vec<Option<u32>>>,
    Option<f64>,
);

fn bucket_samples(
    samples: &[MemoryPeak],
    n: usize,
    bucket: &impl Fn(Timestamp) -> Option<usize>,
) -> MemoryColumns {
    let mut memory: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
    let mut quota: Option<f64> = None;
    for s in samples {
        let (Some(i), Some(total)) = (bucket(s.at), s.memory_total_mb) else {
            continue;
        };
        let column = memory
            .entry(s.dyno.clone())
            .or_insert_with(|| vec![None; n]);
        column[i] = Some(column[i].map_or(total, |m: f64| m.max(total)));
        quota = match (quota, s.memory_quota_mb) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    let mut dynos: BTreeMap<String, Vec<Option<u32>>> = BTreeMap::new();
    for (dyno, column) in &memory {
        let ty = dynopilot_core::names::split_dyno_name(dyno).map_or(dyno.as_str(), |(t, _)| t);
        let counts = dynos.entry(ty.to_owned()).or_insert_with(|| vec![None; n]);
        for (count, value) in counts.iter_mut().zip(column) {
            if value.is_some() {
                *count = Some(count.unwrap_or(0) + 1);
            }
        }
    }
    (memory, dynos, quota)
}

fn marker(d: &DecisionRecord) -> Marker {
    let blocked = d
        .decision
        .get("blocked")
        .and_then(|b| b.as_array())
        .is_some_and(|b| !b.is_empty());
    Marker {
        t: d.at.as_millis() / 1000,
        id: d.id.clone(),
        kind: d.kind.clone(),
        reason: d.reason.clone(),
        executed: d.executed,
        dry_run: d.dry_run,
        blocked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_for(range: &str) -> (u64, u64) {
        let q = SeriesQuery {
            range: Some(range.to_owned()),
            ..SeriesQuery::default()
        };
        let (range, step) = range_and_step(&q).unwrap_or_else(|e| panic!("{range}: {e:?}"));
        (range.as_secs(), step.as_secs())
    }

    #[test]
    fn default_steps_are_minutes_for_short_ranges_and_hours_for_long_ones() {
        assert_eq!(default_for("1h"), (3600, 60));
        assert_eq!(default_for("24h"), (86_400, 24 * 60));
        assert_eq!(default_for("7d"), (7 * 86_400, 3 * 3600));
        assert_eq!(default_for("30d"), (30 * 86_400, 12 * 3600));
    }
}
