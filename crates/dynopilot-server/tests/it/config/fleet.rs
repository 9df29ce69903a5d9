//! Keys for real fleets: each app's own API key named by variable (never inline), the policy
//! tick and poll intervals with today's defaults and their bounds, and the discovery refresh.

use std::time::Duration;

use super::{at, env, load, load_err};

#[test]
fn an_app_key_is_read_from_the_variable_it_names() {
    let text = r#"[[apps]]
name = "shop"
api_key_env = "HEROKU_API_KEY_SHOP"

[[apps]]
name = "blog"
"#;
    let config = load(text).unwrap();
    assert_eq!(
        config.apps[0].api_key_env.as_deref(),
        Some("HEROKU_API_KEY_SHOP")
    );
    let keys = config
        .app_api_keys(&env(&[("HEROKU_API_KEY_SHOP", "hrku-shop-0123")]))
        .unwrap();
    assert_eq!(keys.len(), 1, "blog uses heroku.api_key");
    assert_eq!(keys["shop"].expose(), "hrku-shop-0123");
    assert!(!format!("{config:?}").contains("hrku-shop"));
    let shown = config.show();
    assert!(
        shown.contains("api_key_env = \"HEROKU_API_KEY_SHOP\""),
        "{shown}"
    );
    // Unset at start: the error names the app and the variable.
    let missing = config.app_api_keys(&env(&[])).unwrap_err();
    assert_eq!(
        missing,
        ["app shop: environment variable HEROKU_API_KEY_SHOP (its api_key_env) is not set"]
    );
}

#[test]
fn an_inline_app_key_or_a_bad_variable_name_is_refused_with_key_and_line() {
    let text = r#"[[apps]]
name = "shop"
api_key = "hrku-0123456789abcdef"

[[apps]]
name = "blog"
api_key_env = "HEROKU API KEY"
"#;
    let errors = load_err(text);
    let (line, message) = at(&errors, "apps[0].api_key");
    assert_eq!(line, 3);
    assert!(message.contains("app `shop`"), "{message}");
    assert!(message.contains("api_key_env"), "{message}");
    assert!(
        !errors.to_string().contains("hrku-0123456789abcdef"),
        "{errors}"
    );
    let (line, message) = at(&errors, "apps[1].api_key_env");
    assert_eq!(line, 7);
    assert!(
        message.contains("not an environment variable name"),
        "{message}"
    );
}

#[test]
fn intervals_default_to_todays_values() {
    let config = load("").unwrap();
    let p = &config.poll;
    assert_eq!(p.tick, Duration::from_secs(1));
    assert_eq!(p.formation, Duration::from_secs(30));
    assert_eq!(p.releases, Duration::from_secs(30));
    assert_eq!(p.runtime_metrics, Duration::from_secs(3600));
    assert_eq!(p.failing_after, 3);
    assert_eq!(config.discovery.refresh, Duration::from_secs(300));
    let shown = config.show();
    assert!(shown.contains("failing_after = 3  # default"), "{shown}");
    assert!(shown.contains("refresh = \"5m\"  # default"), "{shown}");
}

#[test]
fn intervals_are_read_and_checked_against_their_bounds() {
    let config = load(
        "[runner]\ntick = \"500ms\"\n\n[poll]\nformation = \"1m\"\nreleases = \"2m\"\n\
         runtime_metrics = \"6h\"\nfailing_after = 0\n\n[discovery]\nrefresh = \"10m\"\n",
    )
    .unwrap();
    assert_eq!(config.poll.tick, Duration::from_millis(500));
    assert_eq!(config.poll.formation, Duration::from_secs(60));
    assert_eq!(config.poll.releases, Duration::from_secs(120));
    assert_eq!(config.poll.runtime_metrics, Duration::from_secs(6 * 3600));
    assert_eq!(config.poll.failing_after, 0);
    assert_eq!(config.discovery.refresh, Duration::from_secs(600));
    let shown = config.show();
    assert!(shown.contains("tick = \"500ms\"  # file"), "{shown}");
    assert!(shown.contains("releases = \"2m\"  # file"), "{shown}");

    let text = "[runner]\ntick = \"10ms\"\n\n[poll]\nformation = \"1s\"\nreleases = \"0s\"\n\
                runtime_metrics = \"2d\"\nfailing_after = 5000\n\n[discovery]\nrefresh = \"5s\"\n";
    let errors = load_err(text);
    let (line, message) = at(&errors, "runner.tick");
    assert_eq!(line, 2);
    assert!(message.contains("outside 100ms to 1m"), "{message}");
    assert!(message.contains("like `30s`"), "{message}");
    let (line, message) = at(&errors, "poll.formation");
    assert_eq!(line, 5);
    assert!(message.contains("outside 5s to 1h"), "{message}");
    let (_, message) = at(&errors, "poll.releases");
    assert!(message.contains("greater than zero"), "{message}");
    let (_, message) = at(&errors, "poll.runtime_metrics");
    assert!(message.contains("outside 1m to 24h"), "{message}");
    let (_, message) = at(&errors, "poll.failing_after");
    assert!(message.contains("at most 1000"), "{message}");
    let (line, message) = at(&errors, "discovery.refresh");
    assert_eq!(line, 11);
    assert!(message.contains("outside 30s to 24h"), "{message}");

    let errors = load_err("[poll]\nformation = \"soon\"\n");
    let (line, message) = at(&errors, "poll.formation");
    assert_eq!(line, 2);
    assert!(message.contains("not a duration"), "{message}");
}
