//! `[alerts.channels.*]`: unknown types, bad addresses, missing keys and rule actions naming a
//! channel that does not exist are errors with key and line; `config show` masks the secrets.

use super::{at, load, load_err};

const CHANNELS: &str = r#"
[alerts.channels.ops-email]
type = "email"
host = "smtp.example.com"
username = "alerts"
password = "smtp-pass-0123"
from = "dynopilot <alerts@example.com>"
to = ["ops@example.com", "oncall@example.com"]

[alerts.channels.slack]
type = "slack"
url = "https://hooks.slack.com/services/T0/B0/SLACKTOKEN99"

[alerts.channels.audit]
type = "webhook"
url = "https://alerts.example.com/in?token=URLTOKEN77"
secret = "whsec-signing-55"

[alerts.channels.sms]
type = "twilio"
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token = "twilio-token-33"
from = "+15550001111"
to = ["+15550002222"]

[alerts.channels.pager]
type = "pagerduty"
routing_key = "ROUTINGKEY4444"

[alerts.channels.on-restart]
type = "hook"
command = ["/app/bin/on-alert"]
timeout = "5s"
"#;

#[test]
fn every_channel_type_loads_and_config_show_masks_its_secrets() {
    let c = load(CHANNELS).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = c.alerts.channels.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["audit", "on-restart", "ops-email", "pager", "slack", "sms"]
    );
    let shown = c.show();
    for secret in [
        "smtp-pass-0123",
        "SLACKTOKEN99",
        "URLTOKEN77",
        "whsec-signing-55",
        "twilio-token-33",
        "ROUTINGKEY4444",
    ] {
        assert!(!shown.contains(secret), "{secret} shown:\n{shown}");
    }
    assert!(shown.contains("[alerts.channels.ops-email]"), "{shown}");
    assert!(shown.contains("password = \"***\""), "{shown}");
    assert!(
        shown.contains("to = [\"ops@example.com\", \"oncall@example.com\"]"),
        "{shown}"
    );
    let debug = format!("{c:?}");
    assert!(!debug.contains("smtp-pass-0123") && !debug.contains("SLACKTOKEN99"));
}

#[test]
fn an_unknown_channel_type_is_named_with_its_line() {
    let text = "dry_run = false\n\n[alerts.channels.owl]\ntype = \"carrier-pigeon\"\n";
    let errors = load_err(text);
    let e = errors
        .errors
        .iter()
        .find(|e| e.key.starts_with("alerts.channels.owl"))
        .unwrap_or_else(|| panic!("{errors}"));
    assert!(matches!(e.line(), Some(3) | Some(4)), "{errors}");
    assert!(
        e.message.contains("unknown value `carrier-pigeon`"),
        "{errors}"
    );
    assert!(
        e.message.contains("email"),
        "the known types are listed: {errors}"
    );
}

#[test]
fn a_bad_email_address_is_named_by_its_position_in_the_list() {
    let text = r#"
[alerts.channels.ops]
type = "email"
host = "smtp.example.com"
from = "alerts@example.com"
to = ["ops@example.com",
      "not-an-address"]
"#;
    let errors = load_err(text);
    let (line, message) = at(&errors, "alerts.channels.ops.to[1]");
    assert_eq!(line, 7);
    assert_eq!(
        message,
        "`not-an-address` is not an email address (like ops@example.com)"
    );
    assert_eq!(errors.errors.len(), 1, "{errors}");
}

#[test]
fn a_webhook_without_url_is_an_error_at_its_table() {
    let text = "[alerts.channels.audit]\ntype = \"webhook\"\nsecret = \"s3cret-value\"\n";
    let errors = load_err(text);
    let e = errors
        .errors
        .iter()
        .find(|e| e.key.starts_with("alerts.channels.audit"))
        .unwrap_or_else(|| panic!("{errors}"));
    assert!(
        e.message.contains("required key `url` is missing"),
        "{errors}"
    );
    assert!(matches!(e.line(), Some(1..=3)), "{errors}");
    assert!(!errors.to_string().contains("s3cret-value"));
}

#[test]
fn a_slack_url_that_is_not_http_is_reported_without_its_value() {
    let text =
        "[alerts.channels.slack]\ntype = \"slack\"\nurl = \"hooks.slack.com/T0/B0/TOKEN123\"\n";
    let errors = load_err(text);
    let (line, message) = at(&errors, "alerts.channels.slack.url");
    assert_eq!(line, 3);
    assert_eq!(message, "is not an http(s) URL with a host");
}

#[test]
fn a_rule_webhook_action_must_name_a_configured_channel() {
    let text = r#"
[[apps]]
name = "shop"

[[apps.rules]]
name = "timeouts"
[apps.rules.condition]
type = "codes"
codes = ["H12"]
at_least = 3
window = "5m"

[[apps.rules.actions]]
type = "webhook"
name = "pagr"

[alerts.channels.pager]
type = "pagerduty"
routing_key = "ROUTINGKEY4444"
"#;
    let errors = load_err(text);
    let (line, message) = at(&errors, "apps[0].rules[0].actions[0].name");
    assert_eq!(line, 15);
    assert_eq!(
        message,
        "`pagr` is not a configured alert channel (configured: pager)"
    );
    let fixed = text.replace("\"pagr\"", "\"pager\"");
    load(&fixed).unwrap_or_else(|e| panic!("{e}"));
}
