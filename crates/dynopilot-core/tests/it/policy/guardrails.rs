//! Each guardrail blocking (or trimming) a decision, with the notification it produces.

use std::collections::BTreeMap;

use dynopilot_core::policy::guardrails::Guardrails;
use dynopilot_core::policy::schedule::Bounds;
use dynopilot_core::policy::{
    Action, Condition, Config, ConfigDuration, Guardrail, MemoryGuardConfig, PolicyState,
    ProcessTypeConfig, Release, RestartCounterConfig, RuleAction, RuleConfig, Selector,
};

use super::harness::{Scenario, app, at, dyno, error};

fn scale_rule(by: i32) -> RuleConfig {
    RuleConfig {
        name: "busy".into(),
        selector: Selector {
            process_type: Some("web".into()),
            dyno: None,
        },
        condition: Condition::Codes {
            codes: vec!["H12".into()],
            at_least: 1,
            window: ConfigDuration::from_secs(60),
        },
        actions: vec![RuleAction::Scale { by }],
        cooldown: ConfigDuration::from_secs(60),
    }
}

fn guarded(max: u32) -> Config {
    let mut c = Config::new("shop");
    c.process_types.insert(
        "web".into(),
        ProcessTypeConfig {
            min: Some(1),
            max: Some(max),
            memory_guard: Some(MemoryGuardConfig::default()),
            ..ProcessTypeConfig::default()
        },
    );
    c
}

#[test]
fn bounds_trim_then_block_a_scale_and_notify_capped_at_max() {
    let mut c = guarded(4);
    c.rules.push(scale_rule(3));
    let mut s = Scenario::new(c, app(&[("web", 2, "Standard-1X")]));
    s.step("12:00:00", "web.1 H12 (wants 2 → 5)", |o, t| {
        error(o, "web.1", t, "H12")
    });
    s.step("12:01:00", "now at 4; web.2 H12 (wants 7)", |o, t| {
        o.process_types
            .get_mut("web")
            .unwrap()
            .formation
            .as_mut()
            .unwrap()
            .quantity = 4;
        error(o, "web.2", t, "H12");
    });
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn cost_budget_limits_scale_out() {
    // Standard-1X costs 25/720 $/h; $0.15/h affords 4 dynos.
    let mut c = guarded(10);
    c.guardrails.cost_budget_per_hour = Some(0.15);
    c.rules.push(scale_rule(5));
    let mut s = Scenario::new(c, app(&[("web", 2, "Standard-1X")]));
    s.step("12:00:00", "web.1 H12 (wants 2 → 7)", |o, t| {
        error(o, "web.1", t, "H12")
    });
    s.step("12:01:00", "now at 4; web.2 H12", |o, t| {
        o.process_types
            .get_mut("web")
            .unwrap()
            .formation
            .as_mut()
            .unwrap()
            .quantity = 4;
        error(o, "web.2", t, "H12");
    });
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn restart_budget_last_healthy_and_dyno_cooldown_block_restarts() {
    let mut c = guarded(10);
    c.guardrails.restart_budget_per_hour = 2;
    c.process_types.get_mut("web").unwrap().restart_counter = Some(RestartCounterConfig {
        threshold: 1,
        ttl: ConfigDuration::from_mins(2),
        min_between_restarts: ConfigDuration::from_secs(20),
    });
    let mut s = Scenario::new(
        c,
        app(&[("web", 4, "Standard-1X"), ("worker", 1, "Standard-1X")]),
    );
    s.step("12:00:00", "web.1 R14", |o, t| error(o, "web.1", t, "R14"));
    s.step("12:01:00", "web.1 reports a failure", |o, t| {
        dyno(o, "web.1").counter_events.push(t)
    });
    s.step("12:02:00", "web.2 R14", |o, t| error(o, "web.2", t, "R14"));
    s.step("12:03:00", "web.3 R14 (budget spent)", |o, t| {
        error(o, "web.3", t, "R14")
    });
    s.step("13:00:30", "web.4 R14 (budget back)", |o, t| {
        error(o, "web.4", t, "R14")
    });
    insta::assert_snapshot!(s.transcript());

    let mut single = guarded(10);
    single.process_types.insert(
        "worker".into(),
        ProcessTypeConfig {
            memory_guard: Some(MemoryGuardConfig::default()),
            ..ProcessTypeConfig::default()
        },
    );
    let mut s = Scenario::new(single, app(&[("worker", 1, "Standard-1X")]));
    s.step("12:00:00", "worker.1 R14 (only dyno)", |o, t| {
        error(o, "worker.1", t, "R14")
    });
    let d = &s.decisions[0];
    assert_eq!(
        d.blocked[0].guardrail,
        Guardrail::LastHealthyDyno,
        "{}",
        s.transcript()
    );
    insta::assert_snapshot!("last_healthy", s.transcript());
}

#[test]
fn deploy_freeze_and_manual_override_hold_formation_changes() {
    let mut c = guarded(10);
    c.rules.push(scale_rule(1));
    let mut s = Scenario::new(c, app(&[("web", 2, "Standard-1X")]));
    s.step("12:00:00", "release v42", |o, t| {
        o.releases.push(Release { at: t, version: 42 })
    });
    s.step("12:02:00", "web.1 H12", |o, t| error(o, "web.1", t, "H12"));
    s.step("12:05:00", "web.1 H12 (freeze over)", |o, t| {
        error(o, "web.1", t, "H12")
    });
    s.step("12:10:00", "someone scales web to 6 by hand", |o, t| {
        let f = o
            .process_types
            .get_mut("web")
            .unwrap()
            .formation
            .as_mut()
            .unwrap();
        f.quantity = 6;
        f.updated_at = t;
    });
    // The change is announced once, with the expiry of the override.
    let announced: Vec<String> = s
        .decisions
        .iter()
        .filter_map(|d| match &d.action {
            Action::Alert { topic, message, .. } if topic == "manual-override" => {
                Some(message.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        announced,
        ["web changed outside dynopilot (3 → 6 dynos); hands off web until 12:40:00"]
    );
    s.step("12:20:00", "web.2 H12", |o, t| error(o, "web.2", t, "H12"));
    s.step("12:40:00", "web.2 H12 (override expired)", |o, t| {
        error(o, "web.2", t, "H12")
    });
    let alerts = |s: &Scenario| {
        s.decisions
            .iter()
            .filter(
                |d| matches!(&d.action, Action::Alert { topic, .. } if topic == "manual-override"),
            )
            .count()
    };
    assert_eq!(alerts(&s), 1, "announced once, not every tick");
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn a_release_from_before_dynopilot_started_watching_freezes_nothing() {
    let mut c = guarded(10);
    c.rules.push(scale_rule(1));
    let mut o = app(&[("web", 2, "Standard-1X")]);
    // The app's last deploy was a minute before dynopilot started watching.
    o.releases.push(Release {
        at: at("11:59:00"),
        version: 41,
    });
    o.watching_since = Some(at("12:00:00"));
    let mut s = Scenario::new(c, o);
    s.step("12:00:30", "web.1 H12", |o, t| error(o, "web.1", t, "H12"));
    assert!(
        s.decisions[0].blocked.is_empty(),
        "history is not a deploy: {}",
        s.transcript()
    );
    s.step(
        "12:01:00",
        "Heroku runs 3; release v42 while watching",
        |o, t| {
            let f = o.process_types.get_mut("web").unwrap();
            let f = f.formation.as_mut().unwrap();
            f.quantity = 3;
            f.updated_at = at("12:00:31");
            o.releases.push(Release { at: t, version: 42 })
        },
    );
    s.step("12:01:30", "web.1 H12", |o, t| error(o, "web.1", t, "H12"));
    let held = s.decisions.iter().find(|d| d.is_blocked()).unwrap();
    assert_eq!(held.blocked[0].guardrail, Guardrail::DeployFreeze);
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn max_size_compares_by_ladder_position_not_name() {
    // Regression (heroku-manager): a max size the old ladder skipped was never matched.
    let mut c = Config::new("shop");
    c.process_types.insert(
        "worker".into(),
        ProcessTypeConfig {
            max_size: Some("Performance-L".into()),
            ..ProcessTypeConfig::default()
        },
    );
    let observed = app(&[("worker", 1, "Performance-M")]);
    let bounds = BTreeMap::<String, Bounds>::new();
    let state = PolicyState::default();
    let guard = Guardrails::new(&c, &observed, &state, &bounds, at("12:00:00"));
    let verdict = |to: &str| {
        let mut action = Action::Resize {
            process_type: "worker".into(),
            from: "Performance-M".into(),
            to: to.into(),
        };
        guard
            .check(&state, &mut action)
            .blocked
            .iter()
            .map(|b| b.guardrail)
            .collect::<Vec<_>>()
    };
    assert_eq!(verdict("Performance-L"), []);
    assert_eq!(
        verdict("performance-l"),
        [],
        "names compare case-insensitively"
    );
    assert_eq!(verdict("Performance-L-RAM"), [Guardrail::MaxSize]);
    assert_eq!(verdict("Performance-2XL"), [Guardrail::MaxSize]);
    assert_eq!(verdict("Standard-2X"), []);
}
