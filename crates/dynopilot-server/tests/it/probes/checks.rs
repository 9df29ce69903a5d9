//! Status checks against the real Redis and Postgres of this machine: Redis ok, then stopped
//! mid-run (down, alert decision, no panic), then back (recovered); Postgres connections
//! measured for real, and a saturation over the gate holds the web upscale with the reason.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use dynopilot_clock::SystemClock;
use dynopilot_core::Clock;
use dynopilot_core::policy::{
    self, Action, CheckKind, CheckState, Guardrail, PolicyState, ProbeResult, ProcessTypeConfig,
};
use dynopilot_core::scaling::{HorizontalConfig, Signal, StreakConfig};
use dynopilot_server::config::{AppProbes, Threshold};

use super::support::{Relay, Running, check, eventually, host_port, postgres_url, redis_url};

fn state_of(running: &Running, name: &str) -> Option<CheckState> {
    running
        .observed("shop")
        .checks
        .get(name)
        .and_then(|c| c.state())
}

fn alert_topics(decisions: &[policy::Decision]) -> Vec<String> {
    decisions
        .iter()
        .filter_map(|d| match &d.action {
            Action::Alert { topic, .. } if topic.starts_with("check-") => Some(topic.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn redis_stopped_mid_run_goes_down_alerts_once_and_recovers() {
    let Some(url) = redis_url() else { return };
    let relay = Relay::new(&host_port(&url)).await;
    let via_relay = format!("redis://127.0.0.1:{}/", relay.port);
    let probes = AppProbes {
        checks: vec![check(
            "cache",
            CheckKind::Redis,
            &via_relay,
            &[(
                "memory_pct",
                Threshold {
                    degraded: Some(99.0),
                    down: None,
                },
            )],
        )],
        ..AppProbes::default()
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let running = Running::start("shop", probes, Arc::clone(&clock));
    let config = policy::Config::new("shop");
    let mut state = PolicyState::default();
    let mut topics = Vec::new();
    let mut evaluate = |running: &Running, state: &mut PolicyState| {
        let (decisions, next) =
            policy::evaluate(&config, &running.observed("shop"), state, clock.now());
        *state = next;
        topics.extend(alert_topics(&decisions));
    };

    eventually("Redis check ok", Duration::from_secs(5), || {
        state_of(&running, "cache") == Some(CheckState::Ok)
    })
    .await;
    let values = running.observed("shop").checks["cache"]
        .latest
        .clone()
        .unwrap()
        .values;
    assert!(values["connected_clients"] >= 1.0, "{values:?}");
    assert_eq!(values["evicted_keys"], 0.0, "the first run is the baseline");
    evaluate(&running, &mut state);

    relay.stop();
    eventually("Redis check down", Duration::from_secs(5), || {
        state_of(&running, "cache") == Some(CheckState::Down)
    })
    .await;
    evaluate(&running, &mut state);
    evaluate(&running, &mut state);
    let down = running.observed("shop").checks["cache"]
        .latest
        .clone()
        .unwrap();
    assert!(!down.detail.is_empty(), "the reason is kept: {down:?}");

    relay.start().await;
    eventually("Redis check ok again", Duration::from_secs(5), || {
        state_of(&running, "cache") == Some(CheckState::Ok)
    })
    .await;
    evaluate(&running, &mut state);
    assert_eq!(topics, ["check-down", "check-recovered"]);
    let history = &running.observed("shop").checks["cache"].history;
    assert!(history.iter().any(|s| s.state == CheckState::Down));
    running.stop().await;
}

#[tokio::test]
async fn postgres_saturation_is_measured_and_holds_the_web_upscale_with_the_reason() {
    let Some(url) = postgres_url() else { return };
    // Connections of our own, held while the check measures.
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(
            <sqlx::PgConnection as sqlx::Connection>::connect(&url)
                .await
                .unwrap(),
        );
    }
    let probes = AppProbes {
        checks: vec![check(
            "db",
            CheckKind::Postgres,
            &url,
            &[(
                "connections_pct",
                Threshold {
                    degraded: Some(0.5),
                    down: None,
                },
            )],
        )],
        ..AppProbes::default()
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let running = Running::start("shop", probes, Arc::clone(&clock));
    eventually("Postgres measured", Duration::from_secs(10), || {
        state_of(&running, "db").is_some()
    })
    .await;
    // One snapshot for the measurement and the decision (a later run may differ).
    let mut observed = running.observed("shop");
    let sample = observed.checks["db"].latest.clone().unwrap();
    let values: &BTreeMap<String, f64> = &sample.values;
    assert!(
        values["connections"] >= 9.0,
        "our 8 and the check's own: {values:?}"
    );
    let max = values["max_connections"];
    let pct = values["connections_pct"];
    assert!((pct - values["connections"] / max * 100.0).abs() < 1e-9);
    assert_eq!(sample.state, CheckState::Degraded, "{sample:?}");
    assert!(values.contains_key("longest_query_ms"));

    // A gate set just under what our own connections alone make.
    let mut config = policy::Config::new("shop");
    config.guardrails.gates.postgres_connections_pct = Some(8.0 / max * 100.0);
    config.process_types.insert(
        "web".into(),
        ProcessTypeConfig {
            min: Some(1),
            max: Some(4),
            autoscale: Some(HorizontalConfig::Streak(StreakConfig {
                signal: Signal::ProbeLatency,
                fails: 1,
                ..StreakConfig::default()
            })),
            ..ProcessTypeConfig::default()
        },
    );
    config.guardrails.deploy_freeze = policy::ConfigDuration::from_secs(0);
    let now = clock.now();
    let web = observed.process_types.entry("web".into()).or_default();
    for dyno in ["web.1", "web.2"] {
        let since = now.minus(Duration::from_secs(3600));
        let up =
            policy::DynoState::new(Some(format!("{dyno}-a")), policy::DynoLifecycle::Up, since);
        web.dynos.insert(dyno.into(), up);
    }
    web.formation = Some(policy::Formation {
        quantity: 2,
        size: "Standard-1X".into(),
        updated_at: now.minus(Duration::from_secs(3600)),
    });
    web.probes.push(ProbeResult {
        at: now,
        name: "heartbeat".into(),
        ok: true,
        latency_ms: Some(5000.0),
    });
    let (decisions, _) = policy::evaluate(&config, &observed, &PolicyState::default(), now);
    let scale = decisions
        .iter()
        .find(|d| matches!(d.action, Action::ScaleFormation { .. }))
        .expect("the slow probe asks for more web dynos");
    assert!(scale.is_blocked(), "{decisions:?}\n{:?}", observed.checks);
    assert_eq!(scale.blocked[0].guardrail, Guardrail::DependencyGate);
    let line = scale.to_string();
    assert!(
        line.contains("dependency gate on Postgres db:")
            && line.contains("% of max_connections in use"),
        "{line}"
    );
    drop(held);
    running.stop().await;
}

#[tokio::test]
async fn an_http_check_is_degraded_by_latency_and_down_on_a_wrong_status() {
    let server = super::support::Heartbeat::start(60).await;
    let slow = check(
        "site",
        CheckKind::Http,
        &server.url(),
        &[(
            "latency_ms",
            Threshold {
                degraded: Some(40.0),
                down: Some(10_000.0),
            },
        )],
    );
    let mut missing = check(
        "missing",
        CheckKind::Http,
        &server.url().replace("/heartbeat", "/nope"),
        &[],
    );
    missing.expect_status = 200;
    let probes = AppProbes {
        checks: vec![slow, missing],
        ..AppProbes::default()
    };
    let running = Running::start("shop", probes, Arc::new(SystemClock));
    eventually("both checks ran", Duration::from_secs(5), || {
        state_of(&running, "site").is_some() && state_of(&running, "missing").is_some()
    })
    .await;
    let checks = running.observed("shop").checks;
    let site = checks["site"].latest.clone().unwrap();
    assert_eq!(site.state, CheckState::Degraded, "{site:?}");
    assert!(site.values["latency_ms"] >= 60.0);
    assert!(
        !site.values.contains_key("tls_days_left"),
        "plain http has no certificate"
    );
    let missing = checks["missing"].latest.clone().unwrap();
    assert_eq!(missing.state, CheckState::Down);
    assert_eq!(missing.detail, "status 404, expected 200");
    running.stop().await;
}
