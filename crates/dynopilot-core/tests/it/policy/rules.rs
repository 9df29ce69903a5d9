//! Error rules: code patterns, windows that count only matching codes, per-dyno restarts,
//! metric conditions and per-rule-and-target cooldowns.

use dynopilot_core::Timestamp;
use dynopilot_core::policy::{
    Condition, Config, ConfigDuration, Metric, ProcessTypeConfig, RouterWindow, RuleAction,
    RuleConfig, Selector, Severity,
};

use super::harness::{Scenario, app, error, memory};

fn rule(
    name: &str,
    selector: Selector,
    condition: Condition,
    actions: Vec<RuleAction>,
) -> RuleConfig {
    RuleConfig {
        name: name.into(),
        selector,
        condition,
        actions,
        cooldown: ConfigDuration::from_mins(5),
    }
}

fn codes(codes: &[&str], at_least: u32, window_secs: i64) -> Condition {
    Condition::Codes {
        codes: codes.iter().map(|c| (*c).to_owned()).collect(),
        at_least,
        window: ConfigDuration::from_secs(window_secs),
    }
}

fn web() -> Selector {
    Selector {
        process_type: Some("web".into()),
        dyno: None,
    }
}

#[test]
fn window_counts_only_matching_codes() {
    // Regression (dyno-monitor): other codes in the window must not satisfy the count.
    let mut c = Config::new("shop");
    c.rules.push(rule(
        "timeouts",
        web(),
        codes(&["H1*"], 3, 60),
        vec![RuleAction::Alert {
            severity: Severity::Critical,
        }],
    ));
    let mut s = Scenario::new(c, app(&[("web", 2, "Standard-1X")]));
    s.step("12:00:00", "web.1 H12", |o, t| error(o, "web.1", t, "H12"));
    s.step("12:00:10", "web.1 R14, web.2 H20, web.2 R15", |o, t| {
        error(o, "web.1", t, "R14");
        error(o, "web.2", t, "H20");
        error(o, "web.2", t, "R15");
    });
    s.step("12:00:20", "web.2 H10", |o, t| error(o, "web.2", t, "H10"));
    s.step("12:01:05", "web.1 H13 (first H12 left window)", |o, t| {
        error(o, "web.1", t, "H13")
    });
    s.step("12:01:10", "web.2 H12", |o, t| error(o, "web.2", t, "H12"));
    s.step("12:01:30", "web.2 H12 (rule cooling down)", |o, t| {
        error(o, "web.2", t, "H12")
    });
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn restart_dyno_restarts_the_dyno_with_the_errors_not_the_whole_type() {
    // Regression (dyno-monitor): `restart-dyno` restarted every dyno of the type.
    let mut c = Config::new("shop");
    c.rules.push(rule(
        "r14-twice",
        web(),
        codes(&["R14"], 2, 120),
        vec![RuleAction::RestartDyno],
    ));
    let mut s = Scenario::new(c, app(&[("web", 3, "Standard-1X")]));
    s.step("12:00:00", "web.3 R14, web.1 R14", |o, t| {
        error(o, "web.3", t, "R14");
        error(o, "web.1", t, "R14");
    });
    s.step("12:00:30", "web.3 R14", |o, t| error(o, "web.3", t, "R14"));
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn status_class_and_metric_conditions() {
    let mut c = Config::new("shop");
    c.process_types.insert(
        "web".into(),
        ProcessTypeConfig {
            max: Some(10),
            ..ProcessTypeConfig::default()
        },
    );
    c.rules.push(rule(
        "server-errors",
        web(),
        codes(&["5xx"], 50, 60),
        vec![
            RuleAction::Webhook {
                name: "page-oncall".into(),
            },
            RuleAction::Scale { by: 1 },
        ],
    ));
    c.rules.push(rule(
        "hot-dyno",
        Selector::default(),
        Condition::Metric {
            metric: Metric::MemoryPercent,
            above: 80.0,
            for_: ConfigDuration::from_secs(60),
        },
        vec![RuleAction::Alert {
            severity: Severity::Warning,
        }],
    ));
    let mut s = Scenario::new(c, app(&[("web", 2, "Standard-1X")]));
    let window = |start: &str, s5: u64| {
        let start = super::harness::at(start);
        RouterWindow {
            start,
            end: Timestamp::from_millis(start.as_millis() + 20_000),
            count: 1000,
            status_2xx: 1000 - s5,
            status_5xx: s5,
            ..RouterWindow::default()
        }
    };
    s.step("12:00:20", "web 5xx 30/1000, web.1 mem 85%", |o, t| {
        o.process_types
            .get_mut("web")
            .unwrap()
            .router
            .push(window("12:00:00", 30));
        memory(o, "web.1", t, 435.2, 512.0);
    });
    s.step("12:00:40", "web 5xx 25/1000, web.1 mem 86%", |o, t| {
        o.process_types
            .get_mut("web")
            .unwrap()
            .router
            .push(window("12:00:20", 25));
        memory(o, "web.1", t, 440.3, 512.0);
    });
    s.step("12:01:00", "web.1 mem 82%", |o, t| {
        memory(o, "web.1", t, 420.0, 512.0)
    });
    s.step("12:01:20", "web.1 mem 90%", |o, t| {
        memory(o, "web.1", t, 460.8, 512.0)
    });
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn a_rule_fires_at_ten_thousand_occurrences() {
    // Regression: only the newest 500 errors were kept, so `at_least` above 500 never fired.
    let mut c = Config::new("shop");
    c.rules.push(rule(
        "timeout-flood",
        web(),
        codes(&["H12"], 10_000, 300),
        vec![RuleAction::Alert {
            severity: Severity::Critical,
        }],
    ));
    let mut s = Scenario::new(c, app(&[("web", 2, "Standard-1X")]));
    s.step("12:00:00", "5000 H12 on web.1, 4999 on web.2", |o, t| {
        for _ in 0..5000 {
            error(o, "web.1", t, "H12");
        }
        for _ in 0..4999 {
            error(o, "web.2", t, "H12");
        }
    });
    s.step("12:01:00", "web.2 H12: the 10000th", |o, t| {
        error(o, "web.2", t, "H12")
    });
    s.step(
        "12:05:30",
        "web.1 H12 (the first 5000 left the window)",
        |o, t| error(o, "web.1", t, "H12"),
    );
    insta::assert_snapshot!(s.transcript());
}
