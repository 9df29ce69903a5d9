//! `[apps.probes.<name>]`, `[apps.pingdom]`, `[[apps.checks]]` and `[apps.guardrails.gates]`:
//! loaded with their defaults, every problem reported with key and line, secrets never shown.

use std::time::Duration;

use dynopilot_core::policy::CheckKind;
use dynopilot_server::config::DEFAULT_PINGDOM_URL;

use super::{at, load, load_err};

#[test]
fn probes_checks_and_gates_load_with_their_defaults() {
    let text = r#"
[[apps]]
name = "shop"

[apps.guardrails.gates]
postgres_connections_pct = 85.0

[apps.probes.heartbeat]
url = "https://shop.example.com/heartbeat"
headers = { authorization = "Bearer s3cret-probe-token" }

[apps.pingdom]
api_token = "pingdom-s3cret"
check_ids = [85975]

[[apps.checks]]
name = "db"
type = "postgres"
url = "postgres://app:pg-s3cret@db.example.com/app"
[apps.checks.thresholds]
connections_pct = { degraded = 80.0, down = 95.0 }
"#;
    let config = load(text).unwrap();
    let app = &config.apps[0];
    let probe = &app.probes.heartbeats[0];
    assert_eq!((probe.method.as_str(), probe.expect_status), ("GET", 200));
    assert_eq!(
        (probe.timeout, probe.interval),
        (Duration::from_secs(5), Duration::from_secs(20))
    );
    assert_eq!(probe.process_type, "web");
    let pingdom = app.probes.pingdom.as_ref().unwrap();
    assert_eq!(pingdom.base_url, DEFAULT_PINGDOM_URL);
    assert_eq!(pingdom.interval, Duration::from_secs(60));
    assert_eq!(app.probes.checks[0].kind, CheckKind::Postgres);
    assert_eq!(
        app.probes.checks[0].thresholds["connections_pct"].down,
        Some(95.0)
    );
    let gates = &app.resolved.policy.guardrails.gates;
    assert_eq!(gates.postgres_connections_pct, Some(85.0));
    assert!(gates.redis_down, "default kept");
    let debug = format!("{config:?}");
    for secret in ["s3cret-probe-token", "pingdom-s3cret", "pg-s3cret"] {
        assert!(!debug.contains(secret), "{secret} shown in Debug");
    }
}

#[test]
fn probe_problems_name_key_and_line() {
    let text = r#"
[[apps]]
name = "shop"

[apps.probes.heartbeat]
url = "ftp://shop.example.com"
method = "FETCH"
timeout = "30s"
interval = "10s"

[apps.pingdom]
api_token = ""

[[apps.checks]]
name = "cache"
type = "redis"
url = "postgres://user:hidden-pw@db.example.com/app"
[apps.checks.thresholds]
connections_pct = { degraded = 80.0 }
memory_pct = { degraded = 90.0, down = 80.0 }

[apps.guardrails.gates]
postgres_connections_pct = 150.0
"#;
    let errors = load_err(text);
    assert_eq!(at(&errors, "apps[0].probes.heartbeat.url").0, 6);
    assert_eq!(at(&errors, "apps[0].probes.heartbeat.method").0, 7);
    let (line, message) = at(&errors, "apps[0].probes.heartbeat.timeout");
    assert_eq!(line, 8);
    assert!(message.contains("longer than interval"), "{message}");
    assert!(
        at(&errors, "apps[0].pingdom.api_token")
            .1
            .contains("required")
    );
    assert!(
        at(&errors, "apps[0].pingdom.check_ids")
            .1
            .contains("at least one")
    );
    let (line, message) = at(&errors, "apps[0].checks[0].url");
    assert_eq!(line, 17);
    assert!(!message.contains("hidden-pw"), "{message}");
    assert!(
        at(&errors, "apps[0].checks[0].thresholds.connections_pct")
            .1
            .contains("memory_pct")
    );
    assert_eq!(
        at(&errors, "apps[0].checks[0].thresholds.memory_pct.down").0,
        20
    );
    assert_eq!(
        at(&errors, "apps[0].guardrails.gates.postgres_connections_pct").0,
        23
    );
}
