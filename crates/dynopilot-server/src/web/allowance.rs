//! The guardrail part of the JSON app view (`dynopilot status`): budgets left, holds with
//! their end (the runner's holds plus timed pauses set by people), and alert deliveries still
//! pending, in the API's shapes (RFC 3339 times, snake_case).

use std::collections::BTreeMap;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::allowance::{Allowance, Budget};
use dynopilot_store::{DeliveryRecord, DeliveryState};
use serde::Serialize;

use super::control::AppMode;

/// Deliveries looked at per app for `alerts_pending`.
const DELIVERIES_READ: u32 = 200;

#[derive(Clone, Debug, Serialize)]
pub struct BudgetView {
    pub limit: u32,
    pub used: u32,
    pub left: u32,
}

impl From<&Budget> for BudgetView {
    fn from(b: &Budget) -> Self {
        BudgetView {
            limit: b.limit,
            used: b.used,
            left: b.left,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct CostView {
    pub limit_dollars_per_hour: f64,
    pub dollars_per_hour: f64,
    pub left_dollars_per_hour: f64,
}

/// Budgets per rolling hour.
#[derive(Clone, Debug, Serialize)]
pub struct GuardrailsView {
    pub restarts: BudgetView,
    pub process_type_restarts: BTreeMap<String, BudgetView>,
    pub formation_changes: BudgetView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostView>,
}

impl From<&Allowance> for GuardrailsView {
    fn from(a: &Allowance) -> Self {
        GuardrailsView {
            restarts: (&a.restarts).into(),
            process_type_restarts: a
                .process_type_restarts
                .iter()
                .map(|(ty, b)| (ty.clone(), b.into()))
                .collect(),
            formation_changes: (&a.formation_changes).into(),
            cost: a.cost.as_ref().map(|c| CostView {
                limit_dollars_per_hour: c.limit_dollars_per_hour,
                dollars_per_hour: c.dollars_per_hour,
                left_dollars_per_hour: c.left_dollars_per_hour,
            }),
        }
    }
}

/// One hold in force.
#[derive(Clone, Debug, Serialize)]
pub struct HoldView {
    /// `deploy_freeze`, `manual_override`, `dyno_restart_cooldown`, `cooldown` or `pause`.
    pub kind: &'static str,
    /// `app`, a process type, a dyno, or a cooldown's key.
    pub target: String,
    #[serde(serialize_with = "super::api::rfc3339")]
    pub until: Timestamp,
    pub detail: String,
}

/// The runner's holds still in force at `now` (it published them at its last tick).
pub fn holds(allowance: &Allowance, now: Timestamp) -> Vec<HoldView> {
    allowance
        .holds
        .iter()
        .filter(|h| now < h.until)
        .map(|h| HoldView {
            kind: h.kind.as_str(),
            target: h.target.clone(),
            until: h.until,
            detail: h.detail.clone(),
        })
        .collect()
}

/// Timed pauses (`pause --for`) as holds: they end by themselves.
pub fn pause_holds(mode: &AppMode) -> Vec<HoldView> {
    let by = |who: Option<&String>| who.map_or(String::new(), |w| format!(" by {w}"));
    let mut holds: Vec<HoldView> = mode
        .paused_until
        .iter()
        .map(|until| HoldView {
            kind: "pause",
            target: "app".to_owned(),
            until: *until,
            detail: format!("autoscaling paused{}", by(mode.paused_by.as_ref())),
        })
        .collect();
    holds.extend(mode.types_paused_until.iter().map(|(ty, until)| HoldView {
        kind: "pause",
        target: ty.clone(),
        until: *until,
        detail: format!(
            "autoscaling of {ty} paused{}",
            by(mode.paused_types.get(ty))
        ),
    }));
    holds
}

/// An alert delivery not yet accepted by its channel.
#[derive(Clone, Debug, Serialize)]
pub struct PendingAlert {
    pub topic: String,
    pub channel: String,
    pub attempts: u32,
    #[serde(serialize_with = "super::api::rfc3339_opt")]
    pub next_attempt_at: Option<Timestamp>,
    pub last_error: Option<String>,
    #[serde(serialize_with = "super::api::rfc3339")]
    pub created_at: Timestamp,
}

/// The pending deliveries of `app`, oldest first.
pub async fn pending_alerts(
    store: &dyn dynopilot_store::Store,
    app: &str,
) -> Result<Vec<PendingAlert>, dynopilot_store::StoreError> {
    let deliveries = store.deliveries(app, DELIVERIES_READ).await?;
    let mut pending: Vec<PendingAlert> = deliveries
        .into_iter()
        .filter(|d| d.state == DeliveryState::Pending)
        .map(|d: DeliveryRecord| PendingAlert {
            topic: d.topic,
            channel: d.channel,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_error: d.last_error,
            created_at: d.created_at,
        })
        .collect();
    pending.sort_by_key(|p| p.created_at);
    Ok(pending)
}
