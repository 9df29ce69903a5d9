//! `/metrics` in the Prometheus text exposition format (written by hand: every value is read at
//! scrape time from counters and the live fleet state), `/healthz`, and the web request
//! counters. Labels are low-cardinality: app, process type, size, reason, kind.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::summary::lifecycle_name;
use super::{ErrorKind, WebState};
use crate::store_health::DASHBOARD_READS;

/// Web request counters.
#[derive(Debug, Default)]
pub struct WebMetrics {
    /// (route kind, status class) → requests.
    requests: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// Error kind → responses.
    errors: Mutex<BTreeMap<&'static str, u64>>,
    login_failures: AtomicU64,
}

impl WebMetrics {
    pub fn count_login_failure(&self) {
        self.login_failures.fetch_add(1, Ordering::Relaxed);
    }

    fn count(&self, kind: &'static str, status: u16, error: Option<&'static str>) {
        let class = match status {
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((kind, class)).or_default() += 1;
        }
        if let Some(e) = error
            && let Ok(mut errors) = self.errors.lock()
        {
            *errors.entry(e).or_default() += 1;
        }
    }
}

fn route_kind(path: &str) -> &'static str {
    if path.starts_with("/api/") {
        "api"
    } else if path.starts_with("/assets/") {
        "asset"
    } else if path == "/metrics" || path == "/healthz" {
        "monitoring"
    } else if path.starts_with("/login") || path.starts_with("/logout") {
        "login"
    } else {
        "page"
    }
}

/// Routes whose answer comes from the store: their failures and successes tell whether
/// reading it works.
fn reads_store(path: &str) -> bool {
    path.starts_with("/apps/")
        || (path.starts_with("/api/v1/apps/")
            && ["/series", "/decisions", "/actions", "/events"]
                .iter()
                .any(|tail| path.ends_with(tail)))
}

/// Counts every request by route kind and status class, and errors by kind, and tells
/// `StoreHealth` how the store-reading ones went.
pub async fn count_requests(
    State(state): State<WebState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let kind = route_kind(&path);
    let response = next.run(request).await;
    let error = response.extensions().get::<ErrorKind>().map(|k| k.0);
    if reads_store(&path) {
        let now = state.clock.now();
        if error == Some(super::STORE_UNAVAILABLE) {
            state.store_health.failed(
                DASHBOARD_READS,
                &"a dashboard or API read of the store failed",
                now,
            );
        } else if response.status().is_success() {
            state.store_health.succeeded(DASHBOARD_READS, now);
        }
    }
    state.metrics.count(kind, response.status().as_u16(), error);
    response
}

/// `200` with `"status": "ok"` only while the store answers and the runner ticks; otherwise
/// `503` with `"status": "degraded"` and each failing component with its reason (a store
/// outage: since when, the parts that saw it, the last error; a stuck runner: when it last
/// ticked). Heroku's router, Docker and systemd do not take an instance out of rotation on
/// a `503`, so drains keep arriving; a balancer that does should probe `/metrics` instead
/// (see docs/store-health.md).
pub async fn healthz(State(state): State<WebState>) -> Response {
    let now = state.clock.now();
    let uptime = now.since(state.started_at).as_secs();
    let mut body = serde_json::json!({
        "status": "ok",
        "uptime_seconds": uptime,
        "runner_ticks": state.runner.ticks(),
    });
    let mut failing = Vec::new();
    if let Some(outage) = state.store_health.outage() {
        failing.push(serde_json::json!({
            "component": "store",
            "parts": outage.components,
            "since": outage.since.to_string(),
            "seconds": now.since(outage.since).as_secs(),
            "error": outage.last_error,
            "effect": "actions are held until the decision journal accepts them; drains are accepted and buffered",
        }));
    }
    if let Some(stuck) = runner_stuck(&state, now) {
        failing.push(stuck);
    }
    if failing.is_empty() {
        return axum::Json(body).into_response();
    }
    body["status"] = "degraded".into();
    body["degraded"] = failing.into();
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(body),
    )
        .into_response()
}

/// The runner's entry in `/healthz` when it has not ticked for too long (or, since start, not
/// at all within that time).
fn runner_stuck(state: &WebState, now: dynopilot_core::Timestamp) -> Option<serde_json::Value> {
    let limit = state.runner.stuck_after();
    let last = state.runner.last_tick_at();
    let quiet = now.since(last.unwrap_or(state.started_at));
    if quiet <= limit {
        return None;
    }
    Some(serde_json::json!({
        "component": "runner",
        "last_tick": last.map(|t| t.to_string()),
        "seconds": quiet.as_secs(),
        "error": format!(
            "the policy runner has not evaluated the apps for {} s (limit {} s)",
            quiet.as_secs(),
            limit.as_secs()
        ),
        "effect": "no decisions are made; drains are accepted",
    }))
}

/// The Prometheus exposition, behind a token when the dashboard needs sign-in
/// (`auth::metrics_refusal`).
pub async fn metrics(State(state): State<WebState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(refused) = super::auth::metrics_refusal(&state.auth.settings, &headers) {
        return refused;
    }
    let body = render(&state);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// One metric family being written: `# HELP`/`# TYPE` once, then samples.
pub struct Out(String);

impl Out {
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn single(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The whole exposition, read from the state at this moment.
pub fn render(state: &WebState) -> String {
    let mut out = Out(String::with_capacity(4096));
    ingest(&mut out, state);
    web(&mut out, state);
    runner(&mut out, state);
    executor(&mut out, state);
    fleet(&mut out, state);
    super::observation::render_metrics(&mut out, state);
    crate::queue_poll::render_metrics(&mut out, state);
    app_errors(&mut out, state);
    alert_deliveries(&mut out, state);
    out.0
}

/// `dynopilot_alert_deliveries_total{channel,outcome}`: sent, retried, failed and dropped by
/// cooling, per channel; hand-offs the runner could not queue are counted apart.
fn alert_deliveries(out: &mut Out, state: &WebState) {
    out.family(
        "dynopilot_alert_deliveries_total",
        "counter",
        "Alert deliveries by channel and outcome (sent, retried, failed, dropped_by_cooling).",
    );
    for (channel, outcome, n) in state.alerts.deliveries() {
        out.sample(
            "dynopilot_alert_deliveries_total",
            &[("channel", &channel), ("outcome", outcome)],
            n as f64,
        );
    }
    out.single(
        "dynopilot_alert_handoffs_dropped_total",
        "counter",
        "Decisions not queued for alerting because the alert queue was full.",
        state.alerts.handoffs_dropped() as f64,
    );
}

/// `dynopilot_app_error{app,kind}`: 1 while an app cannot be reached (kind `not_found`,
/// `forbidden`, `unauthorized`), else 0 with kind `none`, so every configured app has a series.
fn app_errors(out: &mut Out, state: &WebState) {
    let Ok(fleet) = state.ingest.fleet.lock() else {
        return;
    };
    out.family(
        "dynopilot_app_error",
        "gauge",
        "1 while the app cannot be reached through the Platform API, by kind.",
    );
    for app in state.apps.snapshot().keys() {
        let error = fleet.app(app).and_then(|a| a.status.error.as_ref());
        let (kind, value) = error.map_or(("none", 0.0), |e| (e.kind, 1.0));
        out.sample(
            "dynopilot_app_error",
            &[("app", app.as_str()), ("kind", kind)],
            value,
        );
    }
}

fn ingest(out: &mut Out, state: &WebState) {
    let m = &state.ingest.metrics;
    out.single(
        "dynopilot_ingest_lines_total",
        "counter",
        "Log lines applied to the fleet state.",
        m.lines() as f64,
    );
    out.single(
        "dynopilot_ingest_batches_total",
        "counter",
        "Drain batches received.",
        m.batches() as f64,
    );
    out.single(
        "dynopilot_ingest_bytes_total",
        "counter",
        "Drain bytes received.",
        m.bytes() as f64,
    );
    out.single(
        "dynopilot_log_session_breaks_total",
        "counter",
        "Log-session streams that broke (the tail reconnects with backoff; the app is blind meanwhile).",
        m.tail_breaks() as f64,
    );
    out.family(
        "dynopilot_agent_reports_total",
        "counter",
        "Reports from agents in the apps (Judoscale, HireFire) by protocol and outcome (accepted, malformed, unknown_token, too_large, pull_failed).",
    );
    for ((protocol, outcome), n) in m.agent_reports() {
        out.sample(
            "dynopilot_agent_reports_total",
            &[("protocol", protocol), ("outcome", outcome)],
            n as f64,
        );
    }
    out.single(
        "dynopilot_agent_metrics_stale_total",
        "counter",
        "Agent metrics skipped for being stamped more than 5 minutes ago or 2 minutes ahead.",
        m.agent_stale() as f64,
    );
    out.family(
        "dynopilot_ingest_dropped_total",
        "counter",
        "Lines or batches dropped (or repaired), by reason.",
    );
    for (reason, n) in m.dropped() {
        out.sample(
            "dynopilot_ingest_dropped_total",
            &[("reason", reason)],
            n as f64,
        );
    }
}

fn web(out: &mut Out, state: &WebState) {
    out.family(
        "dynopilot_http_requests_total",
        "counter",
        "Dashboard, API and monitoring requests by route kind and status class.",
    );
    let requests = state
        .metrics
        .requests
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default();
    for ((kind, class), n) in requests {
        out.sample(
            "dynopilot_http_requests_total",
            &[("kind", kind), ("status", class)],
            n as f64,
        );
    }
    out.family(
        "dynopilot_http_errors_total",
        "counter",
        "Error responses by error kind.",
    );
    let errors = state
        .metrics
        .errors
        .lock()
        .map(|e| e.clone())
        .unwrap_or_default();
    for (kind, n) in errors {
        out.sample("dynopilot_http_errors_total", &[("kind", kind)], n as f64);
    }
    let failures = state.metrics.login_failures.load(Ordering::Relaxed);
    out.single(
        "dynopilot_login_failures_total",
        "counter",
        "Failed sign-ins.",
        failures as f64,
    );
    if let Some(budget) = &state.budget {
        out.single(
            "dynopilot_heroku_rate_limit_remaining",
            "gauge",
            "Platform API requests left in our budget.",
            budget.remaining(),
        );
    }
    if let Some(http) = &state.http {
        http_connections(out, http);
    }
    if let Some(w) = &state.writer {
        out.single(
            "dynopilot_store_items_written_total",
            "counter",
            "Samples, rollups and events written by the recorder.",
            w.written() as f64,
        );
        out.single(
            "dynopilot_store_write_failures_total",
            "counter",
            "Failed store batch writes (retried).",
            w.failed_writes() as f64,
        );
        out.single(
            "dynopilot_store_items_dropped_total",
            "counter",
            "Items the recorder could not keep.",
            w.dropped() as f64,
        );
        out.single(
            "dynopilot_store_items_pending",
            "gauge",
            "Items held in memory until the store accepts them (grows during a store outage).",
            w.pending() as f64,
        );
    }
    let outage = state.store_health.outage();
    out.single(
        "dynopilot_store_up",
        "gauge",
        "1 while the store answers, 0 during an outage (then /healthz says degraded).",
        if outage.is_some() { 0.0 } else { 1.0 },
    );
    out.single(
        "dynopilot_store_outages_total",
        "counter",
        "Store outages since start (each raised one store-error alert, and one when it ended).",
        state.store_health.outages() as f64,
    );
    let lag = state.recorder_lag_seconds();
    out.single(
        "dynopilot_store_write_lag_seconds",
        "gauge",
        "Age of the newest observation handed to the store.",
        lag,
    );
}

fn runner(out: &mut Out, state: &WebState) {
    let r = &state.runner;
    out.single(
        "dynopilot_runner_ticks_total",
        "counter",
        "Policy evaluations of the whole fleet.",
        r.ticks() as f64,
    );
    out.single(
        "dynopilot_runner_tick_duration_seconds",
        "gauge",
        "How long the last evaluation took.",
        r.last_tick_ms() as f64 / 1000.0,
    );
    out.family(
        "dynopilot_decisions_total",
        "counter",
        "Decisions by action kind and mode (executed ones became actions).",
    );
    for ((kind, mode), n) in r.decisions() {
        out.sample(
            "dynopilot_decisions_total",
            &[("kind", &kind), ("mode", mode)],
            n as f64,
        );
    }
    let uptime = state.clock.now().since(state.started_at).as_secs_f64();
    out.single(
        "dynopilot_uptime_seconds",
        "gauge",
        "Seconds since the daemon started.",
        uptime,
    );
}

fn executor(out: &mut Out, state: &WebState) {
    out.family(
        "dynopilot_actions_total",
        "counter",
        "Executed decisions by action kind and outcome (succeeded, failed, skipped); failures carry the error kind.",
    );
    for ((kind, ended), n) in state.outcomes.actions() {
        let mut labels = vec![("kind", kind), ("outcome", ended.outcome())];
        if !ended.error().is_empty() {
            labels.push(("error", ended.error()));
        }
        out.sample("dynopilot_actions_total", &labels, n as f64);
    }
    out.family(
        "dynopilot_heroku_api_errors_total",
        "counter",
        "Platform API calls that failed after the client's retries, by error kind and caller.",
    );
    for ((caller, kind), n) in state.outcomes.api_errors() {
        out.sample(
            "dynopilot_heroku_api_errors_total",
            &[("kind", kind), ("caller", caller.as_str())],
            n as f64,
        );
    }
    heroku_attempts(out, &state.outcomes.heroku_attempts);
}

/// The client's own counts: every failed attempt, retried or not, and every retry.
fn heroku_attempts(out: &mut Out, attempts: &dynopilot_heroku::AttemptStats) {
    out.family(
        "dynopilot_heroku_attempts_failed_total",
        "counter",
        "Platform API attempts that failed, retried or not, by status class (429, 4xx, 5xx, transport).",
    );
    for (class, n) in attempts.failed() {
        out.sample(
            "dynopilot_heroku_attempts_failed_total",
            &[("class", class)],
            n as f64,
        );
    }
    out.single(
        "dynopilot_heroku_retries_total",
        "counter",
        "Platform API attempts that repeated a failed one.",
        attempts.retries() as f64,
    );
}

/// Latest figures of one process type, read under the fleet lock.
struct TypeFigures {
    app: String,
    process_type: String,
    memory_max_mb: Option<f64>,
    service_p95: Option<f64>,
    connect_p95: Option<f64>,
    queue_p95: Option<f64>,
}

/// Router windows merged for the p95 gauges: the last five minutes of 10 s windows.
const P95_WINDOWS: usize = 30;

fn fleet(out: &mut Out, state: &WebState) {
    let Ok(fleet) = state.ingest.fleet.lock() else {
        return;
    };
    out.family(
        "dynopilot_dynos",
        "gauge",
        "Dynos by app, process type, size and state.",
    );
    let mut figures = Vec::new();
    for app in state.apps.snapshot().keys() {
        let Some(app_state) = fleet.app(app) else {
            continue;
        };
        for (ty, pt) in &app_state.observed.process_types {
            let size = pt.formation.as_ref().map_or("unknown", |f| f.size.as_str());
            let mut by_state: BTreeMap<&str, u32> = BTreeMap::new();
            for d in pt.dynos.values() {
                *by_state.entry(lifecycle_name(d.lifecycle)).or_default() += 1;
            }
            for (st, n) in by_state {
                let labels = [
                    ("app", app.as_str()),
                    ("process_type", ty.as_str()),
                    ("size", size),
                    ("state", st),
                ];
                out.sample("dynopilot_dynos", &labels, f64::from(n));
            }
            let max = pt
                .dynos
                .values()
                .filter_map(|d| d.current_memory().next_back().map(|s| s.total_mb))
                .reduce(f64::max);
            let mut service = dynopilot_core::LatencySketch::default();
            let mut connect = dynopilot_core::LatencySketch::default();
            let mut queue = dynopilot_core::LatencySketch::default();
            for w in pt.router.iter().rev().take(P95_WINDOWS) {
                service.merge(&w.service_ms);
                connect.merge(&w.connect_ms);
                queue.merge(&w.queue_ms);
            }
            figures.push(TypeFigures {
                app: app.clone(),
                process_type: ty.clone(),
                memory_max_mb: max,
                service_p95: service.quantile(0.95),
                connect_p95: connect.quantile(0.95),
                queue_p95: queue.quantile(0.95),
            });
        }
    }
    drop(fleet);
    gauge_per_type(
        out,
        &figures,
        "dynopilot_memory_max_mb",
        "Highest latest memory use among a process type's dynos.",
        |f| f.memory_max_mb,
    );
    gauge_per_type(
        out,
        &figures,
        "dynopilot_service_p95_ms",
        "p95 router service time over the last five minutes.",
        |f| f.service_p95,
    );
    gauge_per_type(
        out,
        &figures,
        "dynopilot_connect_p95_ms",
        "p95 router connect time over the last five minutes.",
        |f| f.connect_p95,
    );
    gauge_per_type(
        out,
        &figures,
        "dynopilot_queue_time_p95_ms",
        "p95 request queue time reported by the app over the last five minutes.",
        |f| f.queue_p95,
    );
}

fn gauge_per_type(
    out: &mut Out,
    figures: &[TypeFigures],
    name: &str,
    help: &str,
    value: impl Fn(&TypeFigures) -> Option<f64>,
) {
    out.family(name, "gauge", help);
    for f in figures {
        if let Some(v) = value(f) {
            let labels = [
                ("app", f.app.as_str()),
                ("process_type", f.process_type.as_str()),
            ];
            out.sample(name, &labels, v);
        }
    }
}

/// Connection counters of the HTTP server: a flood shows as shed and refused connections.
fn http_connections(out: &mut Out, http: &crate::http_server::HttpStats) {
    let (accepted, shed, refused, header_timeouts) = http.totals();
    let counters = [
        (
            "dynopilot_http_connections_accepted_total",
            "Connections served normally.",
            accepted,
        ),
        (
            "dynopilot_http_connections_shed_total",
            "Connections over the cap, served one request (503 unless /healthz).",
            shed,
        ),
        (
            "dynopilot_http_connections_refused_total",
            "Connections answered 503 at once and closed: the shedding slots were full too.",
            refused,
        ),
        (
            "dynopilot_http_header_timeouts_total",
            "Connections closed because no request head arrived in time (idle ones too).",
            header_timeouts,
        ),
    ];
    for (name, help, value) in counters {
        out.single(name, "counter", help, value as f64);
    }
}
