//! Agent reports from inside the apps, for teams that already run Judoscale or HireFire
//! adapters: Judoscale v3 reports (`POST /agents/judoscale/<token>/v3/reports`, the adapter's
//! `JUDOSCALE_URL` pointing at `/agents/judoscale/<token>`), HireFire pushes (`POST /` or
//! `POST /agents/hirefire`, header `HireFire-Token`) and HireFire info pulls (`hirefire`
//! module). Every report is mapped to dynopilot's own signals (`report`): web queue time for
//! `queue_time_p95`, job queues for the `queue` autoscaler. A malformed, oversized or
//! unauthenticated report is refused with a 4xx that says why and counted
//! (`dynopilot_agent_reports_total`); it never touches the state, and the next good one lands.

pub mod hirefire;
pub mod judoscale;
pub mod report;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use dynopilot_core::{Clock, Timestamp};
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::AgentsConfig;
use crate::ingest::Ingest;
pub use report::{Applied, Report, ReportError};

/// Largest report accepted. A Judoscale report holds one tuple per request of 10 s on one
/// dyno plus up to 20 queues; HireFire pushes a second of queue times.
pub const MAX_REPORT_BYTES: usize = 256 * 1024;

/// Which protocol brought a report (the `protocol` label on `/metrics`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Judoscale,
    HireFirePush,
    HireFirePull,
}

impl Protocol {
    pub fn key(self) -> &'static str {
        match self {
            Protocol::Judoscale => "judoscale",
            Protocol::HireFirePush => "hirefire_push",
            Protocol::HireFirePull => "hirefire_pull",
        }
    }
}

/// Which app each agent token belongs to, and how its job queues map to process types.
#[derive(Debug, Default)]
pub struct AgentDirectory {
    judoscale: Vec<(String, String)>,
    hirefire: Vec<(String, String)>,
    configs: BTreeMap<String, AgentsConfig>,
}

impl AgentDirectory {
    /// Registers `app`'s agents (replacing what it had).
    pub fn register(&mut self, app: &str, agents: &AgentsConfig) {
        self.judoscale.retain(|(_, a)| a != app);
        self.hirefire.retain(|(_, a)| a != app);
        if let Some(token) = &agents.judoscale_token {
            self.judoscale
                .push((token.expose().to_owned(), app.to_owned()));
        }
        if let Some(h) = &agents.hirefire {
            self.hirefire
                .push((h.token.expose().to_owned(), app.to_owned()));
        }
        self.configs.insert(app.to_owned(), agents.clone());
    }

    /// The app of `token`, compared in constant time against every registered token.
    fn app_of(&self, protocol: Protocol, token: &str) -> Option<String> {
        let tokens = match protocol {
            Protocol::Judoscale => &self.judoscale,
            Protocol::HireFirePush | Protocol::HireFirePull => &self.hirefire,
        };
        let mut found = None;
        for (t, app) in tokens {
            if bool::from(t.as_bytes().ct_eq(token.as_bytes())) {
                found = Some(app.clone());
            }
        }
        found
    }
}

#[derive(Clone)]
pub struct AgentState {
    pub ingest: Ingest,
    pub directory: Arc<RwLock<AgentDirectory>>,
}

pub fn router(state: AgentState) -> Router {
    Router::new()
        .route(
            "/agents/judoscale/{token}/v3/reports",
            post(judoscale_report),
        )
        .route("/agents/hirefire", post(hirefire_push))
        // HireFire's Python middleware posts to the root of HIREFIRE_DISPATCH_URL's host.
        .route("/", post(hirefire_push))
        .with_state(state)
}

async fn judoscale_report(
    State(state): State<AgentState>,
    Path(token): Path<String>,
    body: Body,
) -> Response {
    receive(
        &state,
        Protocol::Judoscale,
        Some(&token),
        body,
        judoscale::parse,
    )
    .await
}

async fn hirefire_push(
    State(state): State<AgentState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let token = headers
        .get("hirefire-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    receive(
        &state,
        Protocol::HireFirePush,
        token.as_deref(),
        body,
        hirefire::parse_push,
    )
    .await
}

/// Authenticates, reads at most `MAX_REPORT_BYTES`, parses and applies one report.
async fn receive(
    state: &AgentState,
    protocol: Protocol,
    token: Option<&str>,
    body: Body,
    parse: fn(&[u8]) -> Result<Report, ReportError>,
) -> Response {
    let metrics = &state.ingest.metrics;
    let count = |outcome| metrics.count_agent(protocol.key(), outcome);
    let app = token.and_then(|t| state.directory.read().ok()?.app_of(protocol, t));
    let Some(app) = app else {
        count("unknown_token");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "unknown agent token: no app is configured with it ([apps.agents])",
        );
    };
    let Ok(bytes) = axum::body::to_bytes(body, MAX_REPORT_BYTES).await else {
        count("too_large");
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("report larger than {MAX_REPORT_BYTES} bytes (or the body broke off)"),
        );
    };
    let report = match parse(&bytes) {
        Ok(r) => r,
        Err(e) => {
            count("malformed");
            return refuse(StatusCode::BAD_REQUEST, &e.to_string());
        }
    };
    let now = state.ingest.clock.now();
    let applied = apply_to(&state.ingest, &state.directory, &app, &report, now);
    count("accepted");
    if applied.stale > 0 {
        tracing::debug!(
            app,
            protocol = protocol.key(),
            stale = applied.stale,
            "agent metrics stamped too far from now were skipped"
        );
    }
    let body = serde_json::json!({
        "app": app,
        "queue_times": applied.queue_times,
        "queue_samples": applied.queue_samples,
        "skipped_stale": applied.stale,
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": why }))).into_response()
}

/// Applies `report` to `app` under the fleet lock, with the app's queue mapping.
pub fn apply_to(
    ingest: &Ingest,
    directory: &RwLock<AgentDirectory>,
    app: &str,
    report: &Report,
    now: Timestamp,
) -> Applied {
    let agents = directory
        .read()
        .ok()
        .and_then(|d| d.configs.get(app).cloned())
        .unwrap_or_default();
    let Ok(mut fleet) = ingest.fleet.lock() else {
        return Applied::default();
    };
    let applied = report::apply(fleet.app_mut(app), report, &agents, now);
    if applied.stale > 0 {
        ingest.metrics.count_agent_stale(applied.stale as u64);
    }
    applied
}

/// Registers `app`'s agents, marks the signals they bring (so the policies reading them are
/// not blind without a log source), and starts its HireFire pull, stopped with `cancel`.
pub fn start(
    state: &AgentState,
    app: &str,
    agents: &AgentsConfig,
    clock: &Arc<dyn Clock>,
    tasks: &TaskTracker,
    cancel: &CancellationToken,
) {
    if agents.is_empty() {
        return;
    }
    if let Ok(mut directory) = state.directory.write() {
        directory.register(app, agents);
    }
    if let Ok(mut fleet) = state.ingest.fleet.lock() {
        let observed = &mut fleet.app_mut(app).observed;
        observed.agent_queue_time.insert("web".to_owned());
        if agents.judoscale_token.is_some() {
            observed.queue_readers.extend(agents.queue_process_types());
        }
    }
    let Some(hirefire) = &agents.hirefire else {
        return;
    };
    let Some(pull) = &hirefire.pull else {
        return;
    };
    let puller = hirefire::Puller {
        app: app.to_owned(),
        token: hirefire.token.expose().to_owned(),
        pull: pull.clone(),
        ingest: state.ingest.clone(),
        directory: Arc::clone(&state.directory),
        clock: Arc::clone(clock),
    };
    tasks.spawn(puller.run(cancel.clone()));
}
