//! Log sessions (create; the stream itself is `log_session.rs`) and log drains.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use dynopilot_heroku::wire::LogSession;
use serde::Deserialize;

use super::error::{ApiError, parse_json};
use super::range::Key;
use super::{Caller, SimState, app_mut, json, views};
use crate::drain::{DrainOutlet, DrainTarget, run_delivery};
use crate::logs::{HISTORY_LINES, LogFilter};
use crate::world::{Drain, SessionSpec};

/// Lines replayed when a session does not say (the CLI's default).
const DEFAULT_LINES: usize = 100;
/// Logplex's default limit of drains per app.
const MAX_DRAINS: usize = 6;

#[derive(Debug, Default, Deserialize)]
struct SessionCreate {
    dyno_name: Option<String>,
    /// The pre-2024 name of `dyno_name`, still sent by the CLI.
    dyno: Option<String>,
    #[serde(rename = "type")]
    process_type: Option<String>,
    source: Option<String>,
    lines: Option<i64>,
    tail: Option<bool>,
}

pub async fn session_create(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let create: SessionCreate = parse_json(&body)?;
    let lines = match create.lines {
        Some(n) if n < 0 => return Err(ApiError::invalid_params("lines must be positive.")),
        Some(n) => usize::try_from(n)
            .unwrap_or(HISTORY_LINES)
            .min(HISTORY_LINES),
        None => DEFAULT_LINES,
    };
    let now = state.clock.now();
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    let spec = SessionSpec {
        app_id: app.id.clone(),
        filter: LogFilter {
            dyno: create.dyno_name.or(create.dyno).or(create.process_type),
            source: create.source,
        },
        lines,
        tail: create.tail == Some(true),
        created_at: now,
    };
    let id = uuid::Uuid::new_v4().to_string();
    world.sessions.insert(id.clone(), spec);
    let session = LogSession {
        logplex_url: format!(
            "{}/sessions/{id}?srv={}",
            state.base_url,
            now.as_millis() / 1000
        ),
        id,
        created_at: Some(now.to_jiff()),
        updated_at: Some(now.to_jiff()),
    };
    Ok(json(StatusCode::CREATED, &session))
}

pub async fn drains_list(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let items: Vec<_> = {
        let mut world = state.world();
        let app = app_mut(&mut world, &caller, &app)?;
        app.drains.iter().map(|d| views::drain(app, d)).collect()
    };
    super::list(&headers, &["id", "url"], items, |d, field| {
        Key::Text(if field == "url" {
            d.url.clone()
        } else {
            d.id.clone()
        })
    })
}

pub async fn drain_info(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path((app, drain)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    let i = app
        .drain_index(&drain)
        .ok_or_else(|| ApiError::not_found("drain"))?;
    Ok(json(StatusCode::OK, &views::drain(app, &app.drains[i])))
}

#[derive(Debug, Deserialize)]
struct DrainCreate {
    url: Option<String>,
}

pub async fn drain_add(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let create: DrainCreate = parse_json(&body)?;
    let url = create
        .url
        .ok_or_else(|| ApiError::invalid_params("Missing required params: url."))?;
    let now = state.clock.now();
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    if app.drains.iter().any(|d| d.url == url) {
        return Err(ApiError::invalid_params("Url has already been taken"));
    }
    if app.drains.len() >= MAX_DRAINS {
        return Err(ApiError::invalid_params(format!(
            "An app can have at most {MAX_DRAINS} log drains."
        )));
    }
    let token = format!("d.{}", uuid::Uuid::new_v4());
    let target = DrainTarget::parse(&url, &token)
        .map_err(|e| ApiError::invalid_params(format!("Url is invalid: {e}")))?;
    let outlet = DrainOutlet::new(&state.drain);
    tokio::spawn(run_delivery(
        Arc::clone(&outlet),
        target,
        state.drain.clone(),
        Arc::clone(&state.clock),
    ));
    let drain = Drain {
        id: uuid::Uuid::new_v4().to_string(),
        url,
        token,
        created_at: now,
        outlet,
    };
    let body = views::drain(app, &drain);
    app.drains.push(drain);
    Ok(json(StatusCode::CREATED, &body))
}

pub async fn drain_remove(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path((app, drain)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    let i = app
        .drain_index(&drain)
        .ok_or_else(|| ApiError::not_found("drain"))?;
    let drain = app.drains.remove(i);
    drain.outlet.cancel.cancel();
    Ok(json(StatusCode::OK, &views::drain(app, &drain)))
}
