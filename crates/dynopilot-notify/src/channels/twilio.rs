//! SMS through Twilio's Messages API: one form POST per recipient to
//! `{base_url}/2010-04-01/Accounts/{sid}/Messages.json` with basic auth (SID, auth token).

use std::time::Duration;

use dynopilot_core::Secret;

use super::{http, text};
use crate::event::{AlertEvent, DeliveryError, Receipt};

/// Twilio refuses longer bodies (error 21617).
pub const MAX_BODY_CHARS: usize = 1600;

pub struct Twilio {
    pub account_sid: String,
    pub auth_token: Secret,
    pub from: String,
    pub to: Vec<String>,
    /// Without a trailing slash.
    pub base_url: String,
    pub timeout: Duration,
}

impl Twilio {
    /// Every recipient gets its own message. When some were sent and others failed the failure
    /// is permanent: retrying would text the others twice; the reason names who missed it.
    pub async fn send(
        &self,
        client: &reqwest::Client,
        event: &AlertEvent,
    ) -> Result<Receipt, DeliveryError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base_url, self.account_sid
        );
        let body = sms_body(event);
        let mut sids = Vec::new();
        let mut failures: Vec<(String, DeliveryError)> = Vec::new();
        for to in &self.to {
            let form = [("To", to.as_str()), ("From", &self.from), ("Body", &body)];
            let request = client
                .post(&url)
                .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
                .form(&form);
            match http::send(request, self.timeout).await {
                Ok(answer) => sids.push(message_sid(&answer.body)),
                Err(e) => failures.push((to.clone(), e)),
            }
        }
        if failures.is_empty() {
            let sids: Vec<String> = sids.into_iter().flatten().collect();
            return Ok(Receipt {
                remote_id: (!sids.is_empty()).then(|| sids.join(",")),
                detail: format!("{} SMS accepted", self.to.len()),
            });
        }
        Err(partial_failure(sids.len(), failures))
    }
}

fn partial_failure(sent: usize, failures: Vec<(String, DeliveryError)>) -> DeliveryError {
    let transient = sent == 0 && failures.iter().all(|(_, e)| e.transient);
    let missed: Vec<String> = failures
        .iter()
        .map(|(to, e)| format!("{to}: {}", e.reason))
        .collect();
    let reason = if sent == 0 {
        missed.join("; ")
    } else {
        format!("sent to {sent}, not to {}", missed.join("; "))
    };
    DeliveryError { transient, reason }
}

/// Twilio answers 201 with the message resource; its `sid` identifies the SMS.
fn message_sid(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    value.get("sid")?.as_str().map(str::to_owned)
}

/// Headline, message and digest, cut to fit 1600 characters; the link, when there is one, is
/// kept whole at the end because it is the part to tap.
pub fn sms_body(e: &AlertEvent) -> String {
    let mut head = format!("{}\n{}", text::headline(e), e.message);
    if let Some(d) = &e.digest {
        head.push_str(&format!("\n{}", d.text));
    }
    match &e.link {
        Some(link) if link.chars().count() < MAX_BODY_CHARS / 2 => {
            let room = MAX_BODY_CHARS - link.chars().count() - 1;
            format!("{}\n{link}", text::truncate(&head, room))
        }
        _ => text::truncate(&head, MAX_BODY_CHARS),
    }
}
