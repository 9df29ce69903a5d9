//! The alert delivery journal's rows: one per (alert event, channel), with its state, attempts,
//! when it is next due and what the receiver answered.

use dynopilot_core::Timestamp;
use serde_json::Value;

/// Where one delivery stands. `Sent`, `Failed` and `DroppedByCooling` are final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Journaled, not yet accepted by the receiver: due at `next_attempt_at`.
    Pending,
    Sent,
    /// Given up: a permanent failure, or transient ones until the attempts ran out.
    Failed,
    /// Held back by cooling; summarised in the next message of its condition.
    DroppedByCooling,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::DroppedByCooling => "dropped_by_cooling",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => DeliveryState::Pending,
            "sent" => DeliveryState::Sent,
            "failed" => DeliveryState::Failed,
            "dropped_by_cooling" => DeliveryState::DroppedByCooling,
            _ => return None,
        })
    }
}

/// One delivery of one alert event through one channel.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryRecord {
    pub event_id: String,
    pub channel: String,
    pub app: String,
    pub topic: String,
    pub decision_id: Option<String>,
    pub state: DeliveryState,
    /// Calls made to the channel so far.
    pub attempts: u32,
    /// When a pending row is next due; `None` once final.
    pub next_attempt_at: Option<Timestamp>,
    /// The last failure in words (no secrets).
    pub last_error: Option<String>,
    /// What the receiver answered when it accepted the event.
    pub receipt: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The alert event as JSON, so a pending row can be sent after a restart as it was.
    pub event: Value,
}

/// The outcome of an attempt, written onto a pending row.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryUpdate {
    pub event_id: String,
    pub channel: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub receipt: Option<String>,
    pub updated_at: Timestamp,
}
