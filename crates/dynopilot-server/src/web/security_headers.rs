//! Security headers on every response: a Content-Security-Policy that allows only our own
//! scripts (no inline script, no framing), `nosniff`, a same-origin referrer policy, and HSTS
//! when the dashboard is served over https (configured, or announced by the proxy in
//! `X-Forwarded-Proto`).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Inline styles stay allowed: the chart library and htmx set element styles; scripts come
/// only from `/assets/`.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";
pub const HSTS: &str = "max-age=31536000";

/// True when the client reached us over https: always when configured so, else when the
/// proxy in front says so.
pub fn is_https(always: bool, headers: &HeaderMap) -> bool {
    always
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// Adds the headers (without replacing any a handler set itself).
pub async fn add(always_https: bool, request: Request, next: Next) -> Response {
    let https = is_https(always_https, request.headers());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CSP);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "same-origin");
    if https {
        set(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    response
}
