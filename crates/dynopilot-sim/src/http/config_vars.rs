//! Config vars (`GET`/`PATCH /apps/{app}/config-vars`) and the releases a change makes
//! (`GET /apps/{app}/releases/{version}` and its `config-vars`).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::error::ApiError;
use super::{Caller, SimState, app_mut, json, views};
use crate::world::{AppliedAction, AppliedKind, SimApp};

pub async fn info(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
) -> Result<Response, ApiError> {
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    Ok(json(StatusCode::OK, &app.config_vars))
}

/// Sets the given vars and removes those set to `null`; a change makes a release (and so
/// restarts every dyno), as on Heroku. Answers the whole new set.
pub async fn update(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Changes(changes) = parse_changes(&body)?;
    if let Some((bad, _)) = changes.iter().find(|(k, _)| !valid_key(k)) {
        return Err(ApiError::invalid_params(format!(
            "Invalid config var name: {bad}. Names may contain only letters, digits and _."
        )));
    }
    let now = state.clock.now();
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    let Some(description) = apply(app, changes) else {
        return Ok(json(StatusCode::OK, &app.config_vars));
    };
    app.release(now, &description, (&caller.account_id, &caller.email));
    let body = app.config_vars.clone();
    let action = AppliedAction::new(
        AppliedKind::ConfigVarsUpdate,
        &app.name,
        "config-vars",
        description,
    );
    caller.applied(&mut world, now, action);
    Ok(json(StatusCode::OK, &body))
}

/// The request's changes in the order sent, which the release description keeps.
struct Changes(Vec<(String, Option<String>)>);

impl<'de> serde::Deserialize<'de> for Changes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Ordered;
        impl<'de> serde::de::Visitor<'de> for Ordered {
            type Value = Changes;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of config var names to strings or null")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Changes, A::Error> {
                let mut changes = Vec::new();
                while let Some(entry) = map.next_entry::<String, Option<String>>()? {
                    changes.push(entry);
                }
                Ok(Changes(changes))
            }
        }
        d.deserialize_map(Ordered)
    }
}

/// Like `parse_json`, but straight from the bytes so the order sent survives.
fn parse_changes(body: &[u8]) -> Result<Changes, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Changes(Vec::new()));
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::bad_request("Unable to parse JSON body.")
        } else {
            ApiError::invalid_params(format!("Invalid params: {e}"))
        }
    })
}

/// Heroku's `^\w+$`.
fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Applies the changes; the release description in Heroku's words (`Set A, B config vars`,
/// `Remove C config vars`), or `None` when nothing changed.
fn apply(app: &mut SimApp, changes: Vec<(String, Option<String>)>) -> Option<String> {
    let (mut set, mut removed) = (Vec::new(), Vec::new());
    for (key, value) in changes {
        match value {
            Some(value) => {
                if app.config_vars.get(&key) != Some(&value) {
                    app.config_vars.insert(key.clone(), value);
                    set.push(key);
                }
            }
            None => {
                if app.config_vars.remove(&key).is_some() {
                    removed.push(key);
                }
            }
        }
    }
    let mut parts = Vec::new();
    if !set.is_empty() {
        parts.push(format!("Set {} config vars", set.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("Remove {} config vars", removed.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// A release by version (`12`) or id.
fn find_release<'a>(
    app: &'a SimApp,
    key: &str,
) -> Result<&'a crate::world::ReleaseRecord, ApiError> {
    let version: Option<u64> = key.parse().ok();
    app.releases
        .iter()
        .find(|r| Some(r.version) == version || r.id == key)
        .ok_or_else(|| ApiError::not_found("release"))
}

pub async fn release_info(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path((app, release)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    let latest = app.releases.last().map(|r| r.version);
    let record = find_release(app, &release)?;
    let current = Some(record.version) == latest;
    Ok(json(StatusCode::OK, &views::release(app, record, current)))
}

pub async fn release_config(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path((app, release)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    let record = find_release(app, &release)?;
    Ok(json(StatusCode::OK, &record.config))
}
