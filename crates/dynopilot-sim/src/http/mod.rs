//! The Platform API server: routes, and the middleware every Heroku response goes through
//! (`Request-Id`, bearer auth, `Accept` version, injected faults, the per-token rate limit and
//! `RateLimit-Remaining`, the action history).

mod account;
mod addons;
mod config_vars;
pub mod conn;
mod dynos;
pub mod error;
mod extras;
mod formation;
mod logs;
pub mod range;
mod sim_api;
mod sim_files;
mod views;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use dynopilot_core::Clock;
use serde::Serialize;

use crate::drain::DrainConfig;
use crate::faults::{FailAnswer, FaultInjector, Refusal};
use crate::log_session::SessionConfig;
use crate::rendezvous::Rendezvous;
use crate::world::{Action, AppliedAction, SimApp, World};
use conn::ConnKill;
use error::ApiError;
use range::{Key, RangeSpec};

/// Largest request body accepted; bigger ones get `413`.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Everything a handler needs.
pub struct Shared {
    pub world: Arc<Mutex<World>>,
    pub clock: Arc<dyn Clock>,
    pub base_url: String,
    pub rendezvous: Arc<Rendezvous>,
    pub rendezvous_addr: SocketAddr,
    pub drain: DrainConfig,
    pub session: SessionConfig,
    /// Fires on shutdown; ends tailing log sessions.
    pub cancel: tokio_util::sync::CancellationToken,
    /// Injected 503s and 429 bursts (none unless a test sets them).
    pub faults: Arc<FaultInjector>,
}

impl Shared {
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub type SimState = Arc<Shared>;

/// Who is calling (set by the auth middleware).
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: String,
    pub email: String,
    /// `METHOD /path`, for the record of applied actions.
    pub request: String,
    /// Set when the handler's answer will be replaced by a fault (apply-then-fail).
    pub faulted: Option<String>,
}

impl Caller {
    /// Records a write that landed, with this request and its fault.
    pub fn applied(
        &self,
        world: &mut World,
        at: dynopilot_core::Timestamp,
        mut action: AppliedAction,
    ) {
        action.at = at;
        action.request.clone_from(&self.request);
        action.faulted.clone_from(&self.faulted);
        world.record_applied(action);
    }
}

/// The Platform API routes plus the log-session stream (which carries its own secret).
pub fn router(state: SimState) -> Router {
    let api = Router::new()
        .route("/account", get(account::account))
        .route("/account/rate-limits", get(account::rate_limits))
        .route("/apps", get(account::apps_list))
        .route("/apps/{app}", get(account::app_info))
        .route("/apps/{app}/features", get(account::features_list))
        .route(
            "/apps/{app}/features/{name}",
            get(account::feature_info).patch(account::feature_update),
        )
        .route("/apps/{app}/releases", get(account::releases_list))
        .route(
            "/apps/{app}/releases/{release}",
            get(config_vars::release_info),
        )
        .route(
            "/apps/{app}/releases/{release}/config-vars",
            get(config_vars::release_config),
        )
        .route(
            "/apps/{app}/config-vars",
            get(config_vars::info).patch(config_vars::update),
        )
        .route("/users/{user}/apps", get(addons::user_apps))
        .route("/account/features", get(addons::account_features))
        .route("/account/features/{name}", get(addons::account_feature))
        .route("/addons", get(addons::list_all))
        .route("/apps/{app}/addons", get(addons::list_by_app))
        .route("/apps/{app}/addons/{addon}", get(addons::info_by_app))
        .route("/addon-attachments", get(addons::attachments_all))
        .route(
            "/apps/{app}/addon-attachments",
            get(addons::attachments_by_app),
        )
        .route("/apps/{app}/collaborators", get(addons::collaborators))
        .route(
            "/apps/{app}/pipeline-couplings",
            get(addons::pipeline_coupling),
        )
        .route("/dyno-sizes", get(account::dyno_sizes))
        .route("/apps/{app}/available-dyno-sizes", get(account::dyno_sizes))
        .route(
            "/apps/{app}/formation",
            get(formation::list).patch(formation::batch_update),
        )
        .route(
            "/apps/{app}/formation/{ptype}",
            get(formation::info).patch(formation::update),
        )
        .route(
            "/apps/{app}/dynos",
            get(dynos::list)
                .post(dynos::create)
                .delete(dynos::restart_all),
        )
        .route(
            "/apps/{app}/dynos/{dyno}",
            get(dynos::info).delete(dynos::restart),
        )
        .route("/apps/{app}/dynos/{dyno}/actions/stop", post(dynos::stop))
        .route(
            "/apps/{app}/formations/{ptype}",
            delete(dynos::restart_type),
        )
        .route(
            "/apps/{app}/formations/{ptype}/actions/stop",
            post(dynos::stop_type),
        )
        .route("/apps/{app}/log-sessions", post(logs::session_create))
        .route(
            "/apps/{app}/log-drains",
            get(logs::drains_list).post(logs::drain_add),
        )
        .route(
            "/apps/{app}/log-drains/{drain}",
            get(logs::drain_info).delete(logs::drain_remove),
        )
        .fallback(|| async { ApiError::not_found("resource") })
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            platform_api,
        ));
    Router::new()
        .route("/sessions/{id}", get(crate::log_session::stream))
        .route("/_sim/actions", get(sim_api::actions))
        .route("/_sim/faults", get(sim_api::faults))
        .route("/_sim/apps/{app}/files", put(sim_files::set_image))
        .route(
            "/_sim/apps/{app}/dynos/{dyno}/files",
            get(sim_files::dyno_files),
        )
        .merge(api)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(request_id))
        .with_state(state)
}

async fn request_id(request: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("request-id", value);
    }
    response
}

/// Auth, version check, rate limit, injected faults and action history around every API
/// route.
async fn platform_api(State(state): State<SimState>, mut request: Request, next: Next) -> Response {
    let token = match bearer(request.headers()) {
        Ok(token) => token,
        Err(err) => return err.into_response(),
    };
    if let Err(err) = check_accept(request.headers()) {
        return err.into_response();
    }
    let now = state.clock.now();
    let free = request.uri().path() == "/account/rate-limits";
    let (account_id, email, remaining) = {
        let mut world = state.world();
        let Some(account) = world.account_by_token(&token) else {
            return ApiError::invalid_credentials().into_response();
        };
        let (id, email) = (account.id.clone(), account.email.clone());
        let remaining = if free {
            Some(world.limiter.remaining(&token, now))
        } else {
            world.limiter.take(&token, now)
        };
        (id, email, remaining)
    };
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let decision = state.faults.decide(method.as_str(), &path);
    if !decision.latency.is_zero() {
        // Network latency is real time, whatever clock drives the world.
        tokio::time::sleep(decision.latency).await;
    }
    let call = Call {
        at: now,
        email: email.clone(),
        method: method.clone(),
        path: path.clone(),
    };
    if let Some(refusal) = decision.before {
        return refuse(&state, &request, call, refusal);
    }
    let Some(remaining) = remaining else {
        let mut response = ApiError::rate_limited().into_response();
        response
            .headers_mut()
            .insert("ratelimit-remaining", HeaderValue::from(0u32));
        return response;
    };
    let kill = request.extensions().get::<ConnectInfo<ConnKill>>().cloned();
    request.extensions_mut().insert(Caller {
        account_id,
        email,
        request: format!("{method} {path}"),
        faulted: decision.after.map(answer_label),
    });
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert("ratelimit-remaining", HeaderValue::from(remaining));
    // A lost answer is lost whatever it was; the history says whether the write had landed.
    let real = response.status();
    let what = if real.is_success() {
        "after applying".to_string()
    } else {
        format!("instead of {}", real.as_u16())
    };
    let faulted = match decision.after {
        None => None,
        Some(FailAnswer::Status(status)) => {
            response = unavailable(status).into_response();
            Some(format!("{status} {what}"))
        }
        Some(FailAnswer::Reset) => {
            drop_connection(kill.as_ref());
            // Only written if the connection could not be dropped.
            response = unavailable(503).into_response();
            Some(format!("reset {what}"))
        }
    };
    if method != Method::GET {
        let status = if decision.after == Some(FailAnswer::Reset) {
            RESET_STATUS
        } else {
            response.status().as_u16()
        };
        call.record(&state, status, faulted);
    }
    response
}

/// A dropped connection in the call history: nginx's "closed without a response".
const RESET_STATUS: u16 = 444;

/// One API call, for the history.
struct Call {
    at: dynopilot_core::Timestamp,
    email: String,
    method: Method,
    path: String,
}

impl Call {
    fn record(self, state: &SimState, status: u16, faulted: Option<String>) {
        state.world().actions.push(Action {
            at: self.at,
            account_email: self.email,
            method: self.method.to_string(),
            path: self.path,
            status,
            faulted,
        });
    }
}

/// How `/_sim/actions` names a lost answer.
fn answer_label(answer: FailAnswer) -> String {
    match answer {
        FailAnswer::Status(status) => status.to_string(),
        FailAnswer::Reset => "reset".to_string(),
    }
}

fn unavailable(status: u16) -> ApiError {
    ApiError::new(
        StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        "service_unavailable",
        "The API is temporarily unavailable (injected fault).",
    )
}

/// Cuts the request's connection; the answer returned afterwards is never written. Without
/// the simulator's listener (no `ConnKill`) the client gets the `503` instead.
fn drop_connection(kill: Option<&ConnectInfo<ConnKill>>) {
    match kill {
        Some(ConnectInfo(kill)) => kill.kill(),
        None => tracing::warn!("cannot drop a connection not accepted by the simulator"),
    }
}

/// The answer to a request an injected fault refused before any handler ran; writes are
/// still recorded (with the fault's status) so tests can count attempts.
fn refuse(state: &SimState, request: &Request, call: Call, refusal: Refusal) -> Response {
    let (response, status, label) = match refusal {
        Refusal::Status(status) => (
            unavailable(status).into_response(),
            status,
            status.to_string(),
        ),
        Refusal::RateLimited => {
            let mut response = ApiError::rate_limited().into_response();
            response
                .headers_mut()
                .insert("ratelimit-remaining", HeaderValue::from(0u32));
            (response, 429, "429".to_string())
        }
        Refusal::Reset => {
            drop_connection(request.extensions().get::<ConnectInfo<ConnKill>>());
            // Only written if the connection could not be dropped.
            (
                unavailable(503).into_response(),
                RESET_STATUS,
                "reset".to_string(),
            )
        }
    };
    if request.method() != Method::GET {
        call.record(state, status, Some(label));
    }
    response
}

fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(ApiError::unauthorized)?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(ApiError::unauthorized)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized());
    }
    Ok(token.trim().to_string())
}

/// Only API v3 (and its `3.x` variants) exists; other `vnd.heroku+json` versions are refused.
/// A missing or generic `Accept` is let through.
fn check_accept(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    if !accept.contains("application/vnd.heroku+json") {
        return Ok(());
    }
    let version = accept
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("version="))
        .next();
    match version {
        Some(v) if v == "3" || v.starts_with("3.") => Ok(()),
        _ => Err(ApiError::bad_request(
            "Please specify a version along with Heroku's API MIME type. For example, `Accept: application/vnd.heroku+json; version=3`.",
        )),
    }
}

/// Finds the caller's app by id or name: 404 when it does not exist, 403 when it belongs to
/// another account.
pub fn app_mut<'w>(
    world: &'w mut World,
    caller: &Caller,
    key: &str,
) -> Result<&'w mut SimApp, ApiError> {
    let index = world
        .app_index(key)
        .ok_or_else(|| ApiError::not_found("app"))?;
    let app = &mut world.apps[index];
    if app.owner_id != caller.account_id {
        return Err(ApiError::forbidden(format!(
            "You do not have access to the app {}.",
            app.name
        )));
    }
    Ok(app)
}

/// A JSON response with a status.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    (status, axum::Json(value)).into_response()
}

/// A list response honouring `Range` over `fields` (the first is the default).
pub fn list<T: Serialize>(
    headers: &HeaderMap,
    fields: &[&str],
    items: Vec<T>,
    key: impl Fn(&T, &str) -> Key,
) -> Result<Response, ApiError> {
    let spec = match headers.get(header::RANGE).map(|v| v.to_str()) {
        Some(Ok(text)) => range::parse(text, fields)?,
        Some(Err(_)) => return Err(ApiError::bad_request("Invalid `Range` header.")),
        None => RangeSpec::default_for(fields.first().copied().unwrap_or("id")),
    };
    let field = spec.field.clone();
    let page = range::paginate(items, &spec, |t| key(t, &field));
    let mut response = json(page.status, &page.items);
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&fields.join(", ")) {
        headers.insert("accept-ranges", v);
    }
    for (name, value) in [
        ("content-range", page.content_range),
        ("next-range", page.next_range),
    ] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, v);
        }
    }
    Ok(response)
}
