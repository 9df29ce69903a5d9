//! What the HTTP channels share: sending a request and turning the answer or the failure into a
//! `Receipt` or a classified `DeliveryError` whose reason never holds the URL or a credential.

use std::error::Error as _;
use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};

use crate::event::DeliveryError;

/// Longest part of a receiver's error body kept in a reason.
const BODY_SNIPPET_CHARS: usize = 200;

/// A successful answer: its status and body.
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
}

/// Sends `request`; a non-2xx status is an error, classified by [`status_error`].
pub async fn send(request: RequestBuilder, timeout: Duration) -> Result<Answer, DeliveryError> {
    let response = request
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| transport_error(&e, timeout))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status.is_success() {
        Ok(Answer { status, body })
    } else {
        Err(status_error(status, &body))
    }
}

/// 408, 429 and 5xx are worth retrying; any other refusal will be refused again.
pub fn status_error(status: StatusCode, body: &str) -> DeliveryError {
    let mut reason = format!("HTTP {}", status.as_u16());
    if let Some(words) = status.canonical_reason() {
        reason.push_str(&format!(" {words}"));
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        reason.push_str(" (bad credentials)");
    }
    let snippet = snippet(body);
    if !snippet.is_empty() {
        reason.push_str(&format!(": {snippet}"));
    }
    let transient = status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error();
    DeliveryError { transient, reason }
}

/// A request that got no answer: connection refused, timeout, TLS or DNS trouble. All are
/// transient except a request that could not even be built.
pub fn transport_error(e: &reqwest::Error, timeout: Duration) -> DeliveryError {
    if e.is_builder() {
        return DeliveryError::permanent("the request could not be built (check the URL)");
    }
    if e.is_timeout() {
        return DeliveryError::transient(format!("timed out after {}", secs(timeout)));
    }
    let reason = describe_chain(e);
    // A certificate the client refuses will be refused again until someone fixes it.
    let transient = !reason.starts_with("TLS error");
    DeliveryError { transient, reason }
}

/// Whether an error message is about TLS or certificates (rustls' wording).
pub fn is_tls_words(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
}

/// The innermost useful cause in words; reqwest's own message carries the URL, so only the
/// sources below it are read.
fn describe_chain(e: &reqwest::Error) -> String {
    let mut causes = Vec::new();
    let mut source = e.source();
    while let Some(cause) = source {
        if let Some(words) = cause.downcast_ref::<std::io::Error>().and_then(io_words) {
            return words.to_owned();
        }
        causes.push(cause.to_string());
        source = cause.source();
    }
    let last = causes.last().cloned().unwrap_or_default();
    let lower = last.to_ascii_lowercase();
    if is_tls_words(&last) {
        format!("TLS error: {last}")
    } else if lower.contains("dns") || lower.contains("resolve") {
        format!("cannot resolve the host: {last}")
    } else if e.is_connect() {
        format!("cannot connect: {last}")
    } else if last.is_empty() {
        "the request failed without an answer".to_owned()
    } else {
        format!("no answer: {last}")
    }
}

/// Socket failures named as people say them.
pub fn io_words(io: &std::io::Error) -> Option<&'static str> {
    use std::io::ErrorKind;
    match io.kind() {
        ErrorKind::ConnectionRefused => Some("connection refused"),
        ErrorKind::ConnectionReset => Some("connection reset by the receiver"),
        ErrorKind::ConnectionAborted => Some("connection aborted"),
        ErrorKind::TimedOut => Some("timed out"),
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => Some("host unreachable"),
        ErrorKind::UnexpectedEof => Some("the receiver closed the connection"),
        _ => None,
    }
}

fn snippet(body: &str) -> String {
    let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= BODY_SNIPPET_CHARS {
        return flat;
    }
    let mut cut: String = flat.chars().take(BODY_SNIPPET_CHARS).collect();
    cut.push('…');
    cut
}

/// `10s`, `1.5s`.
pub fn secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        for (code, transient) in [(500, true), (503, true), (429, true), (408, true)] {
            let e = status_error(StatusCode::from_u16(code).unwrap(), "");
            assert_eq!(e.transient, transient, "{code}");
        }
        for code in [400, 401, 403, 404, 410] {
            assert!(!status_error(StatusCode::from_u16(code).unwrap(), "").transient);
        }
        let e = status_error(StatusCode::UNAUTHORIZED, "  nope \n");
        assert_eq!(e.reason, "HTTP 401 Unauthorized (bad credentials): nope");
    }
}
