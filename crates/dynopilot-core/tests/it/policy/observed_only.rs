//! Never act on what was never observed: silence counts only over dynopilot's own listening,
//! blind policies take no action, and no policy fires on missing data.

use dynopilot_core::Timestamp;
use dynopilot_core::policy::{
    Availability, Condition, Config, ConfigDuration, LogSourceState, MemoryGuardConfig, Metric,
    ProcessTypeConfig, RestartCounterConfig, RuleAction, RuleConfig, ScheduleEntry, Selector,
    ZombieConfig, blind_policies, evaluate,
};
use dynopilot_core::scaling::{
    HorizontalConfig, QueueConfig, Signal, StreakConfig, TargetConfig, TrendConfig, VerticalConfig,
};

use proptest::prelude::*;

use super::harness::{Scenario, app, at, error, memory};

fn zombie_config() -> Config {
    let mut c = Config::new("shop");
    c.process_types.insert(
        "web".into(),
        ProcessTypeConfig {
            zombie: Some(ZombieConfig::default()),
            ..ProcessTypeConfig::default()
        },
    );
    c
}

/// Listening from `hms`, a first line heard a second later, runtime metrics on.
fn listening(hms: &str) -> LogSourceState {
    let start = at(hms);
    LogSourceState {
        first_line_at: Some(start.plus(std::time::Duration::from_secs(1))),
        runtime_metrics: Availability::Known(true),
        ..LogSourceState::listening(start)
    }
}

#[test]
fn silence_counts_from_when_dynopilot_began_listening_not_from_since() {
    // Three dynos up since midnight; dynopilot starts listening at 12:00. web.3 never reports.
    let mut obs = app(&[("web", 3, "Standard-1X")]);
    obs.log_source = listening("12:00:00");
    let mut s = Scenario::new(zombie_config(), obs);
    let report = |o: &mut _, t| {
        memory(o, "web.1", t, 200.0, 512.0);
        memory(o, "web.2", t, 200.0, 512.0);
    };
    s.step("12:00:01", "first tick; up 12h by `since`", report);
    s.step("12:02:59", "web.3 silent 2m59s of ours", report);
    assert!(s.decisions.is_empty(), "{}", s.transcript());
    s.step("12:03:00", "web.3 silent 3m of ours", report);
    let restarts: Vec<String> = s.decisions.iter().map(|d| d.action.to_string()).collect();
    assert_eq!(restarts, ["restart web.3"], "{}", s.transcript());
}

#[test]
fn a_reconnect_starts_the_silence_window_over() {
    let mut obs = app(&[("web", 2, "Standard-1X")]);
    obs.log_source = listening("12:00:00");
    let mut s = Scenario::new(zombie_config(), obs);
    let report = |o: &mut _, t| memory(o, "web.1", t, 200.0, 512.0);
    s.step("12:01:00", "web.2 silent 1m", report);
    s.step("12:02:00", "log session reconnects", |o, t| {
        report(o, t);
        o.log_source.last_reconnect = Some(t);
    });
    s.step("12:04:59", "web.2 silent 2m59s since reconnect", report);
    assert!(s.decisions.is_empty(), "{}", s.transcript());
    s.step("12:05:00", "web.2 silent 3m since reconnect", report);
    assert_eq!(s.decisions.len(), 1, "{}", s.transcript());
}

#[test]
fn a_source_gone_quiet_as_a_whole_proves_no_dyno_silent() {
    // The drain stops at 12:01 (Heroku-side outage, removed drain): every dyno goes quiet at
    // once. That is the source's silence, not three zombies.
    let mut obs = app(&[("web", 3, "Standard-1X")]);
    obs.log_source = listening("12:00:00");
    let mut s = Scenario::new(zombie_config(), obs);
    let all_report = |o: &mut dynopilot_core::policy::ObservedState, t| {
        for dyno in ["web.1", "web.2", "web.3"] {
            memory(o, dyno, t, 200.0, 512.0);
        }
        o.log_source.heard(t);
    };
    s.step("12:00:30", "every dyno reports", all_report);
    s.step(
        "12:01:00",
        "every dyno reports, then the source stops",
        all_report,
    );
    for hms in ["12:04:00", "12:10:00", "13:00:00"] {
        s.step(hms, "nothing arrives from the source", |_, _| {});
    }
    assert!(s.decisions.is_empty(), "{}", s.transcript());

    // Once lines flow again, a dyno that stays silent while the others report is a zombie.
    let only_two = |o: &mut dynopilot_core::policy::ObservedState, t| {
        memory(o, "web.1", t, 200.0, 512.0);
        memory(o, "web.2", t, 200.0, 512.0);
        o.log_source.heard(t);
        o.log_source.last_reconnect = o.log_source.last_reconnect.or(Some(t));
    };
    s.step(
        "13:00:30",
        "the source is back; web.3 stays silent",
        only_two,
    );
    s.step(
        "13:03:29",
        "web.3 silent 2m59s while the others report",
        only_two,
    );
    assert!(s.decisions.is_empty(), "{}", s.transcript());
    s.step(
        "13:03:30",
        "web.3 silent 3m while the others report",
        only_two,
    );
    let restarts: Vec<String> = s.decisions.iter().map(|d| d.action.to_string()).collect();
    assert_eq!(restarts, ["restart web.3"], "{}", s.transcript());
}

#[test]
fn a_source_that_never_delivered_a_line_proves_no_silence() {
    let mut obs = app(&[("web", 2, "Standard-1X")]);
    obs.log_source = LogSourceState {
        runtime_metrics: Availability::Known(true),
        ..LogSourceState::listening(at("12:00:00"))
    };
    let mut s = Scenario::new(zombie_config(), obs);
    for hms in ["12:03:00", "12:10:00", "13:00:00"] {
        s.step(hms, "no line since start", |_, _| {});
    }
    assert!(s.decisions.is_empty(), "{}", s.transcript());
}

#[test]
fn stuck_starting_counts_from_our_own_observation_too() {
    let mut obs = app(&[("web", 2, "Standard-1X")]);
    obs.log_source = listening("12:00:00");
    super::harness::dyno(&mut obs, "web.2").lifecycle =
        dynopilot_core::policy::DynoLifecycle::Starting;
    let mut s = Scenario::new(zombie_config(), obs);
    let report = |o: &mut _, t| memory(o, "web.1", t, 200.0, 512.0);
    s.step("12:00:01", "web.2 starting since 00:00", report);
    assert!(s.decisions.is_empty(), "{}", s.transcript());
    s.step("12:03:00", "web.2 starting 3m of ours", report);
    assert_eq!(s.decisions.len(), 1, "{}", s.transcript());
}

/// Every policy that reads logs, on web and worker, with bounds that would allow actions.
fn every_policy() -> Config {
    let mut c = Config::new("shop");
    let web = ProcessTypeConfig {
        min: Some(1),
        max: Some(8),
        max_size: Some("Performance-L".into()),
        memory_guard: Some(MemoryGuardConfig::default()),
        zombie: Some(ZombieConfig::default()),
        restart_counter: Some(RestartCounterConfig::default()),
        autoscale: Some(HorizontalConfig::Target(TargetConfig::default())),
        vertical: Some(VerticalConfig::default()),
        ..ProcessTypeConfig::default()
    };
    let worker = ProcessTypeConfig {
        min: Some(0),
        max: Some(8),
        autoscale: Some(HorizontalConfig::Queue(QueueConfig::default())),
        ..web.clone()
    };
    c.process_types.insert("web".into(), web);
    c.process_types.insert("worker".into(), worker);
    c.rules.push(RuleConfig {
        name: "h12".into(),
        selector: Selector::default(),
        condition: Condition::Codes {
            codes: vec!["H12".into()],
            at_least: 1,
            window: ConfigDuration::from_mins(1),
        },
        actions: vec![RuleAction::RestartDyno],
        cooldown: ConfigDuration::from_mins(5),
    });
    c.rules.push(RuleConfig {
        name: "memory".into(),
        selector: Selector {
            process_type: Some("web".into()),
            dyno: None,
        },
        condition: Condition::Metric {
            metric: Metric::MemoryPercent,
            above: 50.0,
            for_: ConfigDuration::from_mins(1),
        },
        actions: vec![RuleAction::RestartDyno],
        cooldown: ConfigDuration::from_mins(5),
    });
    c
}

fn blind_list(c: &Config, log_source: LogSourceState) -> Vec<String> {
    let mut obs = app(&[("web", 2, "Standard-1X"), ("worker", 2, "Standard-1X")]);
    obs.log_source = log_source;
    blind_policies(c, &obs)
        .iter()
        .map(|b| format!("{}/{}/{}", b.process_type, b.policy, b.missing_signal.key()))
        .collect()
}

#[test]
fn without_a_log_source_every_policy_that_reads_logs_is_blind() {
    let blind = blind_list(&every_policy(), LogSourceState::none());
    assert_eq!(
        blind,
        [
            "*/rule h12/log_source",
            "web/autoscale/log_source",
            "web/memory guard/log_source",
            "web/rule memory/log_source",
            "web/vertical/log_source",
            "web/zombie/log_source",
            "worker/autoscale/log_source",
            "worker/memory guard/log_source",
            "worker/vertical/log_source",
            "worker/zombie/log_source",
        ]
    );
}

#[test]
fn with_runtime_metrics_off_only_memory_and_silence_policies_are_blind() {
    let off = LogSourceState {
        runtime_metrics: Availability::Known(false),
        ..listening("12:00:00")
    };
    let blind = blind_list(&every_policy(), off);
    assert_eq!(
        blind,
        [
            "web/memory guard/runtime_metrics",
            "web/rule memory/runtime_metrics",
            "web/vertical/runtime_metrics",
            "web/zombie/runtime_metrics",
            "worker/memory guard/runtime_metrics",
            "worker/vertical/runtime_metrics",
            "worker/zombie/runtime_metrics",
        ]
    );
    assert!(blind_list(&every_policy(), listening("12:00:00")).is_empty());
}

#[test]
fn blind_policies_take_no_action_even_on_evidence() {
    // Runtime metrics off, yet stale-looking samples and an R14 are in the state: the memory
    // guard is blind and must not act on them; the H12 rule still sees router errors.
    let mut obs = app(&[("web", 2, "Standard-1X"), ("worker", 2, "Standard-1X")]);
    obs.log_source = LogSourceState {
        runtime_metrics: Availability::Known(false),
        ..listening("12:00:00")
    };
    let mut s = Scenario::new(every_policy(), obs);
    for hms in ["12:00:20", "12:00:40", "12:01:00", "12:05:00"] {
        s.step(hms, "web.1 at 500MB of 512MB", |o, t| {
            memory(o, "web.1", t, 500.0, 512.0);
            error(o, "web.1", t, "R14");
        });
    }
    assert!(s.decisions.is_empty(), "{}", s.transcript());
    s.step("12:05:20", "web.2 H12", |o, t| error(o, "web.2", t, "H12"));
    let actions: Vec<String> = s.decisions.iter().map(|d| d.action.to_string()).collect();
    assert_eq!(actions, ["restart web.2"], "{}", s.transcript());
}

#[test]
fn no_policy_fires_on_missing_data_in_ten_minutes() {
    // A working source (lines arrive) and runtime metrics on, but no samples, no router windows,
    // no queue samples, no errors and no counter events: every policy holds. Zombie is left
    // out here: a dyno silent through a full window of our own listening *is* its evidence.
    let mut c = every_policy();
    for pt in c.process_types.values_mut() {
        pt.zombie = None;
    }
    for algorithm in [
        HorizontalConfig::Target(TargetConfig::default()),
        HorizontalConfig::Streak(StreakConfig::default()),
        HorizontalConfig::Trend(TrendConfig::default()),
        HorizontalConfig::Target(TargetConfig {
            signal: Signal::LoadPerDyno,
            target: 1.0,
            ..TargetConfig::default()
        }),
    ] {
        let mut c = c.clone();
        if let Some(web) = c.process_types.get_mut("web") {
            web.autoscale = Some(algorithm.clone());
        }
        let mut obs = app(&[("web", 2, "Standard-1X"), ("worker", 2, "Standard-1X")]);
        obs.log_source = listening("12:00:00");
        let mut s = Scenario::new(c, obs);
        for minute in 0..10 {
            for second in [0, 20, 40] {
                s.step(&format!("12:{minute:02}:{second:02}"), "nothing", |_, _| {});
            }
        }
        assert!(s.decisions.is_empty(), "{algorithm:?}\n{}", s.transcript());
    }
}

#[test]
fn a_schedule_needs_no_logs_and_is_never_blind() {
    let mut c = Config::new("shop");
    c.process_types.insert(
        "web".into(),
        ProcessTypeConfig {
            min: Some(1),
            max: Some(8),
            schedule: vec![ScheduleEntry {
                days: dynopilot_core::policy::Weekday::ALL.to_vec(),
                from: "12:00".into(),
                to: "13:00".into(),
                min: 4,
                max: 8,
            }],
            ..ProcessTypeConfig::default()
        },
    );
    let mut obs = app(&[("web", 2, "Standard-1X")]);
    obs.log_source = LogSourceState::none();
    assert!(blind_policies(&c, &obs).is_empty());
    let (decisions, _) = evaluate(&c, &obs, &Default::default(), at("12:00:10"));
    let actions: Vec<String> = decisions.iter().map(|d| d.action.to_string()).collect();
    assert_eq!(actions, ["scale web 2 → 4", "alert info [scaled:web]"]);
    // Without a formation from the API there is nothing to scale from: it holds.
    obs.process_types.clear();
    let (decisions, _) = evaluate(&c, &obs, &Default::default(), at("12:00:10"));
    assert!(decisions.is_empty(), "{decisions:?}");
}

/// One step of a random timeline: time passes, then something happens (or nothing).
#[derive(Clone, Debug)]
enum Step {
    /// A dyno reports runtime metrics.
    Metrics {
        dyno: usize,
    },
    /// The log source reconnects (a gap in what was heard).
    Reconnect,
    /// The source delivers its first line (any line).
    Line,
    Quiet,
}

fn step() -> impl Strategy<Value = (u64, Step)> {
    let what = prop_oneof![
        3 => (0..3usize).prop_map(|dyno| Step::Metrics { dyno }),
        1 => Just(Step::Reconnect),
        1 => Just(Step::Line),
        4 => Just(Step::Quiet),
    ];
    (1..90u64, what)
}

const WINDOW_MS: i64 = 180_000;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever the start time, the dynos' `since` and the source's gaps, a zombie restart is
    /// only ever decided after a full window of silence dynopilot itself observed: since it
    /// began listening, since the last reconnect, since the dyno's `since`, since the dyno's
    /// last metrics, and with the source proven to deliver.
    #[test]
    fn no_restart_before_one_full_window_of_observed_silence(
        start_offset_s in 0..86_400i64,
        since_before_s in prop::collection::vec(-600..7_200i64, 3),
        steps in prop::collection::vec(step(), 1..60),
    ) {
        let start = Timestamp::from_millis(super::harness::DAY + start_offset_s * 1000);
        let mut obs = app(&[("web", 3, "Standard-1X")]);
        for (i, before) in since_before_s.iter().enumerate() {
            let d = super::harness::dyno(&mut obs, &format!("web.{}", i + 1));
            d.since = Timestamp::from_millis(start.as_millis() - before * 1000);
        }
        obs.log_source = LogSourceState {
            runtime_metrics: Availability::Known(true),
            ..LogSourceState::listening(start)
        };
        let config = zombie_config();
        let mut state = Default::default();
        let mut now = start;
        let mut first_line: Option<Timestamp> = None;
        for (gap_s, what) in steps {
            now = now.plus(std::time::Duration::from_secs(gap_s));
            match what {
                Step::Metrics { dyno } => {
                    memory(&mut obs, &format!("web.{}", dyno + 1), now, 200.0, 512.0);
                    obs.log_source.heard(now);
                }
                Step::Reconnect => obs.log_source.last_reconnect = Some(now),
                Step::Line => obs.log_source.heard(now),
                Step::Quiet => {}
            }
            first_line = first_line.or(obs.log_source.first_line_at);
            let (decisions, next) = evaluate(&config, &obs, &state, now);
            state = next;
            for d in decisions.iter().filter(|d| d.action.is_restart()) {
                let name = d.action.to_string().replace("restart ", "");
                let dyno = obs.dyno(&name).unwrap();
                let observed_since = obs.log_source.observed_since().unwrap();
                let quiet_from = [Some(observed_since), Some(dyno.since), dyno.last_metrics_at]
                    .into_iter()
                    .flatten()
                    .max()
                    .unwrap();
                prop_assert!(first_line.is_some(), "restart before any line: {d:?}");
                prop_assert!(
                    now.as_millis() - quiet_from.as_millis() >= WINDOW_MS,
                    "{name} restarted after {} ms of observed silence",
                    now.as_millis() - quiet_from.as_millis()
                );
                // What was restarted starts a new run, as Heroku does.
                super::harness::restarted(&mut obs, &name, now, &now.as_millis().to_string());
            }
        }
    }
}

#[test]
fn a_queue_autoscaler_fed_by_dynopilots_own_queue_reads_is_not_blind_without_logs() {
    let mut c = Config::new("shop");
    c.process_types.insert(
        "worker".into(),
        ProcessTypeConfig {
            min: Some(0),
            max: Some(6),
            autoscale: Some(HorizontalConfig::Queue(QueueConfig {
                jobs_per_dyno: Some(10.0),
                ..QueueConfig::default()
            })),
            ..ProcessTypeConfig::default()
        },
    );
    let mut obs = app(&[("worker", 1, "Standard-1X")]);
    obs.log_source = LogSourceState::none();
    let blind: Vec<String> = blind_policies(&c, &obs)
        .iter()
        .map(|b| format!("{}/{}", b.process_type, b.policy))
        .collect();
    assert_eq!(blind, ["worker/autoscale"]);
    // `[[apps.queues]]` feeds worker: the signal is dynopilot's own, like a probe's.
    obs.queue_readers.insert("worker".into());
    assert!(blind_policies(&c, &obs).is_empty());
    // Another process type's queue reader changes nothing for worker.
    obs.queue_readers.clear();
    obs.queue_readers.insert("urgent".into());
    assert_eq!(blind_policies(&c, &obs).len(), 1);
}
