//! Generic webhook: the event as versioned JSON (`dynopilot.alert.v1`, documented in
//! `docs/alerts.md`), signed with HMAC-SHA256 over `"<timestamp>.<body>"` so a receiver can
//! check who sent it and reject replays.

use std::time::Duration;

use dynopilot_core::{Secret, Timestamp};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::http;
use crate::event::{AlertEvent, DeliveryError, Receipt};

/// The `schema` value of the body; a breaking change gets a new version.
pub const SCHEMA_V1: &str = "dynopilot.alert.v1";
pub const TIMESTAMP_HEADER: &str = "X-Dynopilot-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Dynopilot-Signature";
pub const EVENT_ID_HEADER: &str = "X-Dynopilot-Event-Id";

pub struct Webhook {
    pub url: Secret,
    pub secret: Secret,
    pub timeout: Duration,
}

impl Webhook {
    pub async fn send(
        &self,
        client: &reqwest::Client,
        event: &AlertEvent,
        now: Timestamp,
    ) -> Result<Receipt, DeliveryError> {
        let body = serde_json::to_vec(&payload_v1(event, now))
            .map_err(|e| DeliveryError::permanent(format!("cannot encode the event: {e}")))?;
        let timestamp = now.as_millis().div_euclid(1000);
        let signature = sign(self.secret.expose().as_bytes(), timestamp, &body);
        let request = client
            .post(self.url.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .header(EVENT_ID_HEADER, &event.id)
            .body(body);
        let answer = http::send(request, self.timeout).await?;
        Ok(Receipt {
            remote_id: None,
            detail: format!("HTTP {}", answer.status.as_u16()),
        })
    }
}

/// The body of schema `dynopilot.alert.v1`; `sent_at` is the moment of this attempt (it
/// changes on a retry, `id` and `at` do not).
pub fn payload_v1(e: &AlertEvent, sent_at: Timestamp) -> Value {
    json!({
        "schema": SCHEMA_V1,
        "id": e.id,
        "kind": e.kind,
        "topic": e.topic,
        "severity": e.severity,
        "app": e.app,
        "process_type": e.process_type,
        "dyno": e.dyno,
        "decision_id": e.decision_id,
        "title": e.title,
        "message": e.message,
        "reasons": e.reasons,
        "at": e.at.to_string(),
        "sent_at": sent_at.to_string(),
        "dedup_key": e.dedup_key,
        "link": e.link,
        "digest": e.digest.as_ref().map(|d| json!({
            "count": d.count,
            "since": d.since.to_string(),
            "text": d.text,
        })),
    })
}

/// `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Why a received webhook is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the timestamp header is not a number of seconds")]
    BadTimestamp,
    #[error("the timestamp is {0} s away from now: too old or replayed")]
    Stale(i64),
    #[error("the signature header is not `v1=<hex>`")]
    BadSignatureFormat,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// What a receiver does (in Rust; `docs/alerts.md` says it in words): the timestamp within
/// `tolerance` of `now`, then a constant-time comparison of the HMAC.
pub fn verify(
    secret: &[u8],
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now: Timestamp,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let timestamp: i64 = timestamp_header
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    let skew = now.as_millis().div_euclid(1000).saturating_sub(timestamp);
    if skew.unsigned_abs() > tolerance.as_secs() {
        return Err(VerifyError::Stale(skew));
    }
    let given = signature_header
        .trim()
        .strip_prefix("v1=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(VerifyError::BadSignatureFormat)?;
    mac(secret, timestamp, body)
        .verify_slice(&given)
        .map_err(|_| VerifyError::Mismatch)
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this never falls back in practice.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_tampering_or_age_is_refused() {
        let now = Timestamp::from_secs(1_700_000_000);
        let sig = sign(b"s3cret", 1_700_000_000, b"{}");
        let tol = Duration::from_secs(300);
        assert_eq!(
            verify(b"s3cret", "1700000000", &sig, b"{}", now, tol),
            Ok(())
        );
        assert_eq!(
            verify(b"s3cret", "1700000000", &sig, b"{ }", now, tol),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(b"other", "1700000000", &sig, b"{}", now, tol),
            Err(VerifyError::Mismatch)
        );
        let later = Timestamp::from_secs(1_700_000_301);
        assert_eq!(
            verify(b"s3cret", "1700000000", &sig, b"{}", later, tol),
            Err(VerifyError::Stale(301))
        );
    }
}
