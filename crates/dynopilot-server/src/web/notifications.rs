//! Recent alert notifications of an app with their outcome: `GET
//! /api/v1/apps/{app}/notifications` and the list on the app page. Read from the delivery
//! journal; only what cannot hold a secret (topic, channel name, outcome, receiver's one-line
//! answer or the failure reason in words) is shown.

use axum::Json;
use axum::extract::{Path, Query, State};
use dynopilot_core::Timestamp;
use dynopilot_store::{DeliveryRecord, DeliveryState};
use serde::{Deserialize, Serialize};

use super::api::{rfc3339, rfc3339_opt};
use super::{WebError, WebState};

/// One delivery of one alert through one channel, as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct NotificationView {
    pub event_id: String,
    pub channel: String,
    pub topic: String,
    pub severity: Option<String>,
    pub title: Option<String>,
    pub decision_id: Option<String>,
    /// `pending`, `sent`, `failed` or `dropped_by_cooling`.
    pub outcome: &'static str,
    pub attempts: u32,
    /// The receiver's answer (sent) or the last failure (pending, failed).
    pub detail: Option<String>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub next_attempt_at: Option<Timestamp>,
    #[serde(serialize_with = "rfc3339")]
    pub created_at: Timestamp,
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: Timestamp,
}

impl NotificationView {
    pub fn new(row: DeliveryRecord) -> Self {
        let field = |name: &str| {
            row.event
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let detail = match row.state {
            DeliveryState::Sent => row.receipt.clone(),
            _ => row.last_error.clone(),
        };
        NotificationView {
            severity: field("severity"),
            title: field("title"),
            outcome: row.state.as_str(),
            event_id: row.event_id,
            channel: row.channel,
            topic: row.topic,
            decision_id: row.decision_id,
            attempts: row.attempts,
            detail,
            next_attempt_at: row.next_attempt_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct NotificationsQuery {
    /// At most this many rows (1..=1000, default 50).
    pub limit: Option<u32>,
}

pub async fn list(
    State(state): State<WebState>,
    Path(app): Path<String>,
    Query(q): Query<NotificationsQuery>,
) -> Result<Json<Vec<NotificationView>>, WebError> {
    state.config(&app)?;
    Ok(Json(recent(&state, &app, q.limit.unwrap_or(50)).await?))
}

/// `app`'s newest deliveries first.
pub async fn recent(
    state: &WebState,
    app: &str,
    limit: u32,
) -> Result<Vec<NotificationView>, WebError> {
    let rows = state.store.deliveries(app, limit.clamp(1, 1000)).await?;
    Ok(rows.into_iter().map(NotificationView::new).collect())
}
