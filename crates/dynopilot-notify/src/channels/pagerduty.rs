//! PagerDuty Events API v2: `trigger` and `resolve` to `{base_url}/v2/enqueue` with the event's
//! dedup key, so an incident opened by a trigger closes when its condition ends.

use std::time::Duration;

use dynopilot_core::Secret;
use dynopilot_core::policy::Severity;
use serde_json::{Value, json};

use super::{http, text};
use crate::event::{AlertEvent, DeliveryError, EventKind, Receipt};

/// PagerDuty cuts summaries at 1024 characters.
const SUMMARY_MAX: usize = 1024;

pub struct PagerDuty {
    pub routing_key: Secret,
    /// Without a trailing slash.
    pub base_url: String,
    pub timeout: Duration,
}

impl PagerDuty {
    pub async fn send(
        &self,
        client: &reqwest::Client,
        event: &AlertEvent,
    ) -> Result<Receipt, DeliveryError> {
        let url = format!("{}/v2/enqueue", self.base_url);
        let body = enqueue_body(self.routing_key.expose(), event);
        let answer = http::send(client.post(url).json(&body), self.timeout).await?;
        let dedup_key = serde_json::from_str::<Value>(&answer.body)
            .ok()
            .and_then(|v| v.get("dedup_key")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| event.dedup_key.clone());
        Ok(Receipt {
            detail: format!("HTTP {} {} accepted", answer.status.as_u16(), action(event)),
            remote_id: Some(dedup_key),
        })
    }
}

fn action(e: &AlertEvent) -> &'static str {
    match e.kind {
        EventKind::Trigger => "trigger",
        EventKind::Resolve => "resolve",
    }
}

/// The JSON PagerDuty receives; a resolve needs only the key, the action and the dedup key.
pub fn enqueue_body(routing_key: &str, e: &AlertEvent) -> Value {
    let mut body = json!({
        "routing_key": routing_key,
        "event_action": action(e),
        "dedup_key": e.dedup_key,
    });
    if e.kind == EventKind::Resolve {
        return body;
    }
    let source = match &e.dyno {
        Some(dyno) => format!("{}/{dyno}", e.app),
        None => e.app.clone(),
    };
    body["payload"] = json!({
        "summary": text::truncate(&format!("{}: {}", e.app, e.title), SUMMARY_MAX),
        "source": source,
        "severity": severity(e.severity),
        "timestamp": e.at.to_string(),
        "component": e.process_type,
        "group": e.app,
        "class": e.topic,
        "custom_details": {
            "message": e.message,
            "reasons": e.reasons,
            "topic": e.topic,
            "decision_id": e.decision_id,
            "event_id": e.id,
            "digest": e.digest.as_ref().map(|d| d.text.clone()),
        },
    });
    if let Some(link) = &e.link {
        body["links"] = json!([{"href": link, "text": "Decision on the dynopilot dashboard"}]);
    }
    body
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}
