//! Error bodies of the API, `/metrics` and the drain as RFC 9457 problem details
//! (`application/problem+json`): `type`, `title`, `status`, `detail`, plus dynopilot's `error`
//! (a stable kind) and `message` (same text as `detail`, which v1 clients read). `ensure` turns
//! every other 4xx/5xx on those paths (extractor rejections, unknown routes, wrong methods,
//! the drain's bare status codes) into one, keeping the status and headers.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub const CONTENT_TYPE: &str = "application/problem+json";
/// How much of a plain-text error body is kept as the problem's detail.
const MAX_DETAIL_BYTES: usize = 2048;

/// A problem-details response.
pub fn respond(status: StatusCode, kind: &str, detail: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = serde_json::json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
        "error": kind,
        "message": detail,
    });
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// The error kind dynopilot reports for a status no handler named.
pub fn kind_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        429 => "too_many_requests",
        503 => "unavailable",
        _ if status.is_client_error() => "client_error",
        _ => "server_error",
    }
}

/// Paths whose errors are problem details (the dashboard's pages answer in HTML).
pub fn covers(path: &str) -> bool {
    path.starts_with("/api/") || path == "/metrics" || path.starts_with("/drain")
}

/// Rewrites any 4xx/5xx on a covered path that is not yet a problem document.
pub async fn ensure(request: Request, next: Next) -> Response {
    let covered = covers(request.uri().path());
    let response = next.run(request).await;
    let status = response.status();
    if !covered || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(CONTENT_TYPE));
    if is_problem {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_DETAIL_BYTES)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty() && !t.starts_with('{'));
    let detail = text.unwrap_or_else(|| default_detail(status).to_owned());
    let problem = respond(status, kind_of(status), &detail);
    let (problem_parts, problem_body) = problem.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &problem_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, Body::new(problem_body))
}

fn default_detail(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "missing or wrong credentials",
        404 => "no such resource",
        405 => "this method is not allowed here",
        _ => status.canonical_reason().unwrap_or("error"),
    }
}
