//! DNS rebinding and cross-site writes: an open (loopback, no password) dashboard answers
//! only to loopback names and listed hosts, and browser writes must come from its own origin.

use axum::body::Body;
use axum::http::{Request, header};
use dynopilot_server::web::{Credentials, WebSettings};

use super::{Harness, set_cookie, shop_policy, text};

const EVIL: &str = "rebind.evil.example";

fn get_with_host(uri: &str, host: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, host)
        .body(Body::empty())
        .unwrap()
}

/// The dashboard's pause button, as a browser would post it.
fn pause_form(cookie: &str, csrf: &str, headers: &[(header::HeaderName, &str)]) -> Request<Body> {
    let mut request = Request::post("/apps/shop/controls")
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request
        .body(Body::from(format!(
            "csrf={csrf}&command=pause&confirmed=yes"
        )))
        .unwrap()
}

#[tokio::test]
async fn a_rebound_host_gets_421_and_neither_a_session_nor_a_csrf_token() {
    let h = Harness::loopback().await;
    for uri in ["/", "/apps/shop", "/api/v1/apps", "/metrics", "/login"] {
        let response = h.send(get_with_host(uri, EVIL)).await;
        assert_eq!(response.status(), 421, "GET {uri}");
        assert!(
            set_cookie(&response).is_none(),
            "GET {uri} opened a session"
        );
        assert!(response.headers().get("x-csrf-token").is_none());
        let message = text(response).await;
        assert!(
            message.contains(EVIL) && message.contains("allowed_hosts"),
            "{message}"
        );
    }
    // Load balancers probe /healthz by any name.
    assert_eq!(h.send(get_with_host("/healthz", EVIL)).await.status(), 200);
}

#[tokio::test]
async fn a_rebound_host_cannot_pause_autoscaling_even_with_a_stolen_session() {
    let h = Harness::loopback().await;
    h.observe_shop();
    let (cookie, csrf) = h.session().await;
    let host = format!("{EVIL}:8080");
    let response = h
        .send(pause_form(&cookie, &csrf, &[(header::HOST, &host)]))
        .await;
    assert_eq!(response.status(), 421);
    let api = Request::post("/api/v1/apps/shop/controls")
        .header(header::HOST, &host)
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-csrf-token", &csrf)
        .body(Body::from(r#"{"command":"pause","process_type":"web"}"#))
        .unwrap();
    assert_eq!(h.send(api).await.status(), 421);
    assert_eq!(h.state.modes.label("shop", &shop_policy()), "active");
}

#[tokio::test]
async fn loopback_names_and_listed_hosts_are_served_at_any_port() {
    let settings = WebSettings {
        allowed_hosts: vec!["dynopilot.internal".to_owned()],
        ..WebSettings::default()
    };
    let h = Harness::new(settings).await;
    for host in [
        "localhost",
        "localhost:8080",
        "LOCALHOST:8080",
        "127.0.0.1:8080",
        "127.0.0.1",
        "[::1]:8080",
        "dynopilot.internal:443",
        "Dynopilot.Internal",
    ] {
        let response = h.send(get_with_host("/api/v1/apps", host)).await;
        assert_eq!(response.status(), 200, "Host: {host}");
    }
    for host in [
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "10.0.0.8:8080",
    ] {
        let response = h.send(get_with_host("/api/v1/apps", host)).await;
        assert_eq!(response.status(), 421, "Host: {host}");
    }
}

#[tokio::test]
async fn a_post_from_a_foreign_origin_is_refused_despite_a_valid_csrf_token() {
    let h = Harness::loopback().await;
    h.observe_shop();
    let (cookie, csrf) = h.session().await;
    let host = (header::HOST, "127.0.0.1:8080");
    for foreign in [
        (header::ORIGIN, "http://evil.example"),
        (header::ORIGIN, "null"),
        (header::ORIGIN, "http://127.0.0.1:9999"),
        (header::REFERER, "http://evil.example/attack.html"),
    ] {
        let response = h
            .send(pause_form(&cookie, &csrf, &[host.clone(), foreign.clone()]))
            .await;
        assert_eq!(response.status(), 403, "{foreign:?}");
        assert!(text(response).await.contains("another site") || foreign.1 == "null");
        assert_eq!(h.state.modes.label("shop", &shop_policy()), "active");
    }
    // The dashboard's own page posts with its own origin, and that goes through.
    let own = (header::ORIGIN, "http://127.0.0.1:8080");
    let response = h.send(pause_form(&cookie, &csrf, &[host, own])).await;
    assert_eq!(response.status(), 303);
    assert_eq!(h.state.modes.label("shop", &shop_policy()), "paused");
}

#[tokio::test]
async fn behind_sign_in_any_host_is_served_but_cross_site_logins_are_refused() {
    let settings = WebSettings::for_listen(
        "0.0.0.0:5000".parse().unwrap(),
        Some(Credentials::plain("ops", "s3cret")),
    );
    let h = Harness::new(settings).await;
    let page = h
        .send(get_with_host("/apps/shop", "dynopilot.herokuapp.com"))
        .await;
    assert_eq!(page.status(), 303, "sent to the login page, not refused");
    let login = |origin: &str| {
        Request::post("/login")
            .header(header::HOST, "dynopilot.herokuapp.com")
            .header(header::ORIGIN, origin)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("username=ops&password=s3cret&next=/"))
            .unwrap()
    };
    let forged = h.send(login("https://evil.example")).await;
    assert_eq!(forged.status(), 403);
    assert!(set_cookie(&forged).is_none());
    let own = h.send(login("https://dynopilot.herokuapp.com")).await;
    assert_eq!(own.status(), 303);
    assert!(set_cookie(&own).is_some());
}
