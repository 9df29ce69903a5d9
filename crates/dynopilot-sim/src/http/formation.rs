//! Formation list, info, update and batch update, with Heroku's limits: eco/basic allow one
//! dyno per type, other sizes `max_per_type`; unknown sizes and bad quantities are `422`;
//! changes during a preboot deploy are `409`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use dynopilot_core::{DynoSize, Generation, Timestamp};
use serde::Deserialize;
use serde_json::Value;

use super::error::{ApiError, parse_json};
use super::range::Key;
use super::{Caller, SimState, app_mut, json, views};
use crate::world::{AppliedAction, AppliedKind, FormationView, FromTo, PhysicsError, SimApp};

pub async fn list(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let items: Vec<_> = {
        let mut world = state.world();
        let app = app_mut(&mut world, &caller, &app)?;
        app.physics
            .formation()
            .iter()
            .map(|f| views::formation(app, f))
            .collect()
    };
    super::list(&headers, &["id", "type"], items, |f, field| {
        Key::Text(if field == "type" {
            f.process_type.clone()
        } else {
            f.id.clone()
        })
    })
}

pub async fn info(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path((app, ptype)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    let formation = app
        .physics
        .formation()
        .into_iter()
        .find(|f| f.process_type == ptype)
        .ok_or_else(|| ApiError::not_found("formation"))?;
    Ok(json(StatusCode::OK, &views::formation(app, &formation)))
}

/// One requested change, as Heroku accepts it: integer or string quantities (the CLI sends
/// `"2"`, `"+1"`), size under `dyno_size.{name,id}` or the deprecated `size`.
#[derive(Debug, Default, Deserialize)]
struct Change {
    #[serde(rename = "type")]
    process_type: Option<String>,
    quantity: Option<Value>,
    dyno_size: Option<SizeRef>,
    size: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct SizeRef {
    name: Option<String>,
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Batch {
    updates: Vec<Change>,
}

pub async fn update(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path((app, ptype)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let change: Change = parse_json(&body)?;
    let now = state.clock.now();
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    let applied = apply(app, &ptype, &change, now)?;
    let formation = app
        .physics
        .formation()
        .into_iter()
        .find(|f| f.process_type == ptype)
        .ok_or_else(|| ApiError::not_found("formation"))?;
    let response = json(StatusCode::OK, &views::formation(app, &formation));
    if let Some(action) = applied {
        caller.applied(&mut world, now, action);
    }
    Ok(response)
}

pub async fn batch_update(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let batch: Batch = parse_json(&body)?;
    let now = state.clock.now();
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    // Validate everything first so a bad item changes nothing.
    for change in &batch.updates {
        let ptype = change
            .process_type
            .as_deref()
            .ok_or_else(|| ApiError::invalid_params("Missing required params: type."))?;
        plan(app, ptype, change, now)?;
    }
    let mut touched = Vec::new();
    let mut applied = Vec::new();
    for change in &batch.updates {
        let ptype = change.process_type.as_deref().unwrap_or_default();
        applied.extend(apply(app, ptype, change, now)?);
        touched.push(ptype.to_string());
    }
    let items: Vec<_> = app
        .physics
        .formation()
        .iter()
        .filter(|f| touched.contains(&f.process_type))
        .map(|f| views::formation(app, f))
        .collect();
    for action in applied {
        caller.applied(&mut world, now, action);
    }
    Ok(json(StatusCode::OK, &items))
}

/// What a valid change does: the new quantity (if any) and size (if any).
fn plan(
    app: &SimApp,
    ptype: &str,
    change: &Change,
    now: Timestamp,
) -> Result<(Option<u32>, Option<&'static DynoSize>), ApiError> {
    if app.preboot_until.is_some_and(|t| t > now) {
        return Err(ApiError::preboot());
    }
    let current = app
        .physics
        .formation()
        .into_iter()
        .find(|f| f.process_type == ptype)
        .ok_or_else(|| ApiError::not_found("formation"))?;
    let size = size_of(change)?;
    let quantity = change
        .quantity
        .as_ref()
        .map(|q| quantity_of(q, current.quantity))
        .transpose()?;
    let effective = size.unwrap_or(current.size);
    let count = quantity.unwrap_or(current.quantity);
    if count > effective.max_per_type {
        return Err(ApiError::invalid_params(format!(
            "Cannot update to more than {} {} size dynos per process type.",
            effective.max_per_type, effective.name
        )));
    }
    Ok((quantity, size))
}

/// Carries out a valid change; returns what changed, or `None` when it changed nothing.
fn apply(
    app: &mut SimApp,
    ptype: &str,
    change: &Change,
    now: Timestamp,
) -> Result<Option<AppliedAction>, ApiError> {
    let (quantity, size) = plan(app, ptype, change, now)?;
    let before = app
        .physics
        .formation()
        .into_iter()
        .find(|f| f.process_type == ptype)
        .ok_or_else(|| ApiError::not_found("formation"))?;
    app.physics
        .set_formation(now, ptype, quantity, size)
        .map_err(|e| match e {
            PhysicsError::NoSuchProcessType(_) => ApiError::not_found("formation"),
            PhysicsError::NoSuchDyno => ApiError::not_found("dyno"),
            PhysicsError::Invalid(message) => ApiError::invalid_params(message),
        })?;
    app.updated_at = now;
    Ok(formation_change(&app.name, &before, quantity, size))
}

/// The record of a formation update, if it changed the quantity or the size.
fn formation_change(
    app: &str,
    before: &FormationView,
    quantity: Option<u32>,
    size: Option<&'static DynoSize>,
) -> Option<AppliedAction> {
    let quantity = quantity.filter(|q| *q != before.quantity).map(|to| FromTo {
        from: before.quantity,
        to,
    });
    let size = size
        .filter(|s| s.name != before.size.name)
        .map(|to| FromTo {
            from: before.size.name.to_string(),
            to: to.name.to_string(),
        });
    let mut words = Vec::new();
    if let Some(q) = &quantity {
        words.push(format!("quantity {} → {}", q.from, q.to));
    }
    if let Some(s) = &size {
        words.push(format!("size {} → {}", s.from, s.to));
    }
    if words.is_empty() {
        return None;
    }
    let mut action = AppliedAction::new(
        AppliedKind::FormationUpdate,
        app,
        &before.process_type,
        words.join(", "),
    );
    action.quantity = quantity;
    action.size = size;
    Some(action)
}

fn size_of(change: &Change) -> Result<Option<&'static DynoSize>, ApiError> {
    let by_ref = change
        .dyno_size
        .as_ref()
        .and_then(|r| r.name.clone().or_else(|| r.id.clone()));
    let Some(wanted) = by_ref.or_else(|| change.size.clone()) else {
        return Ok(None);
    };
    let size = DynoSize::lookup(&wanted).ok().or_else(|| {
        dynopilot_core::SIZES
            .iter()
            .find(|s| views::stable_id(s.name) == wanted)
    });
    match size {
        // The simulated apps are Cedar Common Runtime apps.
        Some(s) if s.generation == Generation::Cedar && !s.private_space_only => Ok(Some(s)),
        _ => Err(ApiError::invalid_params(format!(
            "No such size as {wanted}. Use eco, basic, standard-1X, standard-2X, performance-M, performance-L, performance-L-RAM, performance-XL, performance-2XL."
        ))),
    }
}

fn quantity_of(value: &Value, current: u32) -> Result<u32, ApiError> {
    let invalid = || ApiError::invalid_params("Invalid quantity: must be a non-negative integer.");
    let (relative, n): (Option<i64>, i64) = match value {
        Value::Number(n) => (None, n.as_i64().ok_or_else(invalid)?),
        Value::String(s) => {
            let s = s.trim();
            let n: i64 = s.parse().map_err(|_| invalid())?;
            ((s.starts_with('+') || s.starts_with('-')).then_some(n), n)
        }
        _ => return Err(invalid()),
    };
    let target = match relative {
        Some(delta) => i64::from(current) + delta,
        None => n,
    };
    u32::try_from(target).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_accept_integers_strings_and_relative_changes() {
        assert_eq!(quantity_of(&serde_json::json!(3), 1), Ok(3));
        assert_eq!(quantity_of(&serde_json::json!("2"), 1), Ok(2));
        assert_eq!(quantity_of(&serde_json::json!("+2"), 1), Ok(3));
        assert_eq!(quantity_of(&serde_json::json!("-1"), 1), Ok(0));
        assert!(quantity_of(&serde_json::json!(-1), 1).is_err());
        assert!(quantity_of(&serde_json::json!("-2"), 1).is_err());
        assert!(quantity_of(&serde_json::json!(1.5), 1).is_err());
        assert!(quantity_of(&serde_json::json!("many"), 1).is_err());
    }
}
