//! `POST /api/v1/apps/{app}/restart-requests`: the application asks for a restart of one of
//! its dynos (bearer token from the config, JSON `{"dyno": "web.2", "reason": "…"}`). A request
//! only counts towards the dyno's restart counter; the core's `restart_counter` policy decides
//! the restart (threshold, TTL, guardrails, journal), exactly as for the log-line convention.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use dynopilot_core::names::{DynoName, split_dyno_name};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::{WebError, WebState};
use crate::fleet::restart_request;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RestartRequest {
    dyno: String,
    #[serde(default)]
    reason: String,
}

/// What the app gets back: the request was counted, and how many are pending for the dyno.
#[derive(Debug, Serialize)]
pub struct Counted {
    pub app: String,
    pub dyno: String,
    /// Requests for this dyno dynopilot holds (the policy counts those within its TTL).
    pub pending: usize,
    pub reason: String,
}

pub async fn create(
    State(state): State<WebState>,
    Path(app): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Counted>), WebError> {
    state.config(&app)?;
    authorize(&state, &app, &headers)?;
    let request: RestartRequest = serde_json::from_slice(&body).map_err(|e| {
        WebError::unprocessable(format!(
            "body must be JSON like {{\"dyno\": \"web.2\", \"reason\": \"…\"}}: {e}"
        ))
    })?;
    if DynoName::parse(&request.dyno).is_err() {
        return Err(WebError::unprocessable(format!(
            "`{}` is not a dyno name like `web.2`",
            request.dyno
        )));
    }
    let pending = count(&state, &app, &request.dyno)?;
    tracing::info!(%app, dyno = %request.dyno, reason = %request.reason, pending, "restart request");
    state.ingest.urgent.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(Counted {
            app,
            dyno: request.dyno,
            pending,
            reason: request.reason,
        }),
    ))
}

/// 401 unless the request carries the app's token as `Authorization: Bearer …`.
fn authorize(state: &WebState, app: &str, headers: &HeaderMap) -> Result<(), WebError> {
    let Some(expected) = state.auth.settings.restart_request_tokens.get(app) else {
        return Err(WebError::unauthorized(format!(
            "restart requests are off for {app}: no restart_request_token is configured"
        )));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    if given.is_empty() || !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(WebError::unauthorized(
            "missing or wrong bearer token (Authorization: Bearer <restart_request_token>)",
        ));
    }
    Ok(())
}

/// Adds one restart-counter event to a dyno dynopilot knows; 422 for any other dyno.
fn count(state: &WebState, app: &str, dyno: &str) -> Result<usize, WebError> {
    let now = state.clock.now();
    let mut fleet = state
        .ingest
        .fleet
        .lock()
        .map_err(|_| WebError::internal("state", "the fleet state is unavailable"))?;
    let observed = &mut fleet.app_mut(app).observed;
    let known: Vec<String> = observed
        .process_types
        .values()
        .flat_map(|pt| pt.dynos.keys().cloned())
        .collect();
    let found = split_dyno_name(dyno)
        .and_then(|(ty, _)| observed.process_types.get_mut(ty))
        .and_then(|pt| pt.dynos.get_mut(dyno));
    let Some(d) = found else {
        return Err(WebError::unprocessable(format!(
            "{app} has no dyno {dyno} (known: {})",
            if known.is_empty() {
                "none yet".to_owned()
            } else {
                known.join(", ")
            }
        )));
    };
    restart_request::record(d, now);
    Ok(d.counter_events.len())
}
