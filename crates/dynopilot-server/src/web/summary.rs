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
    /// Log source, runtime metrics, blind policies and lines that could drive no action.
    pub observation: super::observation::ObservationView,
    /// Set while the app cannot be reached through the Platform API (not visible to the key,
    /// forbidden, deleted); nothing is decided for it meanwhile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::access::AppError>,
    /// Process types changed by hand, which dynopilot leaves alone until `until`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
    /// Guardrail budgets left in the rolling hour and the cost ceiling, as of the runner's
    /// last tick (absent before it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guardrails: Option<super::allowance::GuardrailsView>,
    /// Everything held with its end, soonest first: deploy freeze, manual override, restart
    /// cooldowns, policy cooldowns and timed pauses.
    pub holds: Vec<super::allowance::HoldView>,
    /// Alert deliveries journaled and not yet accepted by their channel (JSON API only).
    pub alerts_pending: Vec<super::allowance::PendingAlert>,
}

/// A manual-change override in force.
#[derive(Clone, Debug, Serialize)]
pub struct Override {
    pub process_type: String,
    #[serde(serialize_with = "super::api::rfc3339")]
    pub until: Timestamp,
}

impl AppSummary {
    /// Adds what is known about the app besides its observations.
    pub fn with_status(mut self, status: &crate::access::AppStatus, now: Timestamp) -> Self {
        self.error = status.error.clone();
        if let Some(allowance) = &status.allowance {
            self.guardrails = Some(super::allowance::GuardrailsView::from(allowance));
            self.holds = super::allowance::holds(allowance, now);
        }
        self.overrides = status
            .overrides
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(ty, until)| Override {
                process_type: ty.clone(),
                until: *until,
            })
            .collect();
        self
    }
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
    /// Router `connect=` p95 over the last five minutes.
    pub p95_connect_ms: Option<f64>,
    /// App-reported queue time p95 over the last five minutes (absent unless the app sends a
    /// `queue_time` metric).
    pub p95_queue_ms: Option<f64>,
    /// The autoscaler's latency target, when it scales on a latency.
    pub p95_target_ms: Option<f64>,
    /// What `p95_target_ms` is a target for: `service_p95` or `queue_time_p95`.
    pub target_signal: Option<&'static str>,
    pub paused_by: Option<String>,
}

impl TypeSummary {
    /// The p95 the autoscaler watches (queue time when it scales on queue time), else the
    /// router service p95, paired with its target.
    pub fn watched_p95(&self) -> (Option<f64>, Option<f64>) {
        let p95 = if self.watches_queue_time() {
            self.p95_queue_ms
        } else {
            self.p95_service_ms
        };
        (p95, self.p95_target_ms)
    }

    fn watches_queue_time(&self) -> bool {
        self.target_signal == Some(Signal::QueueTimeP95.name())
    }

    /// `queue ` when the figure is queue time, so a page never mixes the two up.
    pub fn watched_label(&self) -> &'static str {
        if self.watches_queue_time() {
            "queue "
        } else {
            ""
        }
    }
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
            let mut summary = type_summary(ty, pt, target.map(|(_, t)| t), now);
            summary.target_signal = target.map(|(signal, _)| signal.name());
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
        observation: super::observation::view(config, observed),
        error: None,
        overrides: Vec::new(),
        guardrails: None,
        holds: Vec::new(),
        alerts_pending: Vec::new(),
    }
}

fn latency_target(h: &HorizontalConfig) -> Option<(Signal, f64)> {
    match h {
        HorizontalConfig::Target(t)
            if matches!(t.signal, Signal::ServiceP95 | Signal::QueueTimeP95) =>
        {
            Some((t.signal, t.target))
        }
        _ => None,
    }
}

/// The autoscaling target of `process_type` when it scales on `signal`.
pub fn signal_target(config: &policy::Config, process_type: &str, signal: Signal) -> Option<f64> {
    match config.process_types.get(process_type)?.autoscale.as_ref()? {
        HorizontalConfig::Target(t) if t.signal == signal => Some(t.target),
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
    let mut connect = dynopilot_core::LatencySketch::default();
    let mut queue = dynopilot_core::LatencySketch::default();
    for w in &recent {
        sketch.merge(&w.service_ms);
        connect.merge(&w.connect_ms);
        queue.merge(&w.queue_ms);
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
        p95_connect_ms: connect.quantile(0.95),
        p95_queue_ms: queue.quantile(0.95),
        p95_target_ms,
        target_signal: None,
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

#[cfg(test)]
mod tests {
    use dynopilot_core::LatencySketch;
    use dynopilot_core::policy::{ProcessTypeConfig, RouterWindow};
    use dynopilot_core::scaling::TargetConfig;

    use super::*;

    fn config(signal: Signal) -> policy::Config {
        let mut c = policy::Config::new("shop");
        let target = TargetConfig {
            signal,
            target: 50.0,
            ..TargetConfig::default()
        };
        c.process_types.insert(
            "web".to_owned(),
            ProcessTypeConfig {
                autoscale: Some(HorizontalConfig::Target(target)),
                ..ProcessTypeConfig::default()
            },
        );
        c
    }

    fn observed(now: Timestamp) -> ObservedState {
        let mut service = LatencySketch::default();
        service.add_n(200.0, 10);
        let mut queue = LatencySketch::default();
        queue.add_n(30.0, 10);
        let mut o = ObservedState::default();
        o.process_types
            .entry("web".to_owned())
            .or_default()
            .router
            .push(RouterWindow {
                start: now.minus(std::time::Duration::from_secs(20)),
                end: now.minus(std::time::Duration::from_secs(10)),
                count: 10,
                status_2xx: 10,
                service_ms: service,
                queue_ms: queue,
                ..RouterWindow::default()
            });
        o
    }

    #[test]
    fn the_watched_p95_is_the_one_the_target_is_for() {
        let now = Timestamp::from_secs(1_000_000);
        for (signal, expected, label) in [
            (Signal::QueueTimeP95, 30.0, "queue "),
            (Signal::ServiceP95, 200.0, ""),
        ] {
            let c = config(signal);
            let s = app_summary("shop", "active", &c, &observed(now), |_| None, now);
            let web = &s.process_types[0];
            let (p95, target) = web.watched_p95();
            assert!(
                (p95.unwrap() - expected).abs() < expected * 0.01,
                "{signal}"
            );
            assert_eq!(target, Some(50.0));
            assert_eq!(web.watched_label(), label);
            assert_eq!(web.target_signal, Some(signal.name()));
            assert_eq!(signal_target(&c, "web", signal), Some(50.0));
            let other = if signal == Signal::ServiceP95 {
                Signal::QueueTimeP95
            } else {
                Signal::ServiceP95
            };
            assert_eq!(signal_target(&c, "web", other), None);
            assert_eq!(signal_target(&c, "worker", signal), None);
        }
    }
}
