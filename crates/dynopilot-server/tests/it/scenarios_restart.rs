//! Scenarios around restarts: killing and restarting the daemon on the same SQLite file keeps
//! cooldowns and repeats nothing; Platform API faults (20 % 503, bursts of 429) delay
//! restarts but never duplicate or lose one; a crashed dyno is restarted by the daemon.
//! Plain simulated app, clock at 10× real time.

use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::policy::{
    self, ConfigDuration, MemoryGuardConfig, ProcessTypeConfig, ZombieConfig,
};
use dynopilot_core::{Clock, Timestamp};
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, Faults, SimHandle};
use dynopilot_store::{ActionOutcome, TimeRange};

use super::scenarios::{
    FastClock, memory_line, restarts_of, sim_client, start_daemon, start_sim, until_all_up,
};

/// Memory guard on web: two samples over 90 % of 512 MB, five-minute cooldowns.
fn guard_policy() -> policy::Config {
    let mut config = policy::Config::new("shop");
    config.guardrails.restart_budget_per_hour = 20;
    config.process_types.insert(
        "web".to_owned(),
        ProcessTypeConfig {
            memory_guard: Some(MemoryGuardConfig {
                samples: 2,
                ..MemoryGuardConfig::default()
            }),
            ..ProcessTypeConfig::default()
        },
    );
    config
}

/// Two over-threshold samples of `dyno`, a simulated second apart, through the sim's drain.
fn leak(sim: &SimHandle, clock: &Arc<dyn Clock>, dyno: &str) {
    let now = clock.now();
    for (i, mb) in [480.0, 495.0].into_iter().enumerate() {
        let at = now.plus(Duration::from_secs(i as u64));
        assert!(sim.emit("shop", memory_line(at, dyno, mb)));
    }
}

fn everything() -> TimeRange {
    TimeRange {
        start: Timestamp::EPOCH,
        end: Timestamp::from_millis(i64::MAX / 2),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_daemon_keeps_cooldowns_and_repeats_nothing() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let dir = std::env::temp_dir().join(format!("dynopilot-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store_url = format!("sqlite://{}", dir.join("restart.sqlite").display());
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 3, 0), &clock).await;
    let first = start_daemon(&sim, guard_policy(), &store_url, &clock).await;
    fast.sleep(Duration::from_secs(2)).await;
    leak(&sim, &clock, "web.1");
    fast.until("web.1 restarted", Duration::from_secs(30), async || {
        restarts_of(&sim, "shop", "web.1") == 1
    })
    .await;
    // Let the executor record the outcome, then stop the daemon the way SIGTERM does.
    fast.sleep(Duration::from_secs(2)).await;
    first.shutdown().await;

    let second = start_daemon(&sim, guard_policy(), &store_url, &clock).await;
    fast.sleep(Duration::from_secs(2)).await;
    // Still leaking, but inside the five-minute cooldown the new process saved.
    leak(&sim, &clock, "web.1");
    // A fresh dyno proves the new daemon is acting at all.
    leak(&sim, &clock, "web.2");
    fast.until(
        "web.2 restarted by the new daemon",
        Duration::from_secs(30),
        async || restarts_of(&sim, "shop", "web.2") == 1,
    )
    .await;
    fast.sleep(Duration::from_secs(60)).await;
    assert_eq!(restarts_of(&sim, "shop", "web.1"), 1, "{:?}", sim.actions());
    assert_eq!(restarts_of(&sim, "shop", "web.2"), 1, "{:?}", sim.actions());
    let actions = second
        .store
        .actions("shop", everything(), 100)
        .await
        .unwrap();
    let ok = actions
        .iter()
        .filter(|a| a.outcome == ActionOutcome::Ok)
        .count();
    assert_eq!(
        ok, 2,
        "one recorded restart per dyno across both runs: {actions:?}"
    );
    second.shutdown().await;
    sim.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_faults_delay_restarts_but_never_duplicate_or_lose_them() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 6, 0), &clock).await;
    let daemon = start_daemon(&sim, guard_policy(), "sqlite::memory:", &clock).await;
    fast.sleep(Duration::from_secs(2)).await;
    sim.set_faults(Faults {
        error_rate: 0.2,
        burst_429_every: 9,
        burst_429_len: 3,
        seed: 6,
    });
    let dynos = ["web.1", "web.2", "web.3", "web.4", "web.5"];
    for dyno in dynos {
        leak(&sim, &clock, dyno);
        fast.sleep(Duration::from_secs(3)).await;
    }
    fast.until(
        "every leaking dyno restarted",
        Duration::from_secs(300),
        async || dynos.iter().all(|d| restarts_of(&sim, "shop", d) >= 1),
    )
    .await;
    // Time for any duplicate (a retry of a call that had succeeded, a decision made twice).
    fast.sleep(Duration::from_secs(60)).await;
    let (unavailable, limited) = sim.faults_injected();
    assert!(unavailable + limited > 0, "no fault was injected");
    for dyno in dynos {
        assert_eq!(
            restarts_of(&sim, "shop", dyno),
            1,
            "{dyno}: {:?}",
            sim.actions()
        );
    }
    let decisions = daemon
        .store
        .decisions("shop", everything(), 100)
        .await
        .unwrap();
    let restarts: Vec<_> = decisions
        .iter()
        .filter(|d| d.kind == "restart_dyno" && d.executed)
        .collect();
    let actions = daemon
        .store
        .actions("shop", everything(), 100)
        .await
        .unwrap();
    for decision in &restarts {
        let done = actions
            .iter()
            .filter(|a| a.decision_id == decision.id && a.outcome == ActionOutcome::Ok)
            .count();
        assert!(
            done <= 1,
            "decision {} carried out {done} times",
            decision.id
        );
    }
    let ok = actions
        .iter()
        .filter(|a| a.outcome == ActionOutcome::Ok)
        .count();
    assert_eq!(ok, dynos.len(), "{actions:?}");
    daemon.shutdown().await;
    sim.shutdown();
}

/// Restarts crashed dynos only; silence is not tested here (the plain world sends no metrics).
pub fn crash_policy() -> policy::Config {
    let mut config = policy::Config::new("shop");
    config.process_types.insert(
        "web".to_owned(),
        ProcessTypeConfig {
            zombie: Some(ZombieConfig {
                no_metrics_for: ConfigDuration::from_mins(60),
                ..ZombieConfig::default()
            }),
            ..ProcessTypeConfig::default()
        },
    );
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_dyno_is_restarted_by_the_daemon_before_the_platform_cool_off() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 3, 0), &clock).await;
    let daemon = start_daemon(&sim, crash_policy(), "sqlite::memory:", &clock).await;
    let client = sim_client(&sim, &clock);
    until_all_up(&fast, &client, "shop", 3).await;
    // After a repeated crash Heroku waits minutes before restarting; here the platform would
    // only restart web.2 after two minutes, so a restart before that is the daemon's.
    let cool_off = Duration::from_secs(120);
    let crashed_at = fast.now();
    assert!(sim.crash_dyno("shop", "web.2", cool_off));
    fast.until(
        "the daemon restarts web.2",
        Duration::from_secs(30),
        async || restarts_of(&sim, "shop", "web.2") == 1,
    )
    .await;
    let reaction = fast.now().since(crashed_at);
    fast.until("web.2 up again", Duration::from_secs(30), async || {
        client.dyno_info("shop", "web.2").await.unwrap().state == "up"
    })
    .await;
    assert!(
        fast.now() < crashed_at.plus(cool_off),
        "web.2 came back only at the platform's cool-off"
    );
    let decisions = daemon
        .store
        .decisions("shop", everything(), 100)
        .await
        .unwrap();
    let restart = decisions
        .iter()
        .find(|d| d.kind == "restart_dyno" && d.executed)
        .unwrap_or_else(|| panic!("no restart journaled: {decisions:?}"));
    assert!(
        restart.decision["action"]["dyno"] == "web.2" && restart.reason.contains("crashed"),
        "{}",
        restart.reason
    );
    let actions = daemon
        .store
        .actions("shop", everything(), 100)
        .await
        .unwrap();
    assert!(
        actions
            .iter()
            .any(|a| a.decision_id == restart.id && a.outcome == ActionOutcome::Ok),
        "{actions:?}"
    );
    // Past the cool-off: the platform's own restart was cancelled by ours, and nothing else
    // was restarted or restarted twice.
    fast.sleep(cool_off).await;
    let restarts: Vec<_> = sim
        .actions()
        .into_iter()
        .filter(|a| a.method == "DELETE")
        .collect();
    assert_eq!(restarts.len(), 1, "{restarts:?}");
    assert_eq!(client.dyno_info("shop", "web.2").await.unwrap().state, "up");
    assert!(
        reaction <= Duration::from_secs(10),
        "restart came {reaction:?} after the crash"
    );
    daemon.shutdown().await;
    sim.shutdown();
}
