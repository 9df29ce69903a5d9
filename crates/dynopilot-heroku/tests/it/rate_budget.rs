//! The shared request budget follows `RateLimit-Remaining` and paces before exhaustion.

use std::time::Duration;

use crate::fake::{Fake, RecordingClock, Scripted, app_json, client};

#[tokio::test]
async fn budget_takes_the_servers_lower_count() {
    let fake = Fake::start().await;
    fake.push(
        "GET /apps/shop",
        Scripted::json(200, app_json("a1", "shop")).header("RateLimit-Remaining", "2400"),
    );
    let c = client(&fake, &RecordingClock::new());
    assert!((c.budget().remaining() - 4500.0).abs() < 1e-9);
    c.app_info("shop").await.unwrap();
    assert!((c.budget().remaining() - 2400.0).abs() < 1e-9);
}

#[tokio::test]
async fn rate_limits_endpoint_is_free_and_updates_the_budget() {
    let fake = Fake::start().await;
    fake.push(
        "GET /account/rate-limits",
        Scripted::json(200, serde_json::json!({"remaining": 1234})),
    );
    let c = client(&fake, &RecordingClock::new());
    let limits = c.rate_limits().await.unwrap();
    assert_eq!(limits.remaining, 1234);
    assert!((c.budget().remaining() - 1234.0).abs() < 1e-9);
}

#[tokio::test]
async fn calls_are_spaced_once_inside_the_reserve_before_any_429() {
    let fake = Fake::start().await;
    for _ in 0..4 {
        fake.push(
            "GET /apps/shop",
            Scripted::json(200, app_json("a1", "shop")).header("RateLimit-Remaining", "100"),
        );
    }
    let clock = RecordingClock::new();
    let c = client(&fake, &clock);
    for _ in 0..4 {
        c.app_info("shop").await.unwrap();
    }
    // First call spends from the full bucket; Heroku then says 100 left (< 10% reserve), so
    // the following calls go one per refill interval (0.8 s at 75/min).
    let spacing = Duration::from_millis(800);
    assert_eq!(clock.sleeps(), [spacing, spacing]);
    assert_eq!(fake.requests().len(), 4);
}

#[tokio::test]
async fn an_empty_budget_waits_for_refill_instead_of_sending() {
    let fake = Fake::start().await;
    fake.push(
        "GET /apps/shop",
        Scripted::json(200, app_json("a1", "shop")).header("RateLimit-Remaining", "0"),
    )
    .push(
        "GET /apps/shop",
        Scripted::json(200, app_json("a1", "shop")),
    );
    let clock = RecordingClock::new();
    let c = client(&fake, &clock);
    c.app_info("shop").await.unwrap();
    c.app_info("shop").await.unwrap();
    let waited: Duration = clock.sleeps().iter().sum();
    assert!(waited >= Duration::from_millis(800), "{waited:?}");
}
