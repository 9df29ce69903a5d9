//! The API locked to its owners: bearer tokens and their scopes on the API and `/metrics`,
//! login attempt limits, security headers, and problem-details error bodies.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response, header};
use dynopilot_server::web::credentials::{ApiToken, MetricsAccess, Scope};
use dynopilot_server::web::{Credentials, WebSettings};

use super::{Harness, body, set_cookie};

const READ: &str = "read-token-0123456789";
const OPERATE: &str = "operate-token-0123456789";
const METRICS: &str = "metrics-token-0123456789";

fn locked(metrics_access: MetricsAccess) -> WebSettings {
    let mut settings = WebSettings::for_listen(
        "0.0.0.0:5000".parse().unwrap(),
        Some(Credentials::plain("ops", "s3cret")),
    );
    settings.tokens = vec![
        ApiToken::plain("ci", vec![Scope::Read], READ),
        ApiToken::plain("deployer", vec![Scope::Operate], OPERATE),
        ApiToken::plain("prometheus", vec![Scope::Metrics], METRICS),
    ];
    settings.metrics_access = metrics_access;
    settings
}

fn get(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::empty()).unwrap()
}

fn control(token: &str, json: &str) -> Request<Body> {
    Request::post("/api/v1/apps/shop/controls")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json.to_owned()))
        .unwrap()
}

/// The response's problem document, after checking its media type and required members.
async fn problem(response: Response<Body>, status: u16) -> serde_json::Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let json: serde_json::Value = serde_json::from_slice(&body(response).await).unwrap();
    assert_eq!(json["status"], status, "{json}");
    assert_eq!(json["type"], "about:blank", "{json}");
    assert!(
        json["title"].is_string() && json["detail"].is_string(),
        "{json}"
    );
    assert_eq!(json["detail"], json["message"], "{json}");
    json
}

#[tokio::test]
async fn a_wrong_token_gets_401_on_the_api_and_on_metrics() {
    let h = Harness::new(locked(MetricsAccess::Read)).await;
    for uri in ["/api/v1/apps", "/api/v1/apps/shop/decisions", "/metrics"] {
        let response = h.send(get(uri, Some("not-a-token"))).await;
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer realm=\"dynopilot\"",
            "{uri}"
        );
        let json = problem(response, 401).await;
        assert_eq!(json["error"], "unauthorized");
        // No token at all is refused the same way.
        assert_eq!(h.send(get(uri, None)).await.status(), 401, "{uri}");
    }
    assert_eq!(h.send(get("/api/v1/apps", Some(READ))).await.status(), 200);
    assert_eq!(h.send(get("/metrics", Some(READ))).await.status(), 200);
    assert_eq!(h.send(get("/metrics", Some(METRICS))).await.status(), 200);
    // `/healthz` stays open for load balancers.
    assert_eq!(h.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn a_read_token_cannot_operate_and_an_operate_token_is_journaled_by_name() {
    let h = Harness::new(locked(MetricsAccess::Read)).await;
    h.observe_shop();
    let pause = r#"{"command":"pause","process_type":"web"}"#;
    let refused = problem(h.send(control(READ, pause)).await, 403).await;
    assert_eq!(refused["error"], "insufficient_scope", "{refused}");
    assert!(
        h.state.modes.paused("shop", "web").is_none(),
        "nothing changed"
    );

    // No CSRF token needed with a bearer token: no browser sends one on its own.
    let response = h.send(control(OPERATE, pause)).await;
    assert_eq!(response.status(), 200);
    let events = h.send(get("/api/v1/apps/shop/events", Some(READ))).await;
    let events: serde_json::Value = serde_json::from_slice(&body(events).await).unwrap();
    assert_eq!(
        events[0]["message"], "autoscaling of web paused by token deployer",
        "{events}"
    );
    // A metrics-only token reads neither the API nor the controls.
    let json = problem(h.send(get("/api/v1/apps", Some(METRICS))).await, 403).await;
    assert_eq!(json["error"], "insufficient_scope");
}

#[tokio::test]
async fn metrics_can_be_kept_to_the_metrics_scope() {
    let h = Harness::new(locked(MetricsAccess::Metrics)).await;
    let json = problem(h.send(get("/metrics", Some(READ))).await, 403).await;
    assert_eq!(json["error"], "insufficient_scope");
    assert_eq!(h.send(get("/metrics", Some(OPERATE))).await.status(), 403);
    let ok = h.send(get("/metrics", Some(METRICS))).await;
    assert_eq!(ok.status(), 200);
    assert!(
        String::from_utf8(body(ok).await)
            .unwrap()
            .contains("# TYPE")
    );
}

#[tokio::test]
async fn an_open_loopback_dashboard_still_checks_a_token_it_is_given() {
    let settings = WebSettings {
        tokens: vec![ApiToken::plain("ci", vec![Scope::Read], READ)],
        ..WebSettings::default()
    };
    let h = Harness::new(settings).await;
    assert_eq!(h.get("/api/v1/apps").await.status(), 200);
    assert_eq!(h.get("/metrics").await.status(), 200);
    assert_eq!(
        h.send(get("/api/v1/apps", Some("nope"))).await.status(),
        401
    );
    assert_eq!(h.send(get("/metrics", Some("nope"))).await.status(), 401);
}

fn login(password: &str) -> Request<Body> {
    Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-forwarded-for", "203.0.113.9")
        .body(Body::from(format!(
            "username=ops&password={password}&next=/"
        )))
        .unwrap()
}

#[tokio::test]
async fn failed_logins_are_limited_with_429_and_retry_after() {
    let h = Harness::new(locked(MetricsAccess::Read)).await;
    for _ in 0..5 {
        assert_eq!(h.send(login("guess")).await.status(), 401);
    }
    // The fifth failure locked the user for a second; even the right password waits.
    for password in ["guess", "s3cret"] {
        let response = h.send(login(password)).await;
        assert_eq!(response.status(), 429, "{password}");
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        assert!(set_cookie(&response).is_none());
    }
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(h.send(login("guess")).await.status(), 401);
    let response = h.send(login("s3cret")).await;
    assert_eq!(response.status(), 429);
    assert_eq!(
        response.headers()[header::RETRY_AFTER],
        "2",
        "the delay doubles"
    );
    h.clock.advance(Duration::from_secs(2));
    let response = h.send(login("s3cret")).await;
    assert_eq!(response.status(), 303);
    assert!(set_cookie(&response).is_some());
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let h = Harness::loopback().await;
    for uri in [
        "/",
        "/apps/shop",
        "/api/v1/apps",
        "/api/v1/apps/nope",
        "/metrics",
        "/healthz",
        "/login",
        "/assets/dashboard.css",
        "/no/such/page",
    ] {
        let response = h.get(uri).await;
        let headers = response.headers();
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("script-src 'self';"), "{uri}: {csp}");
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
        assert_eq!(headers[header::REFERRER_POLICY], "same-origin", "{uri}");
        assert!(
            headers.get(header::STRICT_TRANSPORT_SECURITY).is_none(),
            "{uri}: no HSTS over plain http"
        );
    }
}

#[tokio::test]
async fn behind_https_cookies_are_secure_and_hsts_is_sent() {
    let h = Harness::loopback().await;
    let request = Request::get("/api/v1/apps")
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();
    let response = h.send(request).await;
    assert_eq!(
        response.headers()[header::STRICT_TRANSPORT_SECURITY],
        "max-age=31536000"
    );
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");

    let mut settings = locked(MetricsAccess::Read);
    settings.https = true;
    let h = Harness::new(settings).await;
    let response = h.send(login("s3cret")).await;
    assert_eq!(response.status(), 303);
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Secure"),
        "{cookie}"
    );
    assert!(
        response
            .headers()
            .contains_key(header::STRICT_TRANSPORT_SECURITY)
    );
}

#[tokio::test]
async fn api_errors_are_problem_details() {
    let h = Harness::loopback().await;
    let (cookie, csrf) = h.session().await;
    let json = problem(h.get("/api/v1/apps/nope").await, 404).await;
    assert_eq!(json["error"], "not_found");
    assert_eq!(json["title"], "Not Found");
    // An unknown path under the API, and a wrong method.
    problem(h.get("/api/v1/nothing/here").await, 404).await;
    let post = Request::post("/api/v1/apps").body(Body::empty()).unwrap();
    problem(h.send(post).await, 405).await;
    // Bounds and malformed query values: 400.
    for uri in [
        "/api/v1/apps/shop/decisions?limit=0",
        "/api/v1/apps/shop/decisions?limit=1001",
        "/api/v1/apps/shop/events?limit=many",
        "/api/v1/apps/shop/actions?range=+5h",
        // Found by the schema fuzzer: a multi-byte character used to panic the range parser.
        "/api/v1/apps/shop/actions?range=%C2%80",
        "/api/v1/apps/shop/series?step=1%C2%BF",
        "/api/v1/apps/shop/series?range=32d",
        "/api/v1/apps/shop/notifications?limit=0",
    ] {
        let json = problem(h.get(uri).await, 400).await;
        assert_eq!(json["error"], "bad_request", "{uri}: {json}");
    }
    // A body of the wrong shape, or out of bounds: 422.
    for body in [
        r#"{"command":"explode"}"#,
        r#"{"command":"scale","process_type":"web","quantity":10001}"#,
        r#"{"command":"pause","seconds":0}"#,
    ] {
        let request = Request::post("/api/v1/apps/shop/controls")
            .header(header::COOKIE, &cookie)
            .header("x-csrf-token", &csrf)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let json = problem(h.send(request).await, 422).await;
        assert_eq!(json["error"], "unprocessable", "{body}: {json}");
    }
    // Pages keep answering in HTML.
    let page = h.get("/no/such/page").await;
    assert_eq!(page.status(), 404);
    assert_ne!(
        page.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
}

fn daemon_settings(listen: &str) -> dynopilot_server::daemon::DaemonSettings {
    use dynopilot_heroku::{ApiKey, ClientConfig};
    dynopilot_server::daemon::DaemonSettings {
        options: Default::default(),
        listen: listen.parse().unwrap(),
        drain: dynopilot_server::ingest::drain::DrainSettings {
            secret: "drain-secret-0123456789".to_owned(),
            max_body_bytes: 1 << 20,
            max_in_flight: 4,
        },
        heroku: ClientConfig::new(ApiKey::new("unused".to_owned())),
        apps: Vec::new(),
        poll_interval: Duration::from_secs(30),
        tick: Duration::from_secs(1),
        reconcile_deadline: dynopilot_server::reconcile::DEFAULT_DEADLINE,
    }
}

#[tokio::test]
async fn off_loopback_without_credentials_the_daemon_refuses_to_start() {
    use dynopilot_server::daemon::{self, DaemonError};
    let clock: std::sync::Arc<dyn dynopilot_core::Clock> =
        std::sync::Arc::new(dynopilot_core::ManualClock::new(super::at(0)));
    let listen = "0.0.0.0:0";
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let web = WebSettings::for_listen(listen.parse().unwrap(), None);
    let refused = daemon::start_with_web(daemon_settings(listen), web, store, clock).await;
    let Err(e @ DaemonError::NoCredentials { .. }) = refused else {
        panic!("started without credentials off loopback");
    };
    let message = e.to_string();
    assert!(
        message.contains("dashboard.password_hash") && message.contains("[[api.tokens]]"),
        "{message}"
    );
}

#[tokio::test]
async fn a_form_post_without_its_csrf_token_is_403() {
    let h = Harness::new(locked(MetricsAccess::Read)).await;
    let signed_in = h.send(login("s3cret")).await;
    let cookie = set_cookie(&signed_in).unwrap();
    for form in [
        "command=pause",
        "csrf=&command=pause",
        "csrf=0000&command=pause",
    ] {
        let request = Request::post("/apps/shop/controls")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        assert_eq!(h.send(request).await.status(), 403, "{form}");
    }
    assert!(h.state.modes.paused("shop", "web").is_none());
}
