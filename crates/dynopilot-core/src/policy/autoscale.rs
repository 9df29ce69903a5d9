//! Wiring of the scaling algorithms (`crate::scaling`) into the engine: builds their inputs
//! from observed state (signal samples, warm-up counts, queue, busiest-dyno memory), keeps their
//! state in `PolicyState`, and turns recommendations into proposals. Min/max, budgets and
//! freezes are applied afterwards by the guardrails, like for every other policy.

use std::collections::BTreeMap;

use crate::scaling::{
    self, HorizontalInput, QueueObservation, RouterLoad, Sample, Signal, SizeRule, VerticalInput,
};
use crate::size::DynoSize;
use crate::time::Timestamp;

use super::config::ProcessTypeConfig;
use super::decision::{Action, Reason};
use super::engine::Proposal;
use super::state::{DynoLifecycle, PolicyState, ProcessTypeState};

/// Runtime metrics arrive about every 20 s; samples of different dynos are grouped per period.
const BUCKET_MS: i64 = 20_000;

pub fn propose(
    process_type: &str,
    pt: &ProcessTypeConfig,
    obs: &ProcessTypeState,
    state: &mut PolicyState,
    size: Option<&'static DynoSize>,
    tz: &jiff::tz::TimeZone,
    now: Timestamp,
) -> Vec<Proposal> {
    let mut out = Vec::new();
    let Some(formation) = &obs.formation else {
        return out;
    };
    let count = |l: DynoLifecycle| {
        u32::try_from(obs.dynos.values().filter(|d| d.lifecycle == l).count()).unwrap_or(u32::MAX)
    };
    if let Some(cfg) = &pt.autoscale {
        let lookback = Timestamp::from_millis(
            now.as_millis()
                .saturating_sub(i64::try_from(cfg.lookback().as_millis()).unwrap_or(i64::MAX)),
        );
        let up = count(DynoLifecycle::Up);
        let samples = cfg
            .signal()
            .map(|s| signal_samples(s, obs, up, lookback, now))
            .unwrap_or_default();
        let router = router_loads(obs, lookback, now);
        let input = HorizontalInput {
            now,
            current: formation.quantity,
            booting: count(DynoLifecycle::Starting),
            up,
            samples: &samples,
            queue: latest_queue(obs),
            router: &router,
            last_scale_up: state.scaled_up_at.get(process_type).copied(),
            last_scale_down: state.scaled_down_at.get(process_type).copied(),
        };
        let previous = state
            .autoscale
            .get(process_type)
            .cloned()
            .unwrap_or_default();
        let (rec, next) = scaling::recommend(cfg, &input, &previous);
        // The algorithm's state is kept whatever the guardrails decide next.
        state.autoscale.insert(process_type.to_owned(), next);
        if rec.desired != formation.quantity {
            out.push(Proposal::new(
                Action::ScaleFormation {
                    process_type: process_type.to_owned(),
                    from: formation.quantity,
                    to: rec.desired,
                },
                Reason::Autoscale {
                    process_type: process_type.to_owned(),
                    explanation: rec.reason.to_string(),
                    signal: rec.reason.signal,
                    value: rec.reason.value,
                    target: rec.reason.target,
                },
            ));
        }
    }
    if let (Some(cfg), Some(current)) = (&pt.vertical, size) {
        let memory = busiest_memory(obs);
        let input = VerticalInput {
            now,
            current,
            memory_mb: &memory,
            last_resize: Some(formation.updated_at),
            window_open: cfg.window_open(tz, now),
            queue_depth: latest_queue(obs).map(|q| q.depth),
        };
        let previous = state
            .vertical
            .get(process_type)
            .cloned()
            .unwrap_or_default();
        let (rec, next) = scaling::vertical::recommend(cfg, &input, &previous);
        state.vertical.insert(process_type.to_owned(), next);
        if rec.rule != SizeRule::Hold && rec.to.name != rec.from.name {
            out.push(Proposal::new(
                Action::Resize {
                    process_type: process_type.to_owned(),
                    from: rec.from.name.to_owned(),
                    to: rec.to.name.to_owned(),
                },
                Reason::Autoscale {
                    process_type: process_type.to_owned(),
                    explanation: format!("vertical: {}", rec.reason),
                    signal: None,
                    value: None,
                    target: None,
                },
            ));
        }
    }
    out
}

fn signal_samples(
    signal: Signal,
    obs: &ProcessTypeState,
    up: u32,
    since: Timestamp,
    now: Timestamp,
) -> Vec<Sample> {
    let fresh = |at: Timestamp| at >= since && at <= now;
    match signal {
        Signal::QueueTimeP95 | Signal::ServiceP95 => obs
            .router
            .iter()
            .filter(|w| fresh(w.end))
            .filter_map(|w| {
                let sketch = if signal == Signal::QueueTimeP95 {
                    &w.queue_ms
                } else {
                    &w.service_ms
                };
                sketch.quantile(0.95).map(|v| Sample::new(w.end, v))
            })
            .collect(),
        Signal::LoadPerDyno => {
            // Mean over the dynos that reported in each sample period.
            let mut buckets: BTreeMap<i64, (f64, u32)> = BTreeMap::new();
            for d in obs
                .dynos
                .values()
                .filter(|d| d.lifecycle == DynoLifecycle::Up)
            {
                for s in d.load.iter().filter(|s| fresh(s.at)) {
                    let entry = buckets
                        .entry(s.at.as_millis().div_euclid(BUCKET_MS))
                        .or_insert((0.0, 0));
                    entry.0 += s.load_avg_1m;
                    entry.1 += 1;
                }
            }
            buckets
                .into_iter()
                .map(|(b, (sum, n))| {
                    Sample::new(Timestamp::from_millis(b * BUCKET_MS), sum / f64::from(n))
                })
                .collect()
        }
        Signal::JobsPerDyno => obs
            .queue
            .iter()
            .filter(|q| fresh(q.at))
            .map(|q| {
                Sample::new(
                    q.at,
                    (q.depth + q.busy.unwrap_or(0)) as f64 / f64::from(up.max(1)),
                )
            })
            .collect(),
        // A failed probe is slow, not absent.
        Signal::ProbeLatency => obs
            .probes
            .iter()
            .filter(|p| fresh(p.at))
            .map(|p| {
                Sample::new(
                    p.at,
                    if p.ok {
                        p.latency_ms.unwrap_or(f64::INFINITY)
                    } else {
                        f64::INFINITY
                    },
                )
            })
            .collect(),
    }
}

/// Request rate and mean service time of each closed router window in the lookback.
fn router_loads(obs: &ProcessTypeState, since: Timestamp, now: Timestamp) -> Vec<RouterLoad> {
    obs.router
        .iter()
        .filter(|w| w.end >= since && w.end <= now && w.end > w.start)
        .map(|w| RouterLoad {
            at: w.end,
            rps: w.count as f64 * 1000.0 / (w.end.as_millis() - w.start.as_millis()) as f64,
            service_mean_ms: w.service_ms.mean().unwrap_or(f64::NAN),
            queue_mean_ms: w.queue_ms.mean().unwrap_or(0.0),
            answered: w.service_ms.count(),
        })
        .collect()
}

fn latest_queue(obs: &ProcessTypeState) -> Option<QueueObservation> {
    obs.queue
        .iter()
        .max_by_key(|q| q.at)
        .map(|q| QueueObservation {
            at: q.at,
            depth: q.depth,
            busy: q.busy.unwrap_or(0),
            latency_ms: q.latency_ms.unwrap_or(0.0),
        })
}

/// RSS + swap of the busiest `up` dyno in each sample period, current runs only.
fn busiest_memory(obs: &ProcessTypeState) -> Vec<Sample> {
    let mut buckets: BTreeMap<i64, f64> = BTreeMap::new();
    for d in obs
        .dynos
        .values()
        .filter(|d| d.lifecycle == DynoLifecycle::Up)
    {
        for s in d.current_memory() {
            let entry = buckets
                .entry(s.at.as_millis().div_euclid(BUCKET_MS))
                .or_insert(0.0);
            *entry = entry.max(s.rss_mb + s.swap_mb);
        }
    }
    buckets
        .into_iter()
        .map(|(b, mb)| Sample::new(Timestamp::from_millis(b * BUCKET_MS), mb))
        .collect()
}
