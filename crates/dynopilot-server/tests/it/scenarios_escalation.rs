//! A leak that restarts do not fix (issue 13, "escalation"): `web.1` reports R14 again after
//! every restart. The memory guard restarts it three times; the fourth time the daemon still
//! restarts it (within the budgets) and raises the critical alert "leak not fixed by restarts"
//! with the history, since no max size allows an upsize. Simulator + daemon over loopback
//! HTTP, clock at 10× real time.

use std::time::Duration;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::{
    self, ConfigDuration, EscalationConfig, MemoryGuardConfig, ProcessTypeConfig,
};
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, LogRecord};
use dynopilot_store::TimeRange;

use super::scenarios::{FastClock, restarts_of, start_daemon, start_sim};

fn leak_policy() -> policy::Config {
    let mut config = policy::Config::new("shop");
    config.guardrails.dyno_restart_cooldown = ConfigDuration::from_secs(60);
    config.process_types.insert(
        "web".to_owned(),
        ProcessTypeConfig {
            memory_guard: Some(MemoryGuardConfig {
                cooldown: ConfigDuration::from_secs(60),
                ..MemoryGuardConfig::default()
            }),
            escalation: Some(EscalationConfig::default()),
            ..ProcessTypeConfig::default()
        },
    );
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leak_restarts_do_not_fix_escalates_to_an_alert_with_the_history() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 3, 0), &clock).await;
    let daemon = start_daemon(&sim, leak_policy(), "sqlite::memory:", &clock).await;
    // The first dyno poll sets each dyno's `since`; an R14 before it belongs to no known run.
    fast.sleep(Duration::from_secs(10)).await;
    for round in 1..=4 {
        let r14 = LogRecord::new(
            fast.now(),
            "heroku",
            "web.1",
            "Error R14 (Memory quota exceeded)".to_owned(),
        );
        assert!(sim.emit("shop", r14));
        fast.until(
            &format!("restart {round} of web.1"),
            Duration::from_secs(60),
            async || restarts_of(&sim, "shop", "web.1") == round,
        )
        .await;
        // Past both one-minute cooldowns, with the new run up.
        fast.sleep(Duration::from_secs(70)).await;
    }
    let decisions = daemon
        .store
        .decisions(
            "shop",
            TimeRange {
                start: Timestamp::EPOCH,
                end: Timestamp::from_millis(i64::MAX / 2),
            },
            100,
        )
        .await
        .unwrap();
    let alerts: Vec<_> = decisions
        .iter()
        .filter(|d| d.kind == "alert" && d.reason.contains("leak not fixed by restarts"))
        .collect();
    assert_eq!(alerts.len(), 1, "one escalation alert: {decisions:#?}");
    let message = alerts[0].decision.to_string();
    assert!(
        message.contains("web.1 was restarted for memory 3 times in 6h"),
        "{message}"
    );
    assert_eq!(restarts_of(&sim, "shop", "web.1"), 4, "{:?}", sim.actions());
    daemon.shutdown().await;
    sim.shutdown();
}
