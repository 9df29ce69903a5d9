//! Time series for the app page's charts, from stored samples, rollups and decisions: every
//! series shares one x axis of `step` buckets over `range` (uPlot's columnar shape), with
//! `null` where nothing was recorded. When the app's history is shorter than the range, the
//! axis starts where the history does (finer buckets), and `history_start` says so.

use std::collections::BTreeMap;
use std::time::Duration;

use dynopilot_core::policy::ObservedState;
use dynopilot_core::{DynoSize, Timestamp};
use dynopilot_store::{DecisionRecord, MemoryPeak, Rollup, Sample, SampleFilter, Store, TimeRange};
use serde::{Deserialize, Serialize};

use super::WebError;

/// At most this many decisions are drawn as markers.
const MAX_MARKERS: u32 = 500;

/// Load averages are read from raw samples, so only over ranges up to this long.
const LOAD_RANGE: Duration = Duration::from_secs(86_400);

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
    /// The range asked for.
    pub range_seconds: u64,
    pub step_seconds: u64,
    /// Where the app's recorded history starts (epoch seconds) when that is inside the range
    /// asked for; the axis then starts there instead of showing an empty stretch.
    pub history_start: Option<i64>,
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
    /// Memory (MB) at which Heroku kills a dyno of that quota with R15, when its size is known.
    pub memory_kill_mb: Option<f64>,
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
    /// Mean 1-minute load average of the type's dynos (ranges up to 24 h; else all null).
    pub load_per_dyno: Vec<Option<f64>>,
    /// The autoscaler's target for `load_per_dyno`, when it scales on load.
    pub load_target: Option<f64>,
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
/// `fixed_step` says the caller chose the step; otherwise a history shorter than the range
/// is shown from its start, with the finer step its own length calls for.
pub async fn load(
    store: &dyn Store,
    app: &str,
    process_types: &[String],
    range: Duration,
    step: Duration,
    fixed_step: bool,
    now: Timestamp,
) -> Result<Series, WebError> {
    let mut series = load_span(store, app, process_types, range, step, now).await?;
    let mut step = step;
    let mut shortened = false;
    // Each pass narrows the axis to the first bucket with data; the finer step that its
    // length calls for places the start more exactly, so a few passes settle it.
    for _ in 0..3 {
        let Some(first) = first_filled(&series).filter(|f| *f > 0) else {
            break;
        };
        let start = series.t[first];
        if fixed_step {
            // A caller who chose the step gets the whole regular axis, told where history
            // starts.
            series.history_start = Some(start);
            return Ok(series);
        }
        shortened = true;
        let end = series.t.last().map_or(start, |t| t + to_secs(step));
        let shorter = Duration::from_secs(u64::try_from(end - start).unwrap_or(0).max(60));
        let finer = default_step(shorter);
        if finer >= step {
            trim_front(&mut series, first);
            break;
        }
        series = load_span(store, app, process_types, shorter, finer, now).await?;
        series.range_seconds = range.as_secs();
        step = finer;
    }
    if shortened {
        let first = first_filled(&series).unwrap_or(0);
        trim_front(&mut series, first);
        series.history_start = series.t.first().copied();
    }
    Ok(series)
}

fn to_secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The first bucket with anything recorded in it (traffic, memory or a decision).
fn first_filled(s: &Series) -> Option<usize> {
    let mut first: Option<usize> = None;
    let mut see = |i: Option<usize>| {
        if let Some(i) = i {
            first = Some(first.map_or(i, |f| f.min(i)));
        }
    };
    let filled = |col: &[Option<f64>]| col.iter().position(Option::is_some);
    for tr in s.traffic.values() {
        see(filled(&tr.requests_per_min));
        see(filled(&tr.p95_queue_ms));
        see(filled(&tr.load_per_dyno));
        for col in tr.errors.values() {
            see(col.iter().position(Option::is_some));
        }
    }
    for col in s.memory_mb.values() {
        see(filled(col));
    }
    let step = to_secs(Duration::from_secs(s.step_seconds)).max(1);
    if let (Some(t0), Some(d)) = (s.t.first(), s.decisions.iter().map(|d| d.t).min()) {
        see(usize::try_from((d - t0).div_euclid(step)).ok());
    }
    first.filter(|f| *f < s.t.len())
}

/// Drops the first `n` buckets of every column.
fn trim_front(s: &mut Series, n: usize) {
    fn cut<T>(col: &mut Vec<T>, n: usize) {
        col.drain(..n.min(col.len()));
    }
    cut(&mut s.t, n);
    for tr in s.traffic.values_mut() {
        cut(&mut tr.requests_per_min, n);
        cut(&mut tr.p95_service_ms, n);
        cut(&mut tr.p95_connect_ms, n);
        cut(&mut tr.p95_queue_ms, n);
        cut(&mut tr.load_per_dyno, n);
        for col in tr.errors.values_mut() {
            cut(col, n);
        }
    }
    for col in s.dynos.values_mut() {
        cut(col, n);
    }
    for col in s.memory_mb.values_mut() {
        cut(col, n);
    }
}

/// One pass over `range` ending at `now` in `step` buckets.
async fn load_span(
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
    let loads = if range <= LOAD_RANGE {
        store.samples(app, &SampleFilter::AllDynos, span).await?
    } else {
        Vec::new()
    };
    let mut traffic = BTreeMap::new();
    for ty in process_types {
        let rollups = store.rollups(app, ty, span, step).await?;
        let mut tr = bucket_traffic(&rollups, t.len(), step, &bucket);
        tr.load_per_dyno = bucket_load(&loads, ty, t.len(), &bucket);
        traffic.insert(ty.clone(), tr);
    }
    let peaks = store.memory_peaks(app, span, step).await?;
    let (memory_mb, dynos, memory_quota_mb) = bucket_samples(&peaks, t.len(), &bucket);
    let decisions = store.decisions(app, span, MAX_MARKERS).await?;
    Ok(Series {
        range_seconds: range.as_secs(),
        step_seconds: step.as_secs(),
        history_start: None,
        decisions: decisions.iter().map(marker).collect(),
        t,
        traffic,
        dynos,
        memory_mb,
        memory_quota_mb,
        memory_kill_mb: None,
    })
}

/// Mean load of `process_type`'s dynos per bucket: each dyno's mean first, then their mean.
fn bucket_load(
    samples: &[Sample],
    process_type: &str,
    n: usize,
    bucket: &impl Fn(Timestamp) -> Option<usize>,
) -> Vec<Option<f64>> {
    let mut per_dyno: BTreeMap<(usize, &str), (f64, u32)> = BTreeMap::new();
    for s in samples {
        let ty =
            dynopilot_core::names::split_dyno_name(&s.dyno).map_or(s.dyno.as_str(), |(t, _)| t);
        let (Some(i), Some(load), true) = (bucket(s.at), s.load_1m, ty == process_type) else {
            continue;
        };
        let acc = per_dyno.entry((i, s.dyno.as_str())).or_default();
        acc.0 += load;
        acc.1 += 1;
    }
    let mut sums = vec![(0.0, 0u32); n];
    for ((i, _), (sum, count)) in per_dyno {
        sums[i].0 += sum / f64::from(count);
        sums[i].1 += 1;
    }
    sums.into_iter()
        .map(|(sum, dynos)| (dynos > 0).then(|| sum / f64::from(dynos)))
        .collect()
}

fn bucket_traffic(
    rollups: &[Rollup],
    n: usize,
    step: Duration,
    bucket: &impl Fn(Timestamp) -> Option<usize>,
) -> Traffic {
    let minutes = step.as_secs_f64() / 60.0;
    let mut out = Traffic {
        load_per_dyno: vec![None; n],
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

/// Where Heroku kills a dyno with R15, for the memory chart: the kill point of the running
/// size whose memory is closest to the quota seen (the largest size when no quota was seen).
pub fn kill_point(observed: &ObservedState, quota_mb: Option<f64>) -> Option<f64> {
    let sizes = observed
        .process_types
        .values()
        .filter_map(|p| DynoSize::lookup(&p.formation.as_ref()?.size).ok());
    let distance = |s: &DynoSize| match quota_mb {
        Some(q) => -(f64::from(s.memory_mb) - q).abs(),
        None => f64::from(s.memory_mb),
    };
    sizes
        .max_by(|a, b| distance(a).total_cmp(&distance(b)))
        .map(|s| s.r15_kill_mb())
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
