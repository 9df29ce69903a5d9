//! Scenario over loopback: the simulator, the daemon, and a heartbeat endpoint that slows down
//! → the streak fills → web scales up by `increment`; it recovers → web scales down after
//! `passes`. Clock at 10× real time; probe latency is real time.

use std::time::Duration;

use dynopilot_core::policy::{self, ConfigDuration, ProcessTypeConfig};
use dynopilot_core::scaling::{HorizontalConfig, Signal, StreakConfig};
use dynopilot_server::config::AppProbes;
use dynopilot_sim::AppSpec;
use dynopilot_sim::config::DEMO_EMAIL;
use jiff::SignedDuration;

use super::super::scenarios::{
    FastClock, quantity, sim_client, start_daemon, start_sim, until_all_up,
};
use super::support::{Heartbeat, heartbeat};

fn streak_policy() -> policy::Config {
    let mut config = policy::Config::new("shop");
    config.guardrails.deploy_freeze = ConfigDuration::from_secs(0);
    config.process_types.insert(
        "web".into(),
        ProcessTypeConfig {
            min: Some(2),
            max: Some(6),
            autoscale: Some(HorizontalConfig::Streak(StreakConfig {
                signal: Signal::ProbeLatency,
                min_response_time: SignedDuration::from_millis(100),
                max_response_time: SignedDuration::from_millis(250),
                fails: 3,
                passes: 4,
                increment: 2,
                up_cooldown: SignedDuration::ZERO,
                down_cooldown: SignedDuration::ZERO,
                max_sample_age: SignedDuration::from_secs(60),
            })),
            ..ProcessTypeConfig::default()
        },
    );
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_heartbeat_scales_web_up_by_increment_and_recovery_scales_it_down() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 2, 0), &clock).await;
    let client = sim_client(&sim, &clock);
    until_all_up(&fast, &client, "shop", 2).await;
    let server = Heartbeat::start(5).await;
    let daemon = start_daemon(&sim, streak_policy(), "sqlite::memory:", &clock).await;
    // Every 2 s of simulated time (200 ms real); a probe waits up to 2 s real.
    let probes = AppProbes {
        heartbeats: vec![heartbeat(&server.url(), 2000, 2000)],
        ..AppProbes::default()
    };
    let stats = daemon.spawn_probes(vec![("shop".to_owned(), probes)], &clock);

    fast.sleep(Duration::from_secs(20)).await;
    assert_eq!(
        quantity(&client, "shop", "web").await,
        2,
        "fast answers: nothing to do"
    );

    let mut seen = vec![2];
    server.set_delay(400);
    fast.until("web scaled up", Duration::from_secs(120), async || {
        let q = quantity(&client, "shop", "web").await;
        if seen.last() != Some(&q) {
            seen.push(q);
        }
        q != 2
    })
    .await;
    server.set_delay(5);
    fast.until(
        "web back to 2 after passes",
        Duration::from_secs(240),
        async || {
            let q = quantity(&client, "shop", "web").await;
            if seen.last() != Some(&q) {
                seen.push(q);
            }
            q == 2
        },
    )
    .await;
    assert_eq!(seen, [2, 4, 2], "one step up by increment, one step down");
    let runs = dynopilot_server::probes::TargetStats::get(&stats.target("shop", "heartbeat").runs);
    assert!(runs >= 10, "{runs} probes");
    daemon.shutdown().await;
    sim.shutdown();
}
