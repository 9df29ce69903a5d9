//! The simulator's file model over HTTP, outside Heroku's namespace: `PUT
//! /_sim/apps/{app}/files` sets the files every new dyno of the app starts with (path, size,
//! age, symbolic link), `GET /_sim/apps/{app}/dynos/{dyno}/files` shows what a one-off dyno's
//! command left, so tests can prove what a clean removed and what it left alone.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::error::{ApiError, parse_json};
use super::{SimState, json};
use crate::shell::fs::{FileSeed, SimFs};

#[derive(Debug, Deserialize)]
struct Seeds {
    files: Vec<FileSeed>,
}

/// Replaces the app's dyno image; answers the files as they are now.
pub async fn set_image(
    State(state): State<SimState>,
    Path(app): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let seeds: Seeds = parse_json(&body)?;
    let now = state.clock.now();
    let image = SimFs::from_seeds(&seeds.files, now).map_err(ApiError::invalid_params)?;
    let mut world = state.world();
    let i = world
        .app_index(&app)
        .ok_or_else(|| ApiError::not_found("app"))?;
    let view = image.view(now);
    world.apps[i].image = image;
    Ok(json(StatusCode::OK, &view))
}

/// A one-off dyno's files after its command ran.
pub async fn dyno_files(
    State(state): State<SimState>,
    Path((app, dyno)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let world = state.world();
    let i = world
        .app_index(&app)
        .ok_or_else(|| ApiError::not_found("app"))?;
    let files = world.apps[i]
        .dyno_files
        .get(&dyno)
        .ok_or_else(|| ApiError::not_found("dyno"))?;
    Ok(json(StatusCode::OK, &files.view(now)))
}
