//! Explicit bounds and safe budgets (issue 13): autoscale needs a `max`, `web` keeps one dyno
//! by default, restart storms are paced one dyno at a time, per-type restart and
//! formation-change budgets hold, and vertical resizes wait for their windows.

use dynopilot_core::Timestamp;
use dynopilot_core::policy::schedule::{bounds_for, time_zone};
use dynopilot_core::policy::{
    Action, Condition, Config, ConfigDuration, Decision, Guardrail, ProcessTypeConfig, RuleAction,
    RuleConfig, Selector, Weekday, ZombieConfig,
};
use dynopilot_core::scaling::{HorizontalConfig, ResizeWindow, VerticalConfig};

use super::harness::{Scenario, app, at, dyno, error};

fn autoscaled(min: Option<u32>, max: Option<u32>) -> ProcessTypeConfig {
    ProcessTypeConfig {
        min,
        max,
        autoscale: Some(HorizontalConfig::default()),
        ..ProcessTypeConfig::default()
    }
}

fn issues(c: &Config) -> Vec<String> {
    c.check()
        .err()
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn autoscale_without_max_is_an_error_naming_the_key() {
    let mut c = Config::new("shop");
    c.process_types
        .insert("web".into(), autoscaled(Some(1), None));
    c.process_types
        .insert("worker".into(), autoscaled(None, Some(4)));
    let found = issues(&c);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("process_types.web.max: required when autoscale is set"),
        "{found:?}"
    );
}

#[test]
fn a_rule_that_scales_needs_the_max_of_its_process_type() {
    let mut c = Config::new("shop");
    c.rules.push(scale_rule());
    let found = issues(&c);
    assert_eq!(
        found,
        ["rules[0].actions[0]: scale needs an explicit max for web: set process_types.web.max"]
    );
    c.process_types
        .insert("web".into(), autoscaled(None, Some(4)));
    assert!(issues(&c).is_empty(), "{:?}", issues(&c));
}

#[test]
fn autoscaled_web_keeps_one_dyno_by_default_workers_may_reach_zero() {
    let tz = time_zone("UTC");
    let now = at("12:00:00");
    let web = bounds_for("web", &autoscaled(None, Some(4)), &tz, None, now);
    let worker = bounds_for("worker", &autoscaled(None, Some(4)), &tz, None, now);
    let explicit = bounds_for("web", &autoscaled(Some(0), Some(4)), &tz, None, now);
    assert_eq!((web.min, web.max), (1, 4));
    assert_eq!((worker.min, worker.max), (0, 4));
    assert_eq!(explicit.min, 0, "an explicit min wins");
}

fn zombie_config() -> Config {
    let mut c = Config::new("shop");
    c.process_types.insert(
        "worker".into(),
        ProcessTypeConfig {
            // Crashes only: the fixture's dynos send no runtime metrics at all.
            zombie: Some(ZombieConfig {
                no_metrics_for: ConfigDuration::from_mins(24 * 60),
                ..ZombieConfig::default()
            }),
            ..ProcessTypeConfig::default()
        },
    );
    c
}

fn crash(o: &mut dynopilot_core::policy::ObservedState, name: &str, t: Timestamp) {
    let d = dyno(o, name);
    d.lifecycle = dynopilot_core::policy::DynoLifecycle::Crashed;
    d.since = t;
}

fn executed_restarts(decisions: &[Decision]) -> Vec<String> {
    decisions
        .iter()
        .filter(|d| d.executed)
        .filter_map(|d| match &d.action {
            Action::RestartDyno { dyno, .. } => Some(dyno.clone()),
            _ => None,
        })
        .collect()
}

/// Three of four workers crash at once: one restart per minute, one alert.
#[test]
fn a_restart_storm_restarts_one_dyno_per_gap_and_alerts_once() {
    let mut s = Scenario::new(zombie_config(), app(&[("worker", 4, "Standard-1X")]));
    s.step("12:00:00", "worker.1..3 crash", |o, t| {
        for name in ["worker.1", "worker.2", "worker.3"] {
            crash(o, name, t);
        }
    });
    s.step("12:00:30", "still crashed", |_, _| {});
    s.step("12:01:00", "worker.1 back up", |o, t| {
        let d = dyno(o, "worker.1");
        d.lifecycle = dynopilot_core::policy::DynoLifecycle::Up;
        d.since = t;
    });
    s.step("12:02:00", "two still crashed", |_, _| {});
    s.step("12:03:00", "one still crashed", |_, _| {});
    insta::assert_snapshot!(s.transcript());
    let restarts = executed_restarts(&s.decisions);
    assert_eq!(restarts, ["worker.1", "worker.2", "worker.3"]);
    let alerts = s
        .decisions
        .iter()
        .filter(
            |d| matches!(&d.action, Action::Alert { topic, .. } if topic == "restart-storm:worker"),
        )
        .count();
    assert_eq!(alerts, 1, "{}", s.transcript());
    assert!(s.decisions.iter().any(|d| {
        d.blocked
            .iter()
            .any(|b| b.guardrail == Guardrail::RestartStorm)
    }));
}

/// One crash among four is no storm: restarted at once.
#[test]
fn a_single_restart_is_no_storm() {
    let mut s = Scenario::new(zombie_config(), app(&[("worker", 4, "Standard-1X")]));
    s.step("12:00:00", "worker.2 crashes", |o, t| {
        crash(o, "worker.2", t)
    });
    assert_eq!(executed_restarts(&s.decisions), ["worker.2"]);
    assert!(s.decisions.iter().all(|d| d.blocked.is_empty()));
}

#[test]
fn per_process_type_restart_budget_stops_one_type_spending_the_app_budget() {
    let mut c = zombie_config();
    c.guardrails.process_type_restart_budget_per_hour = 2;
    c.guardrails.dyno_restart_cooldown = ConfigDuration::from_secs(60);
    let zombie = c.process_types.get_mut("worker").unwrap().zombie.as_mut();
    zombie.unwrap().cooldown = ConfigDuration::from_secs(60);
    let mut s = Scenario::new(c, app(&[("worker", 8, "Standard-1X")]));
    for (i, name) in ["worker.1", "worker.2", "worker.3"].into_iter().enumerate() {
        s.step(
            &format!("12:0{i}:00"),
            &format!("{name} crashes"),
            |o, t| crash(o, name, t),
        );
    }
    insta::assert_snapshot!(s.transcript());
    assert_eq!(executed_restarts(&s.decisions), ["worker.1", "worker.2"]);
}

fn scale_rule() -> RuleConfig {
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
        actions: vec![RuleAction::Scale { by: 1 }],
        cooldown: ConfigDuration::from_secs(60),
    }
}

#[test]
fn formation_change_budget_holds_a_flapping_scaler() {
    let mut c = Config::new("shop");
    c.guardrails.formation_change_budget_per_hour = 2;
    c.process_types.insert(
        "web".into(),
        ProcessTypeConfig {
            min: Some(1),
            max: Some(10),
            ..ProcessTypeConfig::default()
        },
    );
    c.rules.push(scale_rule());
    let mut s = Scenario::new(c, app(&[("web", 2, "Standard-1X")]));
    for (i, q) in [2u32, 3, 4].into_iter().enumerate() {
        s.step(&format!("12:0{}:00", 2 * i), "H12 on web.1", |o, t| {
            let web = o.process_types.get_mut("web").unwrap();
            web.formation.as_mut().unwrap().quantity = q;
            web.formation.as_mut().unwrap().updated_at = t;
            error(o, "web.1", t, "H12");
        });
    }
    insta::assert_snapshot!(s.transcript());
    let blocked: Vec<_> = s
        .decisions
        .iter()
        .filter(|d| {
            d.blocked
                .iter()
                .any(|b| b.guardrail == Guardrail::FormationBudget)
        })
        .collect();
    assert_eq!(blocked.len(), 1, "{}", s.transcript());
}

#[test]
fn resize_windows_are_validated_with_their_keys_and_read_in_the_app_time_zone() {
    let night = VerticalConfig {
        windows: vec![
            ResizeWindow {
                days: vec![Weekday::Sat, Weekday::Sun],
                from: "00:00".into(),
                to: "24:00".into(),
            },
            ResizeWindow {
                days: Weekday::ALL.to_vec(),
                from: "22:00".into(),
                to: "06:00".into(),
            },
            ResizeWindow {
                days: vec![],
                from: "01:00".into(),
                to: "25:00".into(),
            },
        ],
        ..VerticalConfig::default()
    };
    let mut c = Config::new("shop");
    c.process_types.insert(
        "web".into(),
        ProcessTypeConfig {
            vertical: Some(night.clone()),
            ..ProcessTypeConfig::default()
        },
    );
    insta::assert_snapshot!(issues(&c).join("\n"));

    // Weekends only, read in New York: Monday 03:00 UTC is still Sunday there.
    let weekends = VerticalConfig {
        windows: vec![night.windows[0].clone()],
        ..VerticalConfig::default()
    };
    let ny = time_zone("America/New_York");
    let utc = time_zone("UTC");
    let monday_3am_utc = at("03:00:00");
    assert!(weekends.window_open(&ny, monday_3am_utc));
    assert!(!weekends.window_open(&utc, monday_3am_utc));
    assert!(VerticalConfig::default().window_open(&utc, monday_3am_utc));
}
