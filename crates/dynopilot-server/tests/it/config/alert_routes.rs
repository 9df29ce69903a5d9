//! The `[alerts]` section: routes naming unknown channels or with bad topic patterns, bad
//! retry settings and URLs are reported with key and line; a valid one becomes routes.

use std::time::Duration;

use dynopilot_core::policy::Severity;

use super::{at, load, load_err};

const CHANNELS: &str = r#"
[alerts.channels]
ops = { type = "webhook", url = "https://hooks.example.com/x", secret = "example-signing-0123" }
pager = { type = "pagerduty", routing_key = "example-routing-key-0123" }



"#;

#[test]
fn a_route_naming_an_unknown_channel_is_an_error_at_its_line() {
    let text = format!(
        r#"{CHANNELS}
[[alerts.routes]]
topics = ["restart"]
channels = ["ops", "sms"]
"#
    );
    let errors = load_err(&text);
    let (line, message) = at(&errors, "alerts.routes[0].channels");
    assert_eq!(line, 11, "{errors}");
    assert_eq!(message, "unknown channel `sms` (configured: ops, pager)");
}

#[test]
fn a_default_route_without_channels_configured_says_so() {
    let errors = load_err("[alerts.default_route]\nchannels = [\"ops\"]\n");
    let (line, message) = at(&errors, "alerts.default_route.channels");
    assert_eq!(line, 2);
    assert_eq!(
        message,
        "unknown channel `ops` (none is configured under [alerts.channels])"
    );
}

#[test]
fn bad_topic_patterns_and_empty_routes_are_named() {
    let text = format!(
        r#"{CHANNELS}
[[alerts.routes]]
topics = ["rule:[ab]"]
channels = ["ops"]

[[alerts.routes]]
topics = []
channels = []
"#
    );
    let errors = load_err(&text);
    let (line, message) = at(&errors, "alerts.routes[0].topics");
    assert_eq!(line, 10, "{errors}");
    assert_eq!(
        message,
        "`rule:[ab]`: `[` is not allowed in a topic pattern (only `*` and `?` are special)"
    );
    assert_eq!(
        at(&errors, "alerts.routes[1].topics").1,
        "needs at least one topic pattern"
    );
    assert_eq!(
        at(&errors, "alerts.routes[1].channels").1,
        "needs at least one channel"
    );
}

#[test]
fn retry_settings_and_the_public_url_are_checked() {
    let text = r#"
[alerts]
public_url = "dynopilot.example.com"

[alerts.retry]
max_attempts = 0
first_backoff = "20m"
max_backoff = "10m"
attempt_timeout = "0s"
"#;
    let errors = load_err(text);
    assert_eq!(
        at(&errors, "alerts.public_url"),
        (
            3,
            "`dynopilot.example.com` is not an http(s) URL".to_owned()
        )
    );
    assert_eq!(at(&errors, "alerts.retry.max_attempts").0, 6);
    assert_eq!(
        at(&errors, "alerts.retry.first_backoff").1,
        "is longer than max_backoff (10m)"
    );
    assert_eq!(
        at(&errors, "alerts.retry.attempt_timeout").1,
        "must be greater than zero"
    );
}

#[test]
fn an_unknown_key_under_a_route_is_an_error() {
    let text = format!(
        r#"{CHANNELS}
[[alerts.routes]]
topics = ["restart"]
channels = ["ops"]
severity = "warning"
"#
    );
    let errors = load_err(&text);
    assert!(
        errors.to_string().contains("severity"),
        "unknown keys are rejected: {errors}"
    );
}

#[test]
fn a_valid_section_becomes_routes_with_cooling_and_links() {
    let text = format!(
        r#"
[alerts]
cooling = "15m"
big_swing = 4
public_url = "https://pilot.example.com/"
{CHANNELS}
[[alerts.routes]]
topics = ["rule:*", "escalation"]
min_severity = "warning"
channels = ["pager"]
cooling = "1m"

[[alerts.routes]]
topics = ["restart"]
apps = ["billing"]
channels = ["ops"]

[alerts.default_route]
channels = ["ops"]
"#
    );
    let config = load(&text).unwrap_or_else(|e| panic!("{e}"));
    let alerts = &config.alerts;
    assert_eq!(alerts.channel_names, ["ops", "pager"]);
    let s = &alerts.settings;
    assert_eq!(s.events.big_swing, 4);
    assert_eq!(
        s.events.public_url.as_deref(),
        Some("https://pilot.example.com")
    );
    let routed = s.routes.route("rule:H12", Severity::Critical, "shop");
    assert_eq!(routed.channels.into_iter().collect::<Vec<_>>(), ["pager"]);
    assert_eq!(routed.cooling, Duration::from_secs(60));
    let restart = s.routes.route("restart", Severity::Warning, "billing");
    assert_eq!(restart.channels.into_iter().collect::<Vec<_>>(), ["ops"]);
    assert_eq!(restart.cooling, Duration::from_secs(900));
    // Info is below the default route's warning.
    assert!(
        s.routes
            .route("scale-up", Severity::Info, "shop")
            .channels
            .is_empty()
    );
}
