//! The API key never shows up in Debug output, errors, or requests to non-API hosts.

use dynopilot_heroku::{ApiKey, ClientConfig};

use crate::fake::{Fake, KEY, RecordingClock, Scripted, client};

#[tokio::test]
async fn key_is_absent_from_debug_and_from_every_error_text() {
    let config = ClientConfig::new(ApiKey::new(KEY));
    assert!(!format!("{config:?}").contains(KEY));
    let fake = Fake::start().await;
    // A server that echoes the Authorization header back in its error message would leak the
    // key on its own; here we check that nothing on our side adds it.
    fake.push(
        "GET /apps/shop",
        Scripted::error(401, "unauthorized", "Invalid credentials provided."),
    );
    let c = client(&fake, &RecordingClock::new());
    assert!(!format!("{c:?}").contains(KEY));
    let err = c.app_info("shop").await.unwrap_err();
    for text in [format!("{err}"), format!("{err:?}")] {
        assert!(!text.contains(KEY), "{text}");
        assert!(!text.contains("TEST-SECRET"), "{text}");
    }
    let refused = crate::fake::client_at(
        "http://127.0.0.1:9",
        &RecordingClock::new(),
        dynopilot_heroku::RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        },
    )
    .account()
    .await
    .unwrap_err();
    assert!(!format!("{refused} {refused:?}").contains(KEY));
}

#[tokio::test]
async fn empty_key_and_bad_base_url_are_refused_at_construction() {
    use std::sync::Arc;
    let clock: Arc<dyn dynopilot_core::Clock> = RecordingClock::new();
    let budget = Arc::new(dynopilot_heroku::RequestBudget::new(Arc::clone(&clock)));
    let empty = ClientConfig::new(ApiKey::new(""));
    assert!(
        dynopilot_heroku::HerokuClient::new(empty, Arc::clone(&clock), Arc::clone(&budget))
            .is_err()
    );
    let bad = ClientConfig {
        base_url: "not a url".into(),
        ..ClientConfig::new(ApiKey::new(KEY))
    };
    let err = dynopilot_heroku::HerokuClient::new(bad, clock, budget).unwrap_err();
    assert!(!err.to_string().contains(KEY));
}
