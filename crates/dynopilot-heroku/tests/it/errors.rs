//! Error classification from real status codes and bodies, retries and giving up.

use std::time::Duration;

use dynopilot_heroku::error::PREBOOT_CONFLICT_MESSAGE;
use dynopilot_heroku::wire::FormationUpdate;
use dynopilot_heroku::{HerokuError, RetryPolicy};

use crate::fake::{
    Fake, RecordingClock, Scripted, app_json, client, client_at, client_with, formation_json,
};

fn no_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    }
}

async fn app_info_error(response: Scripted) -> HerokuError {
    let fake = Fake::start().await;
    fake.push("GET /apps/shop", response);
    client_with(&fake, &RecordingClock::new(), no_retries())
        .app_info("shop")
        .await
        .unwrap_err()
}

#[tokio::test]
async fn each_status_maps_to_its_kind_with_herokus_body() {
    type IsKind = fn(&HerokuError) -> bool;
    let cases: [(u16, &str, IsKind); 7] = [
        (401, "unauthorized", |e| {
            matches!(e, HerokuError::Unauthorized { .. })
        }),
        (403, "forbidden", |e| {
            matches!(e, HerokuError::Forbidden { .. })
        }),
        (404, "not_found", |e| {
            matches!(e, HerokuError::NotFound { .. })
        }),
        (409, "conflict", |e| {
            matches!(e, HerokuError::Conflict { preboot: false, .. })
        }),
        (422, "invalid_params", |e| {
            matches!(e, HerokuError::Unprocessable { .. })
        }),
        (500, "internal_server_error", |e| {
            matches!(e, HerokuError::Upstream { status: 500, .. })
        }),
        (503, "service_unavailable", |e| {
            matches!(e, HerokuError::Upstream { status: 503, .. })
        }),
    ];
    for (status, id, is_kind) in cases {
        let err = app_info_error(Scripted::error(status, id, "went wrong")).await;
        assert!(is_kind(&err), "{status} became {err:?}");
        assert_eq!(err.heroku_id(), Some(id));
        assert_eq!(err.body().map(|b| b.message.as_str()), Some("went wrong"));
        assert_eq!(err.is_retryable(), status >= 500, "{status}");
    }
}

#[tokio::test]
async fn garbage_and_truncated_bodies_become_decode_errors() {
    for body in [&b"<html>oops</html>"[..], br#"{"id":"a1","na"#, b""] {
        let err = app_info_error(Scripted::raw(200, body)).await;
        assert!(matches!(err, HerokuError::Decode { .. }), "{err:?}");
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn retries_a_503_then_succeeds_after_backing_off() {
    let fake = Fake::start().await;
    fake.push(
        "GET /apps/shop",
        Scripted::error(503, "service_unavailable", "busy"),
    )
    .push(
        "GET /apps/shop",
        Scripted::json(200, app_json("a1", "shop")),
    );
    let clock = RecordingClock::new();
    let app = client(&fake, &clock).app_info("shop").await.unwrap();
    assert_eq!(app.name, "shop");
    assert_eq!(fake.requests_to("GET /apps/shop").len(), 2);
    assert_eq!(clock.sleeps(), [Duration::from_millis(500)]);
}

#[tokio::test]
async fn gives_up_on_5xx_after_max_attempts_with_growing_delays() {
    let fake = Fake::start().await;
    for _ in 0..5 {
        fake.push(
            "GET /apps/shop",
            Scripted::error(500, "internal_server_error", "x"),
        );
    }
    let clock = RecordingClock::new();
    let err = client(&fake, &clock).app_info("shop").await.unwrap_err();
    assert!(matches!(err, HerokuError::Upstream { status: 500, .. }));
    assert_eq!(fake.requests_to("GET /apps/shop").len(), 4);
    let ms: Vec<u128> = clock.sleeps().iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [500, 1000, 2000]);
}

#[tokio::test]
async fn does_not_retry_4xx() {
    let fake = Fake::start().await;
    fake.push(
        "GET /apps/shop",
        Scripted::error(422, "invalid_params", "bad"),
    );
    let clock = RecordingClock::new();
    let err = client(&fake, &clock).app_info("shop").await.unwrap_err();
    assert!(matches!(err, HerokuError::Unprocessable { .. }));
    assert_eq!(fake.requests().len(), 1);
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn a_429_waits_for_retry_after_and_empties_the_budget() {
    let fake = Fake::start().await;
    fake.push(
        "GET /apps/shop",
        Scripted::error(429, "rate_limit", "Your account reached the API rate limit")
            .header("Retry-After", "7"),
    )
    .push(
        "GET /apps/shop",
        Scripted::json(200, app_json("a1", "shop")),
    );
    let clock = RecordingClock::new();
    let c = client(&fake, &clock);
    c.app_info("shop").await.unwrap();
    let sleeps = clock.sleeps();
    assert_eq!(sleeps[0], Duration::from_secs(7));
    // After 7 s of refill (1.25/s) the local bucket holds ~8 tokens, not 4500.
    assert!(c.budget().remaining() < 10.0, "{}", c.budget().remaining());
}

#[tokio::test]
async fn preboot_conflict_is_detected_and_retried() {
    let fake = Fake::start().await;
    fake.push(
        "PATCH /apps/shop/formation/web",
        Scripted::error(409, "conflict", PREBOOT_CONFLICT_MESSAGE),
    )
    .push(
        "PATCH /apps/shop/formation/web",
        Scripted::json(200, formation_json("web", 4, "Standard-1X")),
    );
    let clock = RecordingClock::new();
    let f = client(&fake, &clock)
        .formation_update("shop", "web", &FormationUpdate::quantity(4))
        .await
        .unwrap();
    assert_eq!(f.quantity, 4);
    assert_eq!(clock.sleeps(), [Duration::from_millis(500)]);

    let fake = Fake::start().await;
    fake.push(
        "PATCH /apps/shop/formation/web",
        Scripted::error(409, "conflict", PREBOOT_CONFLICT_MESSAGE),
    );
    let err = client_with(&fake, &RecordingClock::new(), no_retries())
        .formation_update("shop", "web", &FormationUpdate::quantity(4))
        .await
        .unwrap_err();
    assert!(err.is_preboot_conflict());
}

#[tokio::test]
async fn dyno_create_is_not_repeated_after_a_5xx() {
    let fake = Fake::start().await;
    fake.push(
        "POST /apps/shop/dynos",
        Scripted::error(503, "service_unavailable", "x"),
    );
    let clock = RecordingClock::new();
    let create = dynopilot_heroku::wire::DynoCreate {
        command: "bash".into(),
        ..Default::default()
    };
    let err = client(&fake, &clock)
        .dyno_create("shop", &create)
        .await
        .unwrap_err();
    assert!(matches!(err, HerokuError::Upstream { status: 503, .. }));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn connection_refused_is_a_retryable_connect_error_that_did_not_apply() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = client_at(&base, &RecordingClock::new(), no_retries())
        .app_info("shop")
        .await
        .unwrap_err();
    assert!(matches!(err, HerokuError::Connect { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(
        err.write_outcome(),
        dynopilot_heroku::error::WriteOutcome::NotApplied
    );
    // The cause is kept, the URL is not.
    assert!(!err.to_string().contains("127.0.0.1"), "{err}");
    assert!(
        err.to_string().len() > "could not connect to Heroku: ".len() + 25,
        "{err}"
    );
}
