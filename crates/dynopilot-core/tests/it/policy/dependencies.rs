//! Dependency checks in the engine: the gate holds web upscales while Postgres is saturated or
//! Redis is down, and each transition of a check or a heartbeat probe alerts once.

use std::collections::BTreeMap;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::{
    Action, CheckKind, CheckSample, CheckState, CheckStatus, Config, Guardrail, ObservedState,
    ProbeResult, ProcessTypeConfig,
};
use dynopilot_core::scaling::{HorizontalConfig, Signal, StreakConfig};
use jiff::SignedDuration;

use super::harness::{Scenario, app};

fn streak_web() -> Config {
    let mut c = Config::new("shop");
    c.process_types.insert(
        "web".into(),
        ProcessTypeConfig {
            min: Some(1),
            max: Some(6),
            autoscale: Some(HorizontalConfig::Streak(StreakConfig {
                signal: Signal::ProbeLatency,
                min_response_time: SignedDuration::from_millis(100),
                max_response_time: SignedDuration::from_millis(500),
                fails: 2,
                passes: 3,
                increment: 2,
                up_cooldown: SignedDuration::ZERO,
                down_cooldown: SignedDuration::ZERO,
                ..StreakConfig::default()
            })),
            ..ProcessTypeConfig::default()
        },
    );
    c
}

fn probe(o: &mut ObservedState, t: Timestamp, ok: bool, latency_ms: f64) {
    o.process_types
        .get_mut("web")
        .unwrap()
        .probes
        .push(ProbeResult {
            at: t,
            name: "heartbeat".into(),
            ok,
            latency_ms: Some(latency_ms),
        });
}

fn check(o: &mut ObservedState, name: &str, kind: CheckKind, t: Timestamp, sample: Sample) {
    let (state, values, detail) = sample;
    o.checks
        .entry(name.into())
        .or_insert_with(|| CheckStatus::new(kind))
        .record(CheckSample {
            at: t,
            state,
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect::<BTreeMap<_, _>>(),
            detail: detail.into(),
        });
}

type Sample = (CheckState, &'static [(&'static str, f64)], &'static str);

const PG_FULL: Sample = (
    CheckState::Degraded,
    &[("connections_pct", 97.0)],
    "connections 97 % of max_connections ≥ 80 %",
);
const PG_CALM: Sample = (CheckState::Ok, &[("connections_pct", 40.0)], "");

#[test]
fn postgres_saturation_holds_web_upscale_with_the_reason_then_lets_it_through() {
    let mut s = Scenario::new(streak_web(), app(&[("web", 2, "Standard-1X")]));
    s.step("12:00:00", "probe 900ms; Postgres 97 %", |o, t| {
        probe(o, t, true, 900.0);
        check(o, "db", CheckKind::Postgres, t, PG_FULL);
    });
    s.step("12:00:20", "probe 900ms; Postgres 97 %", |o, t| {
        probe(o, t, true, 900.0);
        check(o, "db", CheckKind::Postgres, t, PG_FULL);
    });
    s.step("12:00:40", "probe 900ms; Postgres 40 %", |o, t| {
        probe(o, t, true, 900.0);
        check(o, "db", CheckKind::Postgres, t, PG_CALM);
    });
    insta::assert_snapshot!(s.transcript());
    let held = s
        .decisions
        .iter()
        .find(|d| matches!(d.action, Action::ScaleFormation { .. }))
        .expect("an upscale was proposed");
    assert_eq!(held.blocked[0].guardrail, Guardrail::DependencyGate);
    assert!(
        held.to_string()
            .contains("dependency gate on Postgres db: 97 % of max_connections in use"),
        "{held}"
    );
    let through: Vec<_> = s
        .decisions
        .iter()
        .filter(|d| matches!(d.action, Action::ScaleFormation { from: 2, to: 4, .. }) && d.executed)
        .collect();
    assert_eq!(through.len(), 1, "let through once Postgres is calm");
    let topics = topics(&s);
    assert_eq!(topics, ["check-degraded", "check-recovered"]);
}

#[test]
fn redis_down_alerts_once_holds_upscale_and_recovery_resolves() {
    let mut s = Scenario::new(streak_web(), app(&[("web", 2, "Standard-1X")]));
    let down: Sample = (CheckState::Down, &[], "connection refused");
    let up: Sample = (CheckState::Ok, &[("connected_clients", 3.0)], "");
    s.step("12:00:00", "redis ok", |o, t| {
        check(o, "cache", CheckKind::Redis, t, up);
    });
    for hms in ["12:00:20", "12:00:40", "12:01:00"] {
        s.step(hms, "redis down; probe 900ms", |o, t| {
            probe(o, t, true, 900.0);
            check(o, "cache", CheckKind::Redis, t, down);
        });
    }
    s.step("12:01:20", "redis ok", |o, t| {
        check(o, "cache", CheckKind::Redis, t, up);
    });
    insta::assert_snapshot!(s.transcript());
    assert_eq!(topics(&s), ["check-down", "check-recovered"]);
    assert!(
        s.decisions
            .iter()
            .filter(|d| matches!(d.action, Action::ScaleFormation { .. }))
            .all(|d| d.is_blocked() == (d.at < super::harness::at("12:01:20"))),
        "no upscale while Redis is down, one once it is back"
    );
}

#[test]
fn gates_are_per_app_and_can_be_turned_off() {
    let mut c = streak_web();
    c.guardrails.gates.postgres_connections_pct = None;
    let mut s = Scenario::new(c, app(&[("web", 2, "Standard-1X")]));
    for hms in ["12:00:00", "12:00:20"] {
        s.step(hms, "probe 900ms; Postgres 97 %", |o, t| {
            probe(o, t, true, 900.0);
            check(o, "db", CheckKind::Postgres, t, PG_FULL);
        });
    }
    assert!(
        s.decisions
            .iter()
            .any(
                |d| matches!(d.action, Action::ScaleFormation { from: 2, to: 4, .. }) && d.executed
            ),
        "{}",
        s.transcript()
    );
}

#[test]
fn a_failing_probe_alerts_once_and_its_recovery_once() {
    let mut s = Scenario::new(streak_web(), app(&[("web", 2, "Standard-1X")]));
    s.step("12:00:00", "probe ok 50ms", |o, t| probe(o, t, true, 50.0));
    s.step("12:00:20", "probe timed out", |o, t| {
        probe(o, t, false, 2000.0)
    });
    s.step("12:00:40", "probe timed out", |o, t| {
        probe(o, t, false, 2000.0)
    });
    s.step("12:01:00", "probe ok 50ms", |o, t| probe(o, t, true, 50.0));
    assert_eq!(topics(&s), ["probe-failing", "probe-recovered"]);
}

fn topics(s: &Scenario) -> Vec<String> {
    s.decisions
        .iter()
        .filter_map(|d| match &d.action {
            Action::Alert { topic, .. }
                if topic.starts_with("check-") || topic.starts_with("probe-") =>
            {
                Some(topic.clone())
            }
            _ => None,
        })
        .collect()
}
