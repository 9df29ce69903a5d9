//! Memory guard scenarios: normal restart, exact threshold, cooldown, R14/R15, preboot
//! overlap, escalation and dry-run.

use dynopilot_core::policy::{
    Action, Config, ConfigDuration, EscalationConfig, MemoryGuardConfig, ProcessTypeConfig, Weekday,
};
use dynopilot_core::scaling::{ResizeWindow, VerticalConfig};

use super::harness::{Scenario, app, error, memory, restarted};

fn config(escalation: bool) -> Config {
    let mut c = Config::new("shop");
    c.process_types.insert(
        "web".into(),
        ProcessTypeConfig {
            memory_guard: Some(MemoryGuardConfig::default()),
            escalation: escalation.then(EscalationConfig::default),
            max_size: Some("Performance-M".into()),
            ..ProcessTypeConfig::default()
        },
    );
    c
}

fn samples(s: &mut Scenario, dyno: &'static str, times: &[&str], mb: f64) {
    for hms in times {
        s.step(hms, &format!("{dyno} memory {mb}MB/512MB"), |o, t| {
            memory(o, dyno, t, mb, 512.0)
        });
    }
}

#[test]
fn restarts_after_three_samples_over_90_percent_then_cools_down() {
    let mut s = Scenario::new(config(false), app(&[("web", 3, "Standard-1X")]));
    samples(
        &mut s,
        "web.2",
        &["12:00:00", "12:00:20", "12:00:40"],
        540.0,
    );
    s.step("12:01:00", "web.2 restarted, new run", |o, t| {
        restarted(o, "web.2", t, "b")
    });
    samples(
        &mut s,
        "web.2",
        &["12:01:20", "12:01:40", "12:02:00"],
        530.0,
    );
    samples(
        &mut s,
        "web.2",
        &["12:06:20", "12:06:40", "12:07:00"],
        530.0,
    );
    insta::assert_snapshot!(s.transcript());
    let restarts = s
        .decisions
        .iter()
        .filter(|d| matches!(d.action, Action::RestartDyno { .. }))
        .count();
    assert_eq!(
        restarts, 2,
        "one restart, then a second only after the 5 minute cooldown"
    );
}

#[test]
fn exactly_at_threshold_counts_and_one_sample_below_resets_the_streak() {
    // 90% of 512 MB is 460.8 MB.
    let mut s = Scenario::new(config(false), app(&[("web", 2, "Standard-1X")]));
    samples(&mut s, "web.1", &["12:00:00", "12:00:20"], 460.8);
    samples(&mut s, "web.1", &["12:00:40"], 460.7);
    samples(
        &mut s,
        "web.1",
        &["12:01:00", "12:01:20", "12:01:40"],
        460.8,
    );
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn r14_and_r15_restart_at_once() {
    let mut s = Scenario::new(config(false), app(&[("web", 3, "Standard-1X")]));
    s.step("12:00:00", "web.1 R14", |o, t| error(o, "web.1", t, "R14"));
    s.step("12:00:20", "web.3 R15", |o, t| error(o, "web.3", t, "R15"));
    s.step("12:02:00", "(R14 of web.1 is old news)", |_, _| {});
    insta::assert_snapshot!(s.transcript());
}

#[test]
fn samples_of_the_previous_run_never_restart_the_new_one() {
    // Regression (whacamole): during preboot the old run of web.1 keeps reporting memory.
    let mut s = Scenario::new(config(false), app(&[("web", 2, "Standard-1X")]));
    s.step("12:00:00", "web.1 new run (preboot)", |o, t| {
        restarted(o, "web.1", t, "b")
    });
    for hms in ["12:00:20", "12:00:40", "12:01:00"] {
        s.step(hms, "old run of web.1 at 600MB", |o, t| {
            let d = super::harness::dyno(o, "web.1");
            d.memory.push(dynopilot_core::policy::MemorySample {
                at: t,
                instance_id: Some("web.1-a".into()),
                total_mb: 600.0,
                rss_mb: 600.0,
                swap_mb: 0.0,
                quota_mb: Some(512.0),
            });
        });
    }
    assert!(s.decisions.is_empty(), "{}", s.transcript());
}

/// One dyno that leaks whatever restarts do: after three memory restarts within the window
/// the fourth need escalates — an upsize when an explicit max size and the resize windows
/// allow one, else the restart goes on with an alert "leak not fixed by restarts".
#[test]
fn escalates_to_upsize_after_repeated_restarts_and_alerts_when_no_upsize_is_allowed() {
    let night_only = || ResizeWindow {
        days: Weekday::ALL.to_vec(),
        from: "00:00".into(),
        to: "06:00".into(),
    };
    let cases = [
        ("Standard-2X", Some("Performance-M"), None),
        ("Performance-M", Some("Performance-M"), None),
        ("Standard-2X", None, None),
        ("Standard-2X", Some("Performance-M"), Some(night_only())),
    ];
    let mut transcripts = Vec::new();
    for (size, max_size, window) in cases {
        let mut c = config(true);
        c.guardrails.dyno_restart_cooldown = ConfigDuration::from_secs(60);
        let web = c.process_types.get_mut("web").unwrap();
        web.memory_guard.as_mut().unwrap().cooldown = ConfigDuration::from_secs(60);
        web.max_size = max_size.map(str::to_owned);
        web.vertical = window.map(|w| VerticalConfig {
            windows: vec![w],
            ..VerticalConfig::default()
        });
        let mut s = Scenario::new(c, app(&[("web", 4, size)]));
        let label = format!(
            "{size}, max_size {}, {}",
            max_size.unwrap_or("none"),
            if web_has_window(&s) {
                "resize 00:00-06:00"
            } else {
                "resize any time"
            }
        );
        for (i, run) in ["a", "b", "c", "d"].into_iter().enumerate() {
            s.step(&format!("12:0{}:00", 2 * i), "web.1 R14 again", |o, t| {
                restarted(o, "web.1", t, run);
                error(o, "web.1", t, "R14");
            });
        }
        let alerts = s
            .decisions
            .iter()
            .filter(|d| matches!(&d.action, Action::Alert { message, .. } if message.starts_with("leak not fixed by restarts")))
            .count();
        let resizes = s
            .decisions
            .iter()
            .filter(|d| matches!(d.action, Action::Resize { .. }))
            .count();
        assert_eq!(
            alerts + resizes,
            1,
            "escalates exactly once:\n{}",
            s.transcript()
        );
        transcripts.push(format!("# {label}\n{}", s.transcript()));
    }
    insta::assert_snapshot!(transcripts.join("\n\n"));
}

fn web_has_window(s: &Scenario) -> bool {
    s.config.process_types["web"]
        .vertical
        .as_ref()
        .is_some_and(|v| !v.windows.is_empty())
}

#[test]
fn dry_run_decides_and_tracks_cooldown_but_executes_nothing() {
    let mut c = config(false);
    c.guardrails.dry_run = true;
    let mut s = Scenario::new(c, app(&[("web", 2, "Standard-1X")]));
    samples(
        &mut s,
        "web.2",
        &["12:00:00", "12:00:20", "12:00:40", "12:01:00", "12:01:20"],
        600.0,
    );
    insta::assert_snapshot!(s.transcript());
    assert_eq!(
        s.decisions.len(),
        1,
        "the dry-run cooldown holds like a real one"
    );
    assert!(s.decisions[0].dry_run && !s.decisions[0].executed);
}
