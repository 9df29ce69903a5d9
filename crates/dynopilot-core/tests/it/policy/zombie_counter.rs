//! Zombie/stuck/crashed dynos and the restart counter: normal case, boundary and cooldown.

use dynopilot_core::policy::{
    Config, ConfigDuration, DynoLifecycle, ProcessTypeConfig, RestartCounterConfig, ZombieConfig,
};

use super::harness::{Scenario, app, dyno, memory, restarted};

fn zombie_config() -> Config {
    let mut c = Config::new("shop");
    c.process_types.insert(
        "worker".into(),
        ProcessTypeConfig {
            zombie: Some(ZombieConfig::default()),
            ..ProcessTypeConfig::default()
        },
    );
    c
}

#[test]
fn silent_stuck_and_crashed_dynos_are_restarted_once_per_cooldown() {
    let mut s = Scenario::new(zombie_config(), app(&[("worker", 4, "Standard-2X")]));
    let quota = 1024.0;
    s.step("12:00:00", "all report metrics", |o, t| {
        for d in ["worker.1", "worker.2", "worker.3", "worker.4"] {
            memory(o, d, t, 200.0, quota);
        }
    });
    s.step("12:02:59", "worker.1 silent 2m59s", |o, t| {
        for d in ["worker.2", "worker.3", "worker.4"] {
            memory(o, d, t, 200.0, quota);
        }
    });
    s.step("12:03:00", "worker.1 silent 3m (the limit)", |o, t| {
        for d in ["worker.2", "worker.3", "worker.4"] {
            memory(o, d, t, 200.0, quota);
        }
    });
    s.step("12:03:20", "worker.2 crashed", |o, t| {
        let d = dyno(o, "worker.2");
        d.lifecycle = DynoLifecycle::Crashed;
        d.since = t;
    });
    s.step("12:04:00", "worker.2 still crashed", |_, _| {});
    s.step("12:05:00", "worker.3 starting since 12:02:00", |o, t| {
        restarted(o, "worker.3", t, "b");
        let d = dyno(o, "worker.3");
        d.lifecycle = DynoLifecycle::Starting;
        d.since = super::harness::at("12:02:00");
    });
    s.step("12:05:20", "worker.3 still starting", |_, _| {});
    insta::assert_snapshot!(s.transcript());
}

fn counter_config() -> Config {
    let mut c = Config::new("shop");
    c.process_types.insert(
        "web".into(),
        ProcessTypeConfig {
            restart_counter: Some(RestartCounterConfig {
                threshold: 3,
                ttl: ConfigDuration::from_mins(10),
                min_between_restarts: ConfigDuration::from_mins(5),
            }),
            ..ProcessTypeConfig::default()
        },
    );
    c
}

fn failure(s: &mut Scenario, hms: &str, name: &'static str) {
    s.step(hms, &format!("{name} reports a failure"), |o, t| {
        dyno(o, name).counter_events.push(t)
    });
}

#[test]
fn counter_restarts_at_threshold_within_ttl_and_starts_over() {
    let mut s = Scenario::new(counter_config(), app(&[("web", 2, "Standard-1X")]));
    failure(&mut s, "12:00:00", "web.1");
    failure(&mut s, "12:05:00", "web.1");
    // The first failure left the 10 minute TTL: still two.
    failure(&mut s, "12:10:30", "web.1");
    failure(&mut s, "12:11:00", "web.1");
    // Counting starts over after the restart.
    failure(&mut s, "12:12:00", "web.1");
    failure(&mut s, "12:13:00", "web.1");
    failure(&mut s, "12:14:00", "web.1");
    failure(&mut s, "12:16:00", "web.1");
    insta::assert_snapshot!(s.transcript());
}
