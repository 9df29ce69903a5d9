//! The simulator's own endpoints, outside Heroku's namespace and free of auth, faults and the
//! rate limit: `GET /_sim/actions` (the writes that landed) and `GET /_sim/faults` (the fault
//! plan and what it injected so far).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::{SimState, json};
use crate::world::AppliedAction;

/// Optional filters of `GET /_sim/actions`.
#[derive(Debug, Deserialize)]
pub struct ActionFilter {
    app: Option<String>,
    kind: Option<String>,
    target: Option<String>,
}

/// Every applied action in order, optionally only one app's, kind's or target's.
pub async fn actions(
    State(state): State<SimState>,
    Query(filter): Query<ActionFilter>,
) -> Response {
    let all = state.world().applied.clone();
    let kept: Vec<AppliedAction> = all
        .into_iter()
        .filter(|a| filter.app.as_ref().is_none_or(|app| *app == a.app))
        .filter(|a| filter.target.as_ref().is_none_or(|t| *t == a.target))
        .filter(|a| {
            filter.kind.as_ref().is_none_or(|k| {
                serde_json::to_value(a.kind).is_ok_and(|v| v.as_str() == Some(k.as_str()))
            })
        })
        .collect();
    json(StatusCode::OK, &kept)
}

#[derive(Debug, Serialize)]
struct FaultsView {
    seed: u64,
    /// Each rule in `--faults` syntax.
    rules: Vec<String>,
    injected: Injected,
}

#[derive(Debug, Serialize)]
struct Injected {
    server_errors: u64,
    rate_limited: u64,
    resets: u64,
    delayed: u64,
    /// Writes that landed while the client got a fault instead of their answer.
    applied_then_failed: usize,
}

/// The plan in force and the faults injected so far.
pub async fn faults(State(state): State<SimState>) -> Response {
    let plan = state.faults.plan();
    let c = state.faults.counts();
    let applied_then_failed = state
        .world()
        .applied
        .iter()
        .filter(|a| a.faulted.is_some())
        .count();
    let view = FaultsView {
        seed: plan.seed,
        rules: plan.rules.iter().map(ToString::to_string).collect(),
        injected: Injected {
            server_errors: c.server_errors,
            rate_limited: c.rate_limited,
            resets: c.resets,
            delayed: c.delayed,
            applied_then_failed,
        },
    };
    json(StatusCode::OK, &view)
}
