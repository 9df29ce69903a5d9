//! What the fleet and app pages (and the JSON API) say about an app right now, computed from
//! the live fleet state and the size table: formation and cost, dynos, health against targets.

use dynopilot_core::policy::{self, DynoLifecycle, ObservedState, ProcessTypeState};
use dynopilot_core::scaling::{HorizontalConfig, Signal};
use dynopilot_core::size::BILLING_HOURS_PER_MONTH;
use dynopilot_core::{DynoSize, Timestamp};
use serde::Serialize;

/// Router windows looked at for the health figures: the last five minutes.
const HEALTH_WINDOW_MS: i64 = 5 * 60_000;

#[derive(Clone, Debug, Serialize)]
pub struct AppSummary {
    pub name: String,
    /// `active`, `dry-run` or `paused`.
    pub mode: &'static str,
    pub process_types: Vec<TypeSummary>,
    pub dollars_per_hour: f64,
    /// This month's cost if the formation stays as it is (Heroku bills at most 720 h/month).
    pub projected_month_dollars: f64,
    pub dynos_up: usize,
    pub dynos_total: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct TypeSummary {
    pub process_type: String,
    pub quantity: Option<u32>,
    pub size: Option<String>,
    pub dollars_per_hour: f64,
    pub dynos_up: usize,
    pub dynos_total: usize,
    /// Highest latest memory use among the dynos, in % of quota.
    pub memory_max_pct: Option<f64>,
    /// 5xx and H errors per request over the last five minutes, in %.
    pub error_rate_pct: Option<f64>,
    pub requests_5m: u64,
    pub p95_service_ms: Option<f64>,
    /// The autoscaler's latency target, when it scales on a latency.
    pub p95_target_ms: Option<f64>,
    pub paused_by: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DynoView {
    pub name: String,
    pub process_type: String,
    pub lifecycle: &'static str,
    #[serde(serialize_with = "super::api::rfc3339")]
    pub since: Timestamp,
    pub instance_id: Option<String>,
    pub memory_total_mb: Option<f64>,
    pub memory_quota_mb: Option<f64>,
    pub load_1m: Option<f64>,
    pub errors: usize,
}

pub fn lifecycle_name(l: DynoLifecycle) -> &'static str {
    match l {
        DynoLifecycle::Starting => "starting",
        DynoLifecycle::Up => "up",
        DynoLifecycle::Crashed => "crashed",
        DynoLifecycle::Down => "down",
        DynoLifecycle::Idle => "idle",
    }
}

/// The app's summary; `paused` says who paused each process type, if anyone.
pub fn app_summary(
    name: &str,
    mode: &'static str,
    config: &policy::Config,
    observed: &ObservedState,
    paused: impl Fn(&str) -> Option<String>,
    now: Timestamp,
) -> AppSummary {
    let mut names: Vec<&String> = observed.process_types.keys().collect();
    names.extend(config.process_types.keys());
    names.sort();
    names.dedup();
    let empty = ProcessTypeState::default();
    let process_types: Vec<TypeSummary> = names
        .into_iter()
        .map(|ty| {
            let pt = observed.process_types.get(ty).unwrap_or(&empty);
            let target = config
                .process_types
                .get(ty)
                .and_then(|c| c.autoscale.as_ref())
                .and_then(latency_target);
            let mut summary = type_summary(ty, pt, target, now);
            summary.paused_by = paused(ty);
            summary
        })
        .collect();
    let dollars_per_hour: f64 = process_types.iter().map(|t| t.dollars_per_hour).sum();
    AppSummary {
        name: name.to_owned(),
        mode,
        dynos_up: process_types.iter().map(|t| t.dynos_up).sum(),
        dynos_total: process_types.iter().map(|t| t.dynos_total).sum(),
        projected_month_dollars: dollars_per_hour * f64::from(BILLING_HOURS_PER_MONTH),
        dollars_per_hour,
        process_types,
    }
}

fn latency_target(h: &HorizontalConfig) -> Option<f64> {
    match h {
        HorizontalConfig::Target(t)
            if matches!(t.signal, Signal::ServiceP95 | Signal::QueueTimeP95) =>
        {
            Some(t.target)
        }
        _ => None,
    }
}

fn type_summary(
    ty: &str,
    pt: &ProcessTypeState,
    p95_target_ms: Option<f64>,
    now: Timestamp,
) -> TypeSummary {
    let formation = pt.formation.as_ref();
    let dollars_per_hour = formation
        .and_then(|f| {
            Some(DynoSize::lookup(&f.size).ok()?.dollars_per_hour() * f64::from(f.quantity))
        })
        .unwrap_or(0.0);
    let memory_max_pct = pt
        .dynos
        .values()
        .filter_map(|d| {
            let s = d.current_memory().next_back()?;
            Some(s.total_mb / s.quota_mb? * 100.0)
        })
        .reduce(f64::max);
    let since = now.as_millis() - HEALTH_WINDOW_MS;
    let recent: Vec<_> = pt
        .router
        .iter()
        .filter(|w| w.end.as_millis() > since)
        .collect();
    let requests: u64 = recent.iter().map(|w| w.count).sum();
    let errors: u64 = recent.iter().map(|w| w.status_5xx).sum::<u64>()
        + pt.errors
            .iter()
            .filter(|e| e.at.as_millis() > since)
            .count() as u64;
    let mut sketch = dynopilot_core::LatencySketch::default();
    for w in &recent {
        sketch.merge(&w.service_ms);
    }
    TypeSummary {
        process_type: ty.to_owned(),
        quantity: formation.map(|f| f.quantity),
        size: formation.map(|f| f.size.clone()),
        dollars_per_hour,
        dynos_up: pt
            .dynos
            .values()
            .filter(|d| d.lifecycle == DynoLifecycle::Up)
            .count(),
        dynos_total: pt.dynos.len(),
        memory_max_pct,
        error_rate_pct: (requests > 0).then(|| errors as f64 / requests as f64 * 100.0),
        requests_5m: requests,
        p95_service_ms: (requests > 0).then(|| sketch.quantile(0.95)).flatten(),
        p95_target_ms,
        paused_by: None,
    }
}

/// Every dyno of the app, by process type then name.
pub fn dynos(observed: &ObservedState) -> Vec<DynoView> {
    observed
        .process_types
        .iter()
        .flat_map(|(ty, pt)| {
            pt.dynos.iter().map(move |(name, d)| {
                let last = d.current_memory().next_back();
                DynoView {
                    name: name.clone(),
                    process_type: ty.clone(),
                    lifecycle: lifecycle_name(d.lifecycle),
                    since: d.since,
                    instance_id: d.instance_id.clone(),
                    memory_total_mb: last.map(|s| s.total_mb),
                    memory_quota_mb: last.and_then(|s| s.quota_mb),
                    load_1m: d.load.last().map(|l| l.load_avg_1m),
                    errors: d.errors.len(),
                }
            })
        })
        .collect()
}
