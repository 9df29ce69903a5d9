//! Sign-in: required off loopback, session cookie flags, CSRF on controls.

use axum::body::Body;
use axum::http::{Request, header};
use dynopilot_server::web::{Credentials, WebSettings};

use super::{Harness, set_cookie, text};

fn with_login() -> WebSettings {
    WebSettings::for_listen(
        "0.0.0.0:5000".parse().unwrap(),
        Some(Credentials::plain("ops", "s3cret")),
    )
}

fn login_request(user: &str, password: &str) -> Request<Body> {
    Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "username={user}&password={password}&next=/apps/shop"
        )))
        .unwrap()
}

#[test]
fn login_is_required_off_loopback_and_when_credentials_are_set() {
    let loopback = "127.0.0.1:5000".parse().unwrap();
    assert!(!WebSettings::for_listen(loopback, None).require_login);
    assert!(WebSettings::for_listen("0.0.0.0:5000".parse().unwrap(), None).require_login);
    let creds = Credentials::plain("a", "b");
    assert!(WebSettings::for_listen(loopback, Some(creds)).require_login);
}

#[tokio::test]
async fn pages_redirect_to_login_and_the_api_says_401() {
    let h = Harness::new(with_login()).await;
    let page = h.get("/apps/shop").await;
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()[header::LOCATION], "/login?next=/apps/shop");
    assert_eq!(h.get("/api/v1/apps").await.status(), 401);
    // Health checks and the login page stay open; /metrics wants a token (web_security.rs).
    assert_eq!(h.get("/healthz").await.status(), 200);
    assert_eq!(h.get("/metrics").await.status(), 401);
    assert_eq!(h.get("/login").await.status(), 200);
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_the_right_one_opens_a_session() {
    let h = Harness::new(with_login()).await;
    let wrong = h.send(login_request("ops", "guess")).await;
    assert_eq!(wrong.status(), 401);
    assert!(set_cookie(&wrong).is_none());
    assert!(text(wrong).await.contains("wrong username or password"));

    let right = h.send(login_request("ops", "s3cret")).await;
    assert_eq!(right.status(), 303);
    assert_eq!(right.headers()[header::LOCATION], "/apps/shop");
    let raw = right.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        raw.contains("HttpOnly") && raw.contains("SameSite=Strict"),
        "{raw}"
    );
    let cookie = set_cookie(&right).unwrap();
    let apps = h
        .send(
            Request::get("/api/v1/apps")
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(apps.status(), 200);
    let forged = h
        .send(
            Request::get("/api/v1/apps")
                .header(header::COOKIE, "dynopilot_session=forged")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(forged.status(), 401);
}

#[tokio::test]
async fn login_never_redirects_off_site() {
    let h = Harness::new(with_login()).await;
    let request = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "username=ops&password=s3cret&next=//evil.example/x",
        ))
        .unwrap();
    let response = h.send(request).await;
    assert_eq!(response.headers()[header::LOCATION], "/");
}

#[tokio::test]
async fn controls_need_the_sessions_csrf_token() {
    let h = Harness::loopback().await;
    let (cookie, csrf) = h.session().await;
    assert_eq!(csrf.len(), 64);
    for token in ["", "0000"] {
        let request = Request::post("/api/v1/apps/shop/controls")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-csrf-token", token)
            .body(Body::from(r#"{"command":"pause"}"#))
            .unwrap();
        assert_eq!(h.send(request).await.status(), 403);
    }
    let form = Request::post("/apps/shop/controls")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("csrf=wrong&command=pause"))
        .unwrap();
    assert_eq!(h.send(form).await.status(), 403);
    assert_eq!(h.state.modes.label("shop", &super::shop_policy()), "active");
}
