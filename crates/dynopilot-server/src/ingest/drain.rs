//! The HTTPS drain endpoint: `POST /drain/<app>` (basic auth) or `/drain/<app>/<secret>`.
//! Authenticates in constant time, maps the request to an app (also by `Logplex-Drain-Token`),
//! dedupes retried batches by `Logplex-Frame-Id`, applies what parses and answers 204 fast.
//! Under overload it answers 503, which logplex retries; never a 4xx for transient trouble.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use dynopilot_logplex::frame::{FrameReader, Step};
use dynopilot_logplex::{MsgCountCheck, check_msg_count};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use super::dedupe::FrameIds;
use super::{Entry, Ingest};

/// Which apps may send logs, and the drain tokens Heroku assigned them.
#[derive(Debug, Default, Clone)]
pub struct AppDirectory {
    pub apps: BTreeSet<String>,
    /// Drain token (`d.…`) → app name, learned from `GET /apps/{app}/log-drains`.
    pub tokens: BTreeMap<String, String>,
}

impl AppDirectory {
    fn resolve(&self, segment: &str, header_token: Option<&str>) -> Option<String> {
        if self.apps.contains(segment) {
            return Some(segment.to_owned());
        }
        self.tokens
            .get(segment)
            .or_else(|| header_token.and_then(|t| self.tokens.get(t)))
            .cloned()
    }
}

pub struct DrainSettings {
    pub secret: String,
    pub max_body_bytes: usize,
    /// Batches parsed at once; more are shed with 503.
    pub max_in_flight: usize,
}

pub struct DrainState {
    ingest: Ingest,
    secret: String,
    pub directory: Arc<RwLock<AppDirectory>>,
    frame_ids: Mutex<FrameIds>,
    in_flight: Semaphore,
}

impl DrainState {
    pub fn new(
        ingest: Ingest,
        settings: &DrainSettings,
        directory: Arc<RwLock<AppDirectory>>,
    ) -> Self {
        DrainState {
            ingest,
            secret: settings.secret.clone(),
            directory,
            frame_ids: Mutex::new(FrameIds::new(10_000)),
            in_flight: Semaphore::new(settings.max_in_flight.max(1)),
        }
    }

    pub fn ingest(&self) -> &Ingest {
        &self.ingest
    }

    /// One drain POST as the handlers see it, without the network (the fuzz target's entry):
    /// `path_secret` is the `/drain/<app>/<secret>` segment; without it the basic-auth
    /// password in `headers` must match.
    pub fn receive(
        &self,
        segment: &str,
        path_secret: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> StatusCode {
        match path_secret {
            Some(secret) => receive(self, segment, Some(secret), headers, body),
            None => {
                let password = basic_password(headers);
                receive(self, segment, password.as_deref(), headers, body)
            }
        }
    }
}

pub fn router(
    ingest: Ingest,
    settings: DrainSettings,
    directory: Arc<RwLock<AppDirectory>>,
) -> Router {
    let state = Arc::new(DrainState::new(ingest, &settings, directory));
    Router::new()
        .route("/drain/{app}", post(with_basic_auth))
        .route("/drain/{app}/{secret}", post(with_path_secret))
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        // Errors as problem details, and the same headers as every other response.
        .layer(axum::middleware::from_fn(crate::web::problem::ensure))
        .layer(axum::middleware::from_fn(
            |request: axum::extract::Request, next: axum::middleware::Next| {
                crate::web::security_headers::add(false, request, next)
            },
        ))
        .with_state(state)
}

async fn with_basic_auth(
    State(state): State<Arc<DrainState>>,
    Path(app): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    state.receive(&app, None, &headers, &body)
}

async fn with_path_secret(
    State(state): State<Arc<DrainState>>,
    Path((app, secret)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    state.receive(&app, Some(&secret), &headers, &body)
}

fn basic_password(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (_, password) = text.split_once(':')?;
    Some(password.to_owned())
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The batch's `Logplex-Frame-Id`, any bytes kept apart: an id that is not plain text still
/// dedupes its retries (escaping is one-to-one, so two different ids never collide).
fn frame_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("logplex-frame-id")
        .map(|v| v.as_bytes().escape_ascii().to_string())
}

fn receive(
    state: &DrainState,
    segment: &str,
    secret: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> StatusCode {
    let metrics = &state.ingest.metrics;
    let authorised =
        secret.is_some_and(|s| bool::from(s.as_bytes().ct_eq(state.secret.as_bytes())));
    if !authorised {
        metrics.count_dropped("unauthorized", 1);
        return StatusCode::UNAUTHORIZED;
    }
    let token = header(headers, "logplex-drain-token");
    let app = match state.directory.read() {
        Ok(directory) => directory.resolve(segment, token),
        Err(_) => None,
    };
    let Some(app) = app else {
        metrics.count_dropped("unknown_app", 1);
        return StatusCode::NOT_FOUND;
    };
    let frame_id = frame_id(headers);
    let frame_id = frame_id.as_deref();
    if frame_id.is_some_and(|id| state.frame_ids.lock().is_ok_and(|ids| ids.contains(id))) {
        metrics.count_dropped("duplicate_batch", 1);
        return StatusCode::NO_CONTENT;
    }
    let Ok(_permit) = state.in_flight.try_acquire() else {
        metrics.count_dropped("shed_overload", 1);
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    metrics.add_batch(body.len() as u64);
    let (frames, issues) = apply_body(&state.ingest, &app, body);
    if issues > 0 {
        metrics.count_dropped("bad_frame", issues);
    }
    if let MsgCountCheck::Mismatch { declared, parsed } =
        check_msg_count(header(headers, "logplex-msg-count"), frames)
    {
        metrics.count_dropped("msg_count_mismatch", declared.abs_diff(parsed) as u64);
    }
    if let (Some(id), Ok(mut ids)) = (frame_id, state.frame_ids.lock()) {
        ids.insert(id);
    }
    StatusCode::NO_CONTENT
}

/// Parses a body and applies its frames; returns (frames applied, issues met).
pub fn apply_body(ingest: &Ingest, app: &str, body: &[u8]) -> (usize, u64) {
    let mut issues = 0u64;
    let mut reader = FrameReader::new(body);
    let steps = std::iter::from_fn(|| reader.next_step(true));
    let entries = steps.filter_map(|step| match step {
        Step::Frame(f) => Some(Entry {
            timestamp: f.timestamp,
            source: f.source,
            process: f.process,
            message: f.message,
            text: f.text,
        }),
        Step::Issue(_) => {
            issues += 1;
            None
        }
    });
    let frames = ingest.apply_entries(app, entries);
    (frames, issues)
}
