//! Slack incoming webhook: a Block Kit message (header, app / target / severity / topic fields,
//! action and reasons, digest line, a button to the decision) with a plain `text` fallback.

use std::time::Duration;

use dynopilot_core::Secret;
use serde_json::{Value, json};

use super::{http, text};
use crate::event::{AlertEvent, DeliveryError, Receipt};

/// Block Kit limits: header text 150 characters, section text and fields 3000 / 2000.
const HEADER_MAX: usize = 150;
const FIELD_MAX: usize = 2000;
const SECTION_MAX: usize = 3000;

pub struct Slack {
    pub url: Secret,
    pub timeout: Duration,
}

impl Slack {
    pub async fn send(
        &self,
        client: &reqwest::Client,
        event: &AlertEvent,
    ) -> Result<Receipt, DeliveryError> {
        let request = client.post(self.url.expose()).json(&message(event));
        let answer = http::send(request, self.timeout).await?;
        Ok(Receipt {
            remote_id: None,
            detail: format!("HTTP {} {}", answer.status.as_u16(), answer.body.trim()),
        })
    }
}

/// The whole payload Slack receives.
pub fn message(e: &AlertEvent) -> Value {
    let mut blocks = vec![
        json!({"type": "header", "text": plain(&text::truncate(&text::headline(e), HEADER_MAX))}),
        json!({"type": "section", "fields": [
            field("App", &e.app),
            field("Target", &text::target(e)),
            field("Severity", &e.severity.to_string()),
            field("Topic", &e.topic),
        ]}),
        json!({"type": "section", "text": mrkdwn(&format!("*Action*\n{}", escape(&e.message)))}),
    ];
    if !e.reasons.is_empty() {
        let reasons: Vec<String> = e
            .reasons
            .iter()
            .map(|r| format!("• {}", escape(r)))
            .collect();
        let body = format!("*Reason*\n{}", reasons.join("\n"));
        blocks.push(json!({"type": "section", "text": mrkdwn(&body)}));
    }
    if let Some(d) = &e.digest {
        blocks.push(json!({"type": "context", "elements": [mrkdwn(&escape(&d.text))]}));
    }
    if let Some(link) = &e.link {
        blocks.push(json!({"type": "actions", "elements": [{
            "type": "button",
            "text": plain("View decision"),
            "url": link,
        }]}));
    }
    json!({"text": fallback(e), "blocks": blocks})
}

/// What notifications and clients without Block Kit show.
fn fallback(e: &AlertEvent) -> String {
    let mut out = format!("{}: {}", text::headline(e), e.message);
    if let Some(d) = &e.digest {
        out.push_str(&format!(" ({})", d.text));
    }
    escape(&out)
}

fn plain(s: &str) -> Value {
    json!({"type": "plain_text", "text": s})
}

fn mrkdwn(s: &str) -> Value {
    json!({"type": "mrkdwn", "text": text::truncate(s, SECTION_MAX)})
}

fn field(name: &str, value: &str) -> Value {
    json!({"type": "mrkdwn", "text": text::truncate(&format!("*{name}*\n{}", escape(value)), FIELD_MAX)})
}

/// Slack's three control characters in mrkdwn.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
