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
    /// At most this many rows (1..=1000, default 50; others are refused with 400).
    pub limit: Option<u32>,
}

pub async fn list(
    State(state): State<WebState>,
    Path(app): Path<String>,
    Query(q): Query<NotificationsQuery>,
) -> Result<Json<Vec<NotificationView>>, WebError> {
    state.config(&app)?;
    let limit = super::api::check_limit(Some(q.limit.unwrap_or(50)))?;
    Ok(Json(recent(&state, &app, limit).await?))
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

/// Rows the app page shows.
const PAGE_ROWS: u32 = 20;

/// One delivery on the app page, in words.
#[derive(Clone, Debug)]
pub struct NotificationRow {
    pub at: String,
    pub topic: String,
    pub channel: String,
    pub title: String,
    /// `sent`, `pending`, `failed`, `dropped_by_cooling`: also the row's CSS class.
    pub outcome: &'static str,
    /// Attempts and the receiver's answer or the failure.
    pub detail: String,
}

/// The newest deliveries of `app`, for the app page.
pub async fn rows(state: &WebState, app: &str) -> Result<Vec<NotificationRow>, WebError> {
    let views = recent(state, app, PAGE_ROWS).await?;
    Ok(views
        .into_iter()
        .map(|v| NotificationRow {
            at: super::view::clock_time(v.created_at),
            detail: match (v.attempts, v.detail) {
                (0, _) => String::new(),
                (1, Some(d)) => d,
                (n, Some(d)) => format!("{d} (after {n} attempts)"),
                (n, None) => format!("{n} attempts"),
            },
            title: v.title.unwrap_or_default(),
            topic: v.topic,
            channel: v.channel,
            outcome: v.outcome,
        })
        .collect())
}
