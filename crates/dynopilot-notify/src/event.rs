//! The one shape every channel renders: an alert event (trigger or resolve) with its topic,
//! severity, target and reasons, and what a delivery attempt can answer.

use dynopilot_core::Timestamp;
use dynopilot_core::policy::Severity;
use serde::{Deserialize, Serialize};

/// Whether an event opens a condition or reports that it ended (PagerDuty trigger / resolve).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Trigger,
    Resolve,
}

/// What cooling held back for the same (topic, app, target) since the last message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigestSummary {
    /// Events held back.
    pub count: u32,
    /// When the first held-back event happened.
    #[serde(with = "dynopilot_core::policy::serde_ts")]
    pub since: Timestamp,
    /// One line in words, e.g. "and 12 more restarts of worker since 10:02".
    pub text: String,
}

/// One alert as every channel sends it. `id` is stable for the event: a receiver that sees it
/// twice has seen a retry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    pub id: String,
    pub kind: EventKind,
    /// e.g. `restart`, `scale-up`, `capped-at-max`, `rule:H12-storm`, `probe-failing`.
    pub topic: String,
    pub severity: Severity,
    pub app: String,
    pub process_type: Option<String>,
    pub dyno: Option<String>,
    /// The journaled decision this alert reports, when there is one.
    pub decision_id: Option<String>,
    /// One short line (email subject, SMS text, PagerDuty summary).
    pub title: String,
    /// The decision's action and reason in words.
    pub message: String,
    pub reasons: Vec<String>,
    #[serde(with = "dynopilot_core::policy::serde_ts")]
    pub at: Timestamp,
    /// Groups trigger and resolve of one condition (PagerDuty `dedup_key`).
    pub dedup_key: String,
    pub digest: Option<DigestSummary>,
    /// Link to the decision on the dashboard, when the dashboard's public URL is configured.
    pub link: Option<String>,
}

/// What a channel reports after the receiver accepted the event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The receiver's own id when it gives one (SMTP queue id, Twilio SID, PagerDuty dedup key).
    pub remote_id: Option<String>,
    /// One line for the journal, e.g. "250 OK queued as 4F2A".
    pub detail: String,
}

/// Why a delivery failed; `transient` failures are retried with backoff, the others are not.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct DeliveryError {
    pub transient: bool,
    /// In words, without secrets: "connection refused", "535 bad credentials", "HTTP 500".
    pub reason: String,
}

impl DeliveryError {
    pub fn transient(reason: impl Into<String>) -> Self {
        DeliveryError {
            transient: true,
            reason: reason.into(),
        }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        DeliveryError {
            transient: false,
            reason: reason.into(),
        }
    }
}
