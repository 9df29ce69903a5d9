//! The bench's world: ten apps with 30 days of history in a real SQLite file (per-minute
//! rollups, per-dyno samples as retention leaves them, decisions, actions, events) and a live
//! fleet state like the daemon's after an hour of traffic. Deterministic: a fixed seed.

use std::collections::BTreeMap;
use std::time::Duration;

use dynopilot_core::policy::{
    self, Action, Decision, DynoLifecycle, DynoState, Formation, LoadSample, MemorySample,
    ObservedState, ProcessTypeConfig, ProcessTypeState, Reason, RouterWindow,
};
use dynopilot_core::scaling::{HorizontalConfig, Signal, TargetConfig};
use dynopilot_core::{LatencySketch, Timestamp};
use dynopilot_store::{
    ActionOutcome, ActionRecord, Batch, DecisionRecord, Event, MINUTE_MS, Retention, Rollup,
    Sample, Store, downsample,
};

pub const APPS: usize = 10;
const DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;
/// Heroku's runtime metrics arrive every 20 s per dyno.
const SAMPLE_EVERY_MS: i64 = 20_000;

/// splitmix64: a tiny deterministic generator, so every run fills the same data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// One app of the fleet: how many dynos and how slow it is.
pub struct AppShape {
    pub name: String,
    pub web: u32,
    pub worker: u32,
    pub size: &'static str,
    pub quota_mb: f64,
    pub median_ms: f64,
    /// Requests per minute per web dyno at the daily peak.
    pub peak_rpm_per_dyno: f64,
}

pub fn shapes() -> Vec<AppShape> {
    (0..APPS)
        .map(|i| {
            let big = i >= 5;
            AppShape {
                name: format!("app-{i:02}"),
                web: 2 + 2 * i as u32,
                worker: 1 + (i % 4) as u32,
                size: if big { "standard-2x" } else { "standard-1x" },
                quota_mb: if big { 1024.0 } else { 512.0 },
                median_ms: 40.0 + 15.0 * i as f64,
                peak_rpm_per_dyno: 600.0,
            }
        })
        .collect()
}

/// The policy each app runs: web scales on queue time p95 (even apps) or router service p95
/// (odd apps), workers have bounds.
pub fn policy(shape: &AppShape, index: usize) -> policy::Config {
    let mut config = policy::Config::new(&shape.name);
    let target = if index.is_multiple_of(2) {
        TargetConfig {
            signal: Signal::QueueTimeP95,
            target: 40.0,
            ..TargetConfig::default()
        }
    } else {
        TargetConfig {
            signal: Signal::ServiceP95,
            target: shape.median_ms * 4.0,
            ..TargetConfig::default()
        }
    };
    config.process_types.insert(
        "web".to_owned(),
        ProcessTypeConfig {
            min: Some(2),
            max: Some(shape.web * 2),
            autoscale: Some(HorizontalConfig::Target(target)),
            ..ProcessTypeConfig::default()
        },
    );
    config.process_types.insert(
        "worker".to_owned(),
        ProcessTypeConfig {
            min: Some(1),
            max: Some(shape.worker * 2),
            ..ProcessTypeConfig::default()
        },
    );
    config
}

/// 0.25 at night to 1.0 at the afternoon peak.
fn diurnal(t: Timestamp) -> f64 {
    let day_frac = t.as_millis().rem_euclid(DAY_MS) as f64 / DAY_MS as f64;
    0.625 - 0.375 * (2.0 * std::f64::consts::PI * (day_frac - 0.125)).cos()
}

/// A minute (or window) of service times: a log-normal body spread over 48 quantile points,
/// and now and then a 30 s timeout, as H12s stretch the range a sketch has to cover.
fn service_sketch(rng: &mut Rng, requests: u64, median_ms: f64, timeout: bool) -> LatencySketch {
    let mut sketch = LatencySketch::default();
    const POINTS: u64 = 48;
    let per_point = (requests / POINTS).max(1);
    for k in 0..POINTS.min(requests.max(1)) {
        let q = (k as f64 + 0.5) / POINTS as f64;
        // Inverse normal CDF by a logistic approximation: good enough for shaping data.
        let z = (q / (1.0 - q)).ln() / 1.702;
        let jitter = 1.0 + 0.1 * (rng.unit() - 0.5);
        sketch.add_n(median_ms * (0.7 * z).exp() * jitter, per_point);
    }
    if timeout {
        sketch.add(30_000.0);
    }
    sketch
}

fn connect_sketch(rng: &mut Rng, requests: u64) -> LatencySketch {
    let mut sketch = LatencySketch::default();
    let ones = requests / 4 + rng.next() % 3;
    sketch.add_n(0.0, requests.saturating_sub(ones + 2));
    sketch.add_n(1.0, ones);
    sketch.add_n(2.0 + (rng.next() % 3) as f64, 2);
    sketch
}

/// Queue time as an instrumented app reports it: mostly a few ms, longer at the peak.
fn queue_sketch(rng: &mut Rng, requests: u64, load: f64) -> LatencySketch {
    let mut sketch = LatencySketch::default();
    let base = 2.0 + 40.0 * load * load;
    for k in 0..16u64 {
        let v = base * (1.0 + k as f64 / 4.0) * (0.9 + 0.2 * rng.unit());
        sketch.add_n(v, (requests / 16).max(1));
    }
    sketch
}

fn minute_rollup(rng: &mut Rng, shape: &AppShape, minute: Timestamp) -> Rollup {
    let load = diurnal(minute);
    let requests = (shape.peak_rpm_per_dyno * f64::from(shape.web) * load) as u64;
    let timeout = rng.chance(0.02);
    let mut r = Rollup::new(&shape.name, "web", minute);
    r.requests = requests;
    let errors_5xx = u64::from(timeout) + u64::from(rng.chance(0.05));
    let redirects = requests / 20;
    let client = requests / 50;
    r.status = [
        0,
        requests - redirects - client - errors_5xx,
        redirects,
        client,
        errors_5xx,
    ];
    r.service = service_sketch(rng, requests, shape.median_ms * (0.8 + 0.4 * load), timeout);
    r.connect = connect_sketch(rng, requests);
    r.queue = queue_sketch(rng, requests, load);
    if timeout {
        r.record_error("H12");
    }
    if rng.chance(0.002) {
        r.record_error("R14");
    }
    r
}

/// How many rows of each kind went into the store.
#[derive(Debug, Default)]
pub struct Filled {
    pub rollups: usize,
    pub samples: usize,
    pub decisions: usize,
    pub actions: usize,
    pub events: usize,
}

/// Writes 30 days of history ending at `now` for every app.
pub async fn fill_store(store: &dyn Store, now: Timestamp) -> Filled {
    let mut filled = Filled::default();
    let mut rng = Rng::new(7);
    for shape in shapes() {
        filled.rollups += fill_rollups(store, &shape, now, &mut rng).await;
        filled.samples += fill_samples(store, &shape, now, &mut rng).await;
        let (d, a, e) = fill_journal(store, &shape, now, &mut rng).await;
        filled.decisions += d;
        filled.actions += a;
        filled.events += e;
    }
    filled
}

async fn fill_rollups(store: &dyn Store, shape: &AppShape, now: Timestamp, rng: &mut Rng) -> usize {
    let end = dynopilot_store::align_down(now, MINUTE_MS).as_millis();
    let start = end - DAYS * DAY_MS;
    let mut batch = Batch::default();
    let mut n = 0;
    for minute in (start..end).step_by(MINUTE_MS as usize) {
        batch
            .rollups
            .push(minute_rollup(rng, shape, Timestamp::from_millis(minute)));
        if batch.rollups.len() == 5_000 {
            n += batch.rollups.len();
            store.write_batch(&batch).await.expect("write rollups");
            batch = Batch::default();
        }
    }
    n += batch.rollups.len();
    store.write_batch(&batch).await.expect("write rollups");
    n
}

/// Dyno names and their (daily) instance id: Heroku cycles every dyno once a day.
fn dynos(shape: &AppShape) -> Vec<String> {
    let web = (1..=shape.web).map(|i| format!("web.{i}"));
    let worker = (1..=shape.worker).map(|i| format!("worker.{i}"));
    web.chain(worker).collect()
}

fn instance(dyno: &str, t: Timestamp) -> String {
    format!("{dyno}.{}", t.as_millis().div_euclid(DAY_MS))
}

/// Memory grows through the day and drops back at the daily cycle.
fn memory_mb(shape: &AppShape, t: Timestamp, rng: &mut Rng) -> f64 {
    let since_cycle = t.as_millis().rem_euclid(DAY_MS) as f64 / DAY_MS as f64;
    shape.quota_mb * (0.45 + 0.4 * since_cycle) + 8.0 * rng.unit()
}

/// Samples of the 48 h retention keeps: raw for the last six hours, five-minute rows before.
async fn fill_samples(store: &dyn Store, shape: &AppShape, now: Timestamp, rng: &mut Rng) -> usize {
    let retention = Retention::default();
    let cutoff = retention
        .downsample_cutoff(now)
        .expect("downsampling is on");
    let start = now.minus(retention.raw).as_millis();
    let mut n = 0;
    for dyno in dynos(shape) {
        let raw: Vec<Sample> = (start..now.as_millis())
            .step_by(SAMPLE_EVERY_MS as usize)
            .map(|ms| {
                let at = Timestamp::from_millis(ms);
                let total = memory_mb(shape, at, rng);
                Sample {
                    instance_id: Some(instance(&dyno, at)),
                    memory_total_mb: Some(total),
                    memory_rss_mb: Some(total * 0.95),
                    memory_swap_mb: Some(0.0),
                    memory_quota_mb: Some(shape.quota_mb),
                    load_1m: Some(diurnal(at) * 2.0 + rng.unit() * 0.3),
                    ..Sample::new(&shape.name, &dyno, at)
                }
            })
            .collect();
        let (old, recent): (Vec<Sample>, Vec<Sample>) =
            raw.into_iter().partition(|s| s.at < cutoff);
        let batch = Batch {
            samples: downsample(&old).into_iter().chain(recent).collect(),
            ..Batch::default()
        };
        n += batch.samples.len();
        store.write_batch(&batch).await.expect("write samples");
    }
    n
}

/// About two autoscaling decisions an hour (most executed, some blocked, a few dry runs), a
/// memory restart a day, and a release and a crash or two a day as events.
async fn fill_journal(
    store: &dyn Store,
    shape: &AppShape,
    now: Timestamp,
    rng: &mut Rng,
) -> (usize, usize, usize) {
    let (mut decisions, mut actions, mut events) = (0, 0, 0);
    let start = now.as_millis() - DAYS * DAY_MS;
    let mut quantity = shape.web;
    for slot in (start..now.as_millis()).step_by(30 * 60_000) {
        let at = Timestamp::from_millis(slot + (rng.next() % 600_000) as i64);
        let up = diurnal(at) > 0.6;
        let to = if up {
            quantity + 1
        } else {
            quantity.saturating_sub(1).max(2)
        };
        let restart = rng.chance(1.0 / 48.0);
        let action = if restart {
            Action::RestartDyno {
                dyno: "web.1".to_owned(),
                instance_id: Some(instance("web.1", at)),
            }
        } else {
            Action::ScaleFormation {
                process_type: "web".to_owned(),
                from: quantity,
                to,
            }
        };
        let reason = Reason::Autoscale {
            process_type: "web".to_owned(),
            explanation: format!(
                "service p95 {:.0} ms against a target",
                shape.median_ms * 4.5
            ),
            signal: None,
            value: None,
            target: None,
        };
        let dry_run = rng.chance(0.05);
        let decision = Decision {
            id: format!("{}-{slot}", shape.name),
            app: shape.name.clone(),
            at,
            action,
            reason,
            executed: !dry_run,
            dry_run,
            blocked: Vec::new(),
            limited_by: Vec::new(),
        };
        let record = DecisionRecord::from_decision(&decision).expect("decision to JSON");
        store
            .insert_decision(&record)
            .await
            .expect("insert decision");
        decisions += 1;
        if !dry_run {
            quantity = to;
            let failed_first = rng.chance(0.03);
            for attempt in 1..=(1 + u32::from(failed_first)) {
                let failed = failed_first && attempt == 1;
                let started_at = at.plus(Duration::from_millis(u64::from(attempt) * 50));
                store
                    .record_action(&ActionRecord {
                        decision_id: record.id.clone(),
                        attempt,
                        started_at,
                        finished_at: Some(started_at.plus(Duration::from_millis(300))),
                        outcome: if failed {
                            ActionOutcome::Failed
                        } else {
                            ActionOutcome::Ok
                        },
                        error: failed.then(|| "heroku: 503 service unavailable".to_owned()),
                    })
                    .await
                    .expect("record action");
                actions += 1;
            }
        }
        if rng.chance(0.1) {
            let event = Event {
                app: shape.name.clone(),
                at,
                kind: if rng.chance(0.5) { "release" } else { "crash" }.to_owned(),
                message: "v123 deployed by ops@example.com".to_owned(),
                detail: serde_json::json!({ "dyno": "web.1" }),
            };
            store
                .write_batch(&Batch {
                    events: vec![event],
                    ..Batch::default()
                })
                .await
                .expect("write event");
            events += 1;
        }
    }
    (decisions, actions, events)
}

/// Each app's live state as the daemon holds it: formations, every dyno with its last 30
/// minutes of memory and load, and an hour of 10 s router windows.
pub fn observed(shape: &AppShape, now: Timestamp, rng: &mut Rng) -> ObservedState {
    let mut observed = ObservedState::default();
    for (ty, quantity) in [("web", shape.web), ("worker", shape.worker)] {
        let mut pt = ProcessTypeState {
            formation: Some(Formation {
                quantity,
                size: shape.size.to_owned(),
                updated_at: now.minus(Duration::from_secs(3600)),
            }),
            ..ProcessTypeState::default()
        };
        for i in 1..=quantity {
            let name = format!("{ty}.{i}");
            let id = instance(&name, now);
            let mut dyno = DynoState::new(
                Some(id.clone()),
                DynoLifecycle::Up,
                now.minus(Duration::from_secs(7200)),
            );
            for k in (0..90).rev() {
                let at = now.minus(Duration::from_secs(20 * k));
                let total = memory_mb(shape, at, rng);
                dyno.record_memory(MemorySample {
                    at,
                    instance_id: Some(id.clone()),
                    total_mb: total,
                    rss_mb: total * 0.95,
                    swap_mb: 0.0,
                    quota_mb: Some(shape.quota_mb),
                });
                dyno.load.push(LoadSample {
                    at,
                    load_avg_1m: diurnal(at) * 2.0,
                });
            }
            pt.dynos.insert(name, dyno);
        }
        if ty == "web" {
            pt.router = windows(shape, now, rng);
        }
        observed.process_types.insert(ty.to_owned(), pt);
    }
    observed
}

fn windows(shape: &AppShape, now: Timestamp, rng: &mut Rng) -> Vec<RouterWindow> {
    let end = dynopilot_store::align_down(now, 10_000).as_millis();
    (0..dynopilot_server::fleet::ROUTER_WINDOWS_KEPT as i64)
        .rev()
        .map(|k| {
            let start = Timestamp::from_millis(end - (k + 1) * 10_000);
            let count = (shape.peak_rpm_per_dyno * f64::from(shape.web) / 6.0) as u64;
            RouterWindow {
                start,
                end: start.plus(Duration::from_secs(10)),
                count,
                status_2xx: count - 1,
                status_5xx: 1,
                service_ms: service_sketch(rng, count, shape.median_ms, false),
                queue_ms: queue_sketch(rng, count, 0.5),
                connect_ms: connect_sketch(rng, count),
                ..RouterWindow::default()
            }
        })
        .collect()
}

/// The policies by app name, as `WebState` wants them.
pub fn policies() -> BTreeMap<String, policy::Config> {
    shapes()
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), policy(s, i)))
        .collect()
}
