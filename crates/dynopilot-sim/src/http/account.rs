//! Account, rate limits, apps, Labs features, releases and the dyno size catalogue.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use dynopilot_core::SIZES;
use dynopilot_heroku::wire::RateLimits;
use serde::Deserialize;

use super::error::{ApiError, parse_json};
use super::range::Key;
use super::{Caller, SimState, app_mut, json, list, views};
use crate::world::{AppliedAction, AppliedKind};

pub async fn account(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let world = state.world();
    let account = world
        .accounts
        .iter()
        .find(|a| a.id == caller.account_id)
        .ok_or_else(|| ApiError::not_found("account"))?;
    Ok(json(StatusCode::OK, &views::account(account)))
}

pub async fn rate_limits(State(state): State<SimState>, headers: HeaderMap) -> Response {
    // The middleware already read the bucket without spending; report the same figure.
    let remaining = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map_or(0, |(_, token)| {
            let now = state.clock.now();
            state.world().limiter.remaining(token.trim(), now)
        });
    json(StatusCode::OK, &RateLimits { remaining })
}

pub async fn apps_list(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let apps: Vec<_> = {
        let world = state.world();
        world
            .apps
            .iter()
            .filter(|a| a.owner_id == caller.account_id)
            .map(|a| views::app(a, &caller.email))
            .collect()
    };
    list(&headers, &["id", "name", "updated_at"], apps, |a, field| {
        Key::Text(match field {
            "name" => a.name.clone(),
            "updated_at" => a.updated_at.map(|t| t.to_string()).unwrap_or_default(),
            _ => a.id.clone(),
        })
    })
}

pub async fn app_info(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
) -> Result<Response, ApiError> {
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    Ok(json(StatusCode::OK, &views::app(app, &caller.email)))
}

pub async fn features_list(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let features: Vec<_> = {
        let mut world = state.world();
        let app = app_mut(&mut world, &caller, &app)?;
        app.features.iter().map(views::feature).collect()
    };
    list(&headers, &["id", "name"], features, |f, field| {
        Key::Text(if field == "name" {
            f.name.clone()
        } else {
            f.id.clone()
        })
    })
}

pub async fn feature_info(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path((app, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    let feature = app
        .feature(&name)
        .ok_or_else(|| ApiError::not_found("feature"))?;
    Ok(json(StatusCode::OK, &views::feature(feature)))
}

#[derive(Debug, Deserialize)]
struct FeatureUpdate {
    enabled: bool,
}

pub async fn feature_update(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path((app, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let update: FeatureUpdate = parse_json(&body)?;
    let now = state.clock.now();
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    let feature = app
        .feature_mut(&name)
        .ok_or_else(|| ApiError::not_found("feature"))?;
    feature.enabled = update.enabled;
    feature.updated_at = now;
    let body = views::feature(feature);
    let change = if update.enabled {
        "enabled"
    } else {
        "disabled"
    };
    let action = AppliedAction::new(AppliedKind::FeatureUpdate, &app.name, &body.name, change);
    caller.applied(&mut world, now, action);
    Ok(json(StatusCode::OK, &body))
}

pub async fn releases_list(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let releases: Vec<_> = {
        let mut world = state.world();
        let app = app_mut(&mut world, &caller, &app)?;
        let latest = app.releases.last().map(|r| r.version);
        app.releases
            .iter()
            .map(|r| views::release(app, r, Some(r.version) == latest))
            .collect()
    };
    list(&headers, &["version", "id"], releases, |r, field| {
        if field == "id" {
            Key::Text(r.id.clone())
        } else {
            Key::Number(r.version)
        }
    })
}

pub async fn dyno_sizes(headers: HeaderMap) -> Result<Response, ApiError> {
    let sizes: Vec<_> = SIZES.iter().map(views::dyno_size).collect();
    list(&headers, &["name", "id"], sizes, |s, field| {
        Key::Text(if field == "id" {
            s.id.clone().unwrap_or_default()
        } else {
            s.name.clone()
        })
    })
}
