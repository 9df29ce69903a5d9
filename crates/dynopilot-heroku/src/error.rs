//! `HerokuError`: every failure of a Platform API call, classified by kind, with `is_retryable`.
//!
//! Classification goes by HTTP status first and Heroku's error `id` second (as Heroku advises).
//! No variant can hold the API key: request headers are never copied into errors, and transport
//! errors are stored as text with the URL stripped (log-session URLs carry tokens).

use std::fmt;
use std::time::Duration;

use crate::wire::ErrorBody;

/// The message Heroku sends with `409` while a preboot deploy is in progress.
pub const PREBOOT_CONFLICT_MESSAGE: &str =
    "Cannot change formation for a preboot app until release phase and preboot complete.";

/// A failed Platform API call (or rendezvous / log-stream connection).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HerokuError {
    /// `429`: the account's request budget is empty.
    #[error("Heroku rate limit reached{}{}", RetryAfter(*retry_after), Body(body))]
    RateLimited {
        retry_after: Option<Duration>,
        body: Option<ErrorBody>,
    },
    /// `401`: the API key is missing, wrong or expired.
    #[error("Heroku rejected the API key (401){}", Body(body))]
    Unauthorized { body: Option<ErrorBody> },
    /// `403`: the key's user may not do this (also `two_factor`, `suspended`).
    #[error("Heroku refused the request (403){}", Body(body))]
    Forbidden { body: Option<ErrorBody> },
    /// `404`: no such app, dyno, process type, drain…
    #[error("Heroku found no such resource (404){}", Body(body))]
    NotFound { body: Option<ErrorBody> },
    /// `409`; `preboot` is set when a preboot deploy blocks formation changes for a while.
    #[error("Heroku reported a conflict (409){}{}", if *preboot { " during preboot" } else { "" }, Body(body))]
    Conflict {
        preboot: bool,
        body: Option<ErrorBody>,
    },
    /// `422`: invalid parameters, e.g. an unknown dyno size or a quantity over the limit.
    #[error("Heroku rejected the parameters (422){}", Body(body))]
    Unprocessable { body: Option<ErrorBody> },
    /// Any other `4xx` (400 bad request, 402 delinquent, 416 bad range…).
    #[error("Heroku answered {status}{}", Body(body))]
    ClientStatus {
        status: u16,
        body: Option<ErrorBody>,
    },
    /// `5xx`: Heroku's side failed.
    #[error("Heroku failed with {status}{}", Body(body))]
    Upstream {
        status: u16,
        body: Option<ErrorBody>,
    },
    /// The connection timed out or broke after the request may have been sent: whether Heroku
    /// acted is unknown.
    #[error("could not reach Heroku: {message}")]
    Transport { message: String },
    /// No connection could be opened, so nothing was sent: Heroku certainly did not act.
    #[error("could not connect to Heroku: {message}")]
    Connect { message: String },
    /// The response was not the JSON (or protocol) we expected.
    #[error("could not decode Heroku's response: {message}")]
    Decode { message: String },
    /// Something we were asked to send cannot be sent (bad base URL, bad attach URL…).
    #[error("invalid request: {message}")]
    InvalidInput { message: String },
}

impl HerokuError {
    /// Classifies a non-success HTTP response from its status code and raw body.
    pub fn from_status(status: u16, retry_after: Option<Duration>, body: &[u8]) -> HerokuError {
        let body: Option<ErrorBody> = serde_json::from_slice(body).ok();
        match status {
            429 => HerokuError::RateLimited { retry_after, body },
            401 => HerokuError::Unauthorized { body },
            403 => HerokuError::Forbidden { body },
            404 => HerokuError::NotFound { body },
            409 => HerokuError::Conflict {
                preboot: body.as_ref().is_some_and(is_preboot_body),
                body,
            },
            422 => HerokuError::Unprocessable { body },
            500..=599 => HerokuError::Upstream { status, body },
            _ => HerokuError::ClientStatus { status, body },
        }
    }

    /// A transport failure, with any URL removed from the text.
    pub(crate) fn transport(err: reqwest::Error) -> HerokuError {
        let is_decode = err.is_decode();
        let is_connect = err.is_connect();
        let err = err.without_url();
        // reqwest's own text is terse ("error sending request"); the causes say why.
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        if is_decode {
            return HerokuError::Decode { message };
        }
        if is_connect {
            return HerokuError::Connect { message };
        }
        HerokuError::Transport { message }
    }

    pub(crate) fn decode(err: impl fmt::Display) -> HerokuError {
        HerokuError::Decode {
            message: err.to_string(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> HerokuError {
        HerokuError::InvalidInput {
            message: message.into(),
        }
    }

    /// A short stable name for the kind of failure (`rate_limited`, `upstream`, …), for
    /// metric labels and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            HerokuError::RateLimited { .. } => "rate_limited",
            HerokuError::Unauthorized { .. } => "unauthorized",
            HerokuError::Forbidden { .. } => "forbidden",
            HerokuError::NotFound { .. } => "not_found",
            HerokuError::Conflict { preboot: true, .. } => "preboot_conflict",
            HerokuError::Conflict { .. } => "conflict",
            HerokuError::Unprocessable { .. } => "unprocessable",
            HerokuError::ClientStatus { .. } => "client_status",
            HerokuError::Upstream { .. } => "upstream",
            HerokuError::Transport { .. } => "transport",
            HerokuError::Connect { .. } => "connect",
            HerokuError::Decode { .. } => "decode",
            HerokuError::InvalidInput { .. } => "invalid_input",
        }
    }

    /// Whether trying the same request again later can succeed: rate limits, 5xx, transport
    /// failures and the preboot conflict are transient; the rest need a different request.
    pub fn is_retryable(&self) -> bool {
        match self {
            HerokuError::RateLimited { .. }
            | HerokuError::Upstream { .. }
            | HerokuError::Transport { .. }
            | HerokuError::Connect { .. } => true,
            HerokuError::Conflict { preboot, .. } => *preboot,
            _ => false,
        }
    }

    /// For a write: whether this failure proves Heroku did not act ([`WriteOutcome::NotApplied`]:
    /// any 4xx, a connection that never opened, a request we could not build) or leaves it
    /// open ([`WriteOutcome::Unknown`]: a 5xx, a timeout or reset after sending, an answer we
    /// could not read).
    pub fn write_outcome(&self) -> WriteOutcome {
        match self {
            HerokuError::Upstream { .. }
            | HerokuError::Transport { .. }
            | HerokuError::Decode { .. } => WriteOutcome::Unknown,
            _ => WriteOutcome::NotApplied,
        }
    }

    /// True for `409` caused by a preboot deploy in progress.
    pub fn is_preboot_conflict(&self) -> bool {
        matches!(self, HerokuError::Conflict { preboot: true, .. })
    }

    /// Heroku's `Retry-After`, when a 429 carried one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            HerokuError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Heroku's `{id, message}` body, when the response had one.
    pub fn body(&self) -> Option<&ErrorBody> {
        match self {
            HerokuError::RateLimited { body, .. }
            | HerokuError::Unauthorized { body }
            | HerokuError::Forbidden { body }
            | HerokuError::NotFound { body }
            | HerokuError::Conflict { body, .. }
            | HerokuError::Unprocessable { body }
            | HerokuError::ClientStatus { body, .. }
            | HerokuError::Upstream { body, .. } => body.as_ref(),
            _ => None,
        }
    }

    /// Heroku's machine-readable error id (`not_found`, `rate_limit`, `two_factor`…).
    pub fn heroku_id(&self) -> Option<&str> {
        self.body().map(|b| b.id.as_str())
    }
}

/// What a failed write did to Heroku, as far as the answer (or its absence) tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The answer says nothing was changed: safe to try again or to report as failed.
    NotApplied,
    /// The write may or may not have landed: read Heroku's state before doing anything else.
    Unknown,
}

fn is_preboot_body(body: &ErrorBody) -> bool {
    // Match loosely: Heroku's wording may change, but it always names preboot.
    body.message.to_ascii_lowercase().contains("preboot")
}

struct Body<'a>(&'a Option<ErrorBody>);

impl fmt::Display for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(b) => write!(f, ": {} ({})", b.message.trim_end(), b.id),
            None => Ok(()),
        }
    }
}

struct RetryAfter(Option<Duration>);

impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, ", retry after {} s", d.as_secs()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(id: &str, message: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"id": id, "message": message})).unwrap()
    }

    #[test]
    fn statuses_map_to_kinds_with_bodies() {
        let e = HerokuError::from_status(404, None, &body("not_found", "Couldn't find that app."));
        assert_eq!(e.heroku_id(), Some("not_found"));
        assert!(matches!(e, HerokuError::NotFound { .. }));
        assert!(!e.is_retryable());
        assert!(matches!(
            HerokuError::from_status(401, None, b""),
            HerokuError::Unauthorized { body: None }
        ));
        assert!(matches!(
            HerokuError::from_status(402, None, b"{}"),
            HerokuError::ClientStatus { status: 402, .. }
        ));
        let e = HerokuError::from_status(503, None, b"<html>");
        assert!(matches!(
            e,
            HerokuError::Upstream {
                status: 503,
                body: None
            }
        ));
        assert!(e.is_retryable());
    }

    #[test]
    fn kinds_name_the_failure_for_metrics() {
        let kinds: Vec<&str> = [429, 401, 403, 404, 409, 422, 400, 502]
            .into_iter()
            .map(|status| HerokuError::from_status(status, None, b"").kind())
            .collect();
        assert_eq!(
            kinds,
            [
                "rate_limited",
                "unauthorized",
                "forbidden",
                "not_found",
                "conflict",
                "unprocessable",
                "client_status",
                "upstream"
            ]
        );
        let preboot =
            HerokuError::from_status(409, None, &body("conflict", PREBOOT_CONFLICT_MESSAGE));
        assert_eq!(preboot.kind(), "preboot_conflict");
    }

    #[test]
    fn preboot_conflict_is_flagged_and_retryable_but_plain_conflict_is_not() {
        let e = HerokuError::from_status(409, None, &body("conflict", PREBOOT_CONFLICT_MESSAGE));
        assert!(e.is_preboot_conflict());
        assert!(e.is_retryable());
        let plain = HerokuError::from_status(409, None, &body("conflict", "Name is taken."));
        assert!(!plain.is_preboot_conflict());
        assert!(!plain.is_retryable());
    }

    #[test]
    fn write_outcome_is_unknown_only_when_heroku_may_have_acted() {
        let unknown = [
            HerokuError::from_status(503, None, b""),
            HerokuError::from_status(500, None, b""),
            HerokuError::Transport {
                message: "operation timed out".into(),
            },
            HerokuError::Decode {
                message: "eof".into(),
            },
        ];
        for e in unknown {
            assert_eq!(e.write_outcome(), WriteOutcome::Unknown, "{e}");
        }
        let not_applied = [
            HerokuError::from_status(429, None, b""),
            HerokuError::from_status(404, None, b""),
            HerokuError::from_status(409, None, &body("conflict", PREBOOT_CONFLICT_MESSAGE)),
            HerokuError::from_status(422, None, b""),
            HerokuError::Connect {
                message: "connection refused".into(),
            },
        ];
        for e in not_applied {
            assert_eq!(e.write_outcome(), WriteOutcome::NotApplied, "{e}");
        }
    }

    #[test]
    fn rate_limited_keeps_retry_after_and_displays_it() {
        let e = HerokuError::from_status(
            429,
            Some(Duration::from_secs(7)),
            &body("rate_limit", "Your account reached the API rate limit"),
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.is_retryable());
        let text = e.to_string();
        assert!(text.contains("retry after 7 s"), "{text}");
        assert!(text.contains("rate_limit"), "{text}");
    }
}
