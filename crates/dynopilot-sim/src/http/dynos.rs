//! Dynos: list and info, restart (one, a process type, all), stop, and one-off dynos with a
//! rendezvous `attach_url`.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use dynopilot_core::DynoSize;
use serde::Deserialize;

use super::error::{ApiError, parse_json};
use super::range::Key;
use super::{Caller, SimState, app_mut, json, views};
use crate::logs::LogRecord;
use crate::shell::{self, Dyno};
use crate::world::{AppliedAction, AppliedKind, OneOff, PhysicsError};

/// Heroku's longest `time_to_live`, and what the simulator uses when none is given.
const MAX_TTL_SECS: u64 = 86_400;
const DEFAULT_TTL_SECS: u64 = 3_600;

fn physics_error(e: PhysicsError) -> ApiError {
    match e {
        PhysicsError::NoSuchDyno => ApiError::not_found("dyno"),
        PhysicsError::NoSuchProcessType(_) => ApiError::not_found("formation"),
        PhysicsError::Invalid(message) => ApiError::invalid_params(message),
    }
}

fn accepted() -> Response {
    json(StatusCode::ACCEPTED, &serde_json::json!({}))
}

pub async fn list(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let items: Vec<_> = {
        let mut world = state.world();
        let app = app_mut(&mut world, &caller, &app)?;
        let mut items: Vec<_> = app
            .physics
            .dynos()
            .iter()
            .map(|d| views::dyno(app, d))
            .collect();
        items.extend(app.one_offs.iter().map(|o| views::one_off(app, o)));
        items
    };
    super::list(&headers, &["id", "name"], items, |d, field| {
        Key::Text(if field == "name" {
            d.name.clone()
        } else {
            d.id.clone()
        })
    })
}

pub async fn info(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path((app, dyno)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    if let Some(d) = app
        .physics
        .dynos()
        .iter()
        .find(|d| d.name == dyno || d.id == dyno)
    {
        return Ok(json(StatusCode::OK, &views::dyno(app, d)));
    }
    let one_off = app
        .one_offs
        .iter()
        .find(|o| o.name == dyno || o.id == dyno)
        .ok_or_else(|| ApiError::not_found("dyno"))?;
    Ok(json(StatusCode::OK, &views::one_off(app, one_off)))
}

pub async fn restart(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path((app, dyno)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    let name = app.name.clone();
    if let Some(one_off) = app.one_offs.iter().find(|o| o.name == dyno || o.id == dyno) {
        // Restarting a one-off dyno ends it.
        let (id, target) = (one_off.id.clone(), one_off.name.clone());
        app.complete_one_off(&id, now);
        state.rendezvous.forget_dyno(&id);
        let action = AppliedAction::new(AppliedKind::RestartDyno, &name, &target, "ended");
        caller.applied(&mut world, now, action);
        return Ok(accepted());
    }
    app.physics
        .restart_dyno(now, &dyno)
        .map_err(physics_error)?;
    let action = AppliedAction::new(AppliedKind::RestartDyno, &name, &dyno, "restarted");
    caller.applied(&mut world, now, action);
    Ok(accepted())
}

pub async fn restart_all(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    app.physics.restart_all(now);
    let name = app.name.clone();
    let action = AppliedAction::new(AppliedKind::RestartAll, &name, "all", "restarted");
    caller.applied(&mut world, now, action);
    Ok(accepted())
}

pub async fn restart_type(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path((app, ptype)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    cycle_type(
        &state,
        &caller,
        &app,
        &ptype,
        AppliedKind::RestartProcessType,
    )
}

/// Restarts every dyno of a process type (what both restarting and stopping a type do).
fn cycle_type(
    state: &SimState,
    caller: &Caller,
    app: &str,
    ptype: &str,
    kind: AppliedKind,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let mut world = state.world();
    let app = app_mut(&mut world, caller, app)?;
    app.physics
        .restart_process_type(now, ptype)
        .map_err(physics_error)?;
    let name = app.name.clone();
    let change = if kind == AppliedKind::StopProcessType {
        "stopped (started again by the platform)"
    } else {
        "restarted"
    };
    caller.applied(
        &mut world,
        now,
        AppliedAction::new(kind, &name, ptype, change),
    );
    Ok(accepted())
}

pub async fn stop(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path((app, dyno)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    let name = app.name.clone();
    if let Some(one_off) = app.one_offs.iter().find(|o| o.name == dyno || o.id == dyno) {
        // Stopping a one-off dyno ends it: its attached client sees the connection close.
        let (id, target) = (one_off.id.clone(), one_off.name.clone());
        app.complete_one_off(&id, now);
        state.rendezvous.forget_dyno(&id);
        let action = AppliedAction::new(AppliedKind::StopDyno, &name, &target, "stopped");
        caller.applied(&mut world, now, action);
        return Ok(accepted());
    }
    app.physics.stop_dyno(now, &dyno).map_err(physics_error)?;
    let action = AppliedAction::new(AppliedKind::StopDyno, &name, &dyno, "stopped");
    caller.applied(&mut world, now, action);
    Ok(accepted())
}

/// On the Common Runtime a stopped formation dyno is started again, so stopping a process
/// type cycles its dynos.
pub async fn stop_type(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path((app, ptype)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    cycle_type(&state, &caller, &app, &ptype, AppliedKind::StopProcessType)
}

#[derive(Debug, Deserialize)]
struct Create {
    command: Option<String>,
    #[serde(default)]
    attach: Option<bool>,
    #[serde(default)]
    env: Option<BTreeMap<String, String>>,
    #[serde(default)]
    size: Option<String>,
    #[serde(default, rename = "type")]
    process_type: Option<String>,
    #[serde(default)]
    time_to_live: Option<i64>,
    /// Without a terminal the output keeps bare `\n` line ends.
    #[serde(default)]
    force_no_tty: Option<bool>,
}

pub async fn create(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let create: Create = parse_json(&body)?;
    let command = create
        .command
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ApiError::invalid_params("Missing required params: command."))?;
    let size = match create.size.as_deref() {
        Some(name) => DynoSize::lookup(name)
            .map_err(|_| ApiError::invalid_params(format!("No such size as {name}.")))?,
        None => DynoSize::lookup("Standard-1X").map_err(|_| ApiError::not_found("size"))?,
    };
    let ttl = match create.time_to_live {
        Some(t) if t <= 0 || t.unsigned_abs() > MAX_TTL_SECS => {
            return Err(ApiError::invalid_params(
                "time_to_live must be between 1 and 86400 seconds.",
            ));
        }
        Some(t) => t.unsigned_abs(),
        None => DEFAULT_TTL_SECS,
    };
    let now = state.clock.now();
    let mut world = state.world();
    let number = world.next_run_number();
    let app = app_mut(&mut world, &caller, &app)?;
    let kind = create.process_type.unwrap_or_else(|| "run".to_string());
    let name = format!("{kind}.{number}");
    let id = uuid::Uuid::new_v4().to_string();
    let env = create.env.unwrap_or_default();
    // The command runs at once in its own copy of the app's files (a one-off dyno gets a fresh
    // filesystem); what it left stays inspectable under `/_sim`.
    let mut files = app.image.clone();
    let ran = shell::run(
        &command,
        &mut Dyno {
            name: &name,
            env: &env,
            fs: &mut files,
            now,
            tty: create.force_no_tty != Some(true),
        },
    );
    app.dyno_files.insert(name.clone(), files);
    app.emit(LogRecord::new(
        now,
        "heroku",
        name.as_str(),
        format!(
            "Starting process with command `{command}` by user {}",
            caller.email
        ),
    ));
    let attach = create.attach == Some(true);
    let attach_url = attach.then(|| {
        let secret = state.rendezvous.register(&id, ran.segments.clone());
        format!("rendezvous://{}/{secret}", state.rendezvous_addr)
    });
    let one_off = OneOff {
        id: id.clone(),
        name: name.clone(),
        command,
        size: size.name.to_string(),
        attach_url,
        created_at: now,
        expires_at: now.plus(Duration::from_secs(ttl)),
    };
    let body = views::one_off(app, &one_off);
    let action = AppliedAction::new(
        AppliedKind::DynoCreate,
        &app.name,
        &name,
        format!("created ({})", one_off.command),
    );
    if attach {
        app.one_offs.push(one_off);
    } else {
        // Detached runs write their output to the logs and finish at once.
        for line in String::from_utf8_lossy(&ran.output()).lines() {
            app.emit(LogRecord::new(now, "app", name.as_str(), line));
        }
        app.emit(LogRecord::new(
            now,
            "heroku",
            name.as_str(),
            format!("Process exited with status {}", ran.status),
        ));
        app.emit(LogRecord::new(
            now,
            "heroku",
            name.as_str(),
            "State changed from up to complete",
        ));
    }
    caller.applied(&mut world, now, action);
    Ok(json(StatusCode::CREATED, &body))
}
