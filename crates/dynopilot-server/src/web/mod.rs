//! The dashboard, the JSON API under `/api/v1/`, `/metrics` and `/healthz`: one axum router
//! merged into the daemon's HTTP server next to the drain endpoint.

pub mod allowance;
pub mod api;
pub mod assets;
pub mod auth;
pub mod confirm;
pub mod control;
pub mod credentials;
pub mod flash;
pub mod link;
pub mod login_limit;
pub mod metrics;
pub mod notifications;
pub mod observation;
pub mod pages;
pub mod problem;
pub mod recorder;
pub mod restart_requests;
pub mod security_headers;
pub mod series;
pub mod summary;
pub mod timeline;
pub mod view;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use dynopilot_core::policy;
use dynopilot_core::{Clock, Timestamp};
use dynopilot_heroku::RequestBudget;
use dynopilot_store::{Store, WriterStats};
use tokio::sync::mpsc;

use crate::ingest::Ingest;
pub use auth::{Credentials, WebSettings};
pub use control::{Command, ControlReply, ControlRequest, Modes, RunnerStats};
pub use metrics::WebMetrics;

/// Everything the handlers read; cheap to clone.
#[derive(Clone)]
pub struct WebState {
    pub ingest: Ingest,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Watched apps and their policies, by app name (discovery changes them while running).
    pub apps: Arc<crate::watched::WatchedApps>,
    pub controls: mpsc::Sender<ControlRequest>,
    pub modes: Arc<Modes>,
    pub auth: Arc<auth::Auth>,
    pub started_at: Timestamp,
    pub metrics: Arc<WebMetrics>,
    pub runner: Arc<RunnerStats>,
    /// The Platform API budget, when there is a client (absent in page benches).
    pub budget: Option<Arc<RequestBudget>>,
    /// The HTTP server's connection counters (shedding, refusals, head timeouts), when it runs.
    pub http: Option<Arc<crate::http_server::HttpStats>>,
    /// The recorder's store writer, when it runs.
    pub writer: Option<Arc<WriterStats>>,
    pub recorder: Arc<recorder::RecorderStats>,
    /// Executor outcomes and Platform API errors; the daemon hands the same counters to the
    /// executor and the pollers.
    pub outcomes: Arc<crate::outcomes::Outcomes>,
    /// Store outages, shared with the runner: `/healthz` reports them.
    pub store_health: Arc<crate::store_health::StoreHealth>,
    /// Alert delivery counters by channel and outcome (`/metrics`).
    pub alerts: Arc<crate::alerts::AlertStats>,
    /// Notices waiting for the next page view of the session that posted a form.
    pub flashes: Arc<flash::Flashes>,
}

/// Every route of the API as (method, path) in OpenAPI's path syntax; a test checks that
/// `docs/openapi.yaml` documents each one.
pub const API_ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/apps"),
    ("get", "/api/v1/apps/{app}"),
    ("get", "/api/v1/apps/{app}/formation"),
    ("get", "/api/v1/apps/{app}/dynos"),
    ("get", "/api/v1/apps/{app}/series"),
    ("get", "/api/v1/apps/{app}/decisions"),
    ("get", "/api/v1/apps/{app}/actions"),
    ("get", "/api/v1/apps/{app}/events"),
    ("post", "/api/v1/apps/{app}/controls"),
    ("post", "/api/v1/apps/{app}/restart-requests"),
    ("get", "/api/v1/openapi.yaml"),
    ("get", "/api/v1/apps/{app}/notifications"),
];

/// The web router. Dashboard and API need a session when `settings` say so; `/healthz`,
/// `/metrics`, the login page and static files never do.
pub fn router(state: WebState) -> Router {
    let https = state.auth.settings.https;
    let protected = Router::new()
        .route("/", get(pages::fleet))
        .route("/fleet/table", get(pages::fleet_table))
        .route("/apps/{app}", get(pages::app))
        .route("/apps/{app}/panel", get(pages::app_panel))
        .route("/apps/{app}/timeline", get(timeline::page))
        .route("/apps/{app}/controls", post(pages::control_form))
        .route("/api/v1/apps", get(api::apps))
        .route("/api/v1/apps/{app}", get(api::app))
        .route("/api/v1/apps/{app}/formation", get(api::formation))
        .route("/api/v1/apps/{app}/dynos", get(api::dynos))
        .route("/api/v1/apps/{app}/series", get(api::series))
        .route("/api/v1/apps/{app}/decisions", get(api::decisions))
        .route("/api/v1/apps/{app}/actions", get(api::actions))
        .route("/api/v1/apps/{app}/events", get(api::events))
        .route("/api/v1/apps/{app}/controls", post(api::control))
        .route("/api/v1/apps/{app}/notifications", get(notifications::list))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_session,
        ));
    Router::new()
        .merge(protected)
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/healthz", get(metrics::healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/api/v1/openapi.yaml", get(assets::openapi))
        // The app's own bearer token, not a dashboard session (`restart_requests.rs`).
        .route(
            "/api/v1/apps/{app}/restart-requests",
            post(restart_requests::create),
        )
        .route("/assets/{file}", get(assets::file))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(problem::ensure))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count_requests,
        ))
        // Outermost: a request for a foreign host name gets no session and reaches nothing.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::check_host_and_origin,
        ))
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                security_headers::add(https, request, next)
            },
        ))
        .with_state(state)
}

/// Unknown paths: a problem document under the API, a plain 404 elsewhere.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if problem::covers(uri.path()) {
        WebError::not_found(format!("no such resource: {}", uri.path())).into_response()
    } else {
        (axum::http::StatusCode::NOT_FOUND, "not found\n").into_response()
    }
}

/// The error every handler returns: a status and a message, as JSON for the API.
#[derive(Debug)]
pub struct WebError {
    pub status: axum::http::StatusCode,
    pub kind: &'static str,
    pub message: String,
}

impl WebError {
    pub fn not_found(what: impl Into<String>) -> Self {
        WebError {
            status: axum::http::StatusCode::NOT_FOUND,
            kind: "not_found",
            message: what.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        WebError {
            status: axum::http::StatusCode::BAD_REQUEST,
            kind: "bad_request",
            message: message.into(),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        WebError {
            status: axum::http::StatusCode::UNAUTHORIZED,
            kind: "unauthorized",
            message: message.into(),
        }
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        WebError {
            status: axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            kind: "unprocessable",
            message: message.into(),
        }
    }

    pub fn internal(kind: &'static str, message: impl std::fmt::Display) -> Self {
        WebError {
            status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            kind,
            message: message.to_string(),
        }
    }
}

/// A store that fails is an outage to wait out, not a bug: 503, so clients retry later.
impl From<dynopilot_store::StoreError> for WebError {
    fn from(e: dynopilot_store::StoreError) -> Self {
        WebError {
            status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
            kind: STORE_UNAVAILABLE,
            message: format!(
                "the store is not answering ({}); ingest goes on and actions wait until it is back",
                crate::config::redact_urls_in(&e.to_string())
            ),
        }
    }
}

/// The error kind of a request that failed because the store did.
pub const STORE_UNAVAILABLE: &str = "store_unavailable";

impl axum::response::IntoResponse for WebError {
    fn into_response(self) -> axum::response::Response {
        let mut response = problem::respond(self.status, self.kind, &self.message);
        response.extensions_mut().insert(ErrorKind(self.kind));
        response
    }
}

/// Attached to error responses so the request counter can label errors by kind.
#[derive(Clone, Copy, Debug)]
pub struct ErrorKind(pub &'static str);

impl WebState {
    /// State for the runner behind `link`; budget and writer stats are filled in by the daemon.
    pub fn new(
        ingest: Ingest,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        apps: BTreeMap<String, policy::Config>,
        controls: mpsc::Sender<ControlRequest>,
        link: &link::RunnerLink,
        settings: WebSettings,
    ) -> Self {
        WebState {
            ingest,
            store,
            started_at: clock.now(),
            clock,
            apps: Arc::new(crate::watched::WatchedApps::new(apps)),
            controls,
            modes: Arc::clone(&link.modes),
            auth: Arc::new(auth::Auth::new(settings)),
            metrics: Arc::default(),
            runner: Arc::clone(&link.stats),
            budget: None,
            http: None,
            writer: None,
            recorder: Arc::default(),
            outcomes: Arc::default(),
            store_health: Arc::clone(&link.store_health),
            alerts: Arc::default(),
            flashes: Arc::default(),
        }
    }

    /// The app's policy config, or 404.
    pub fn config(&self, app: &str) -> Result<policy::Config, WebError> {
        self.apps
            .get(app)
            .ok_or_else(|| WebError::not_found(format!("no app named {app}")))
    }
}
