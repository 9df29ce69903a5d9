//! Log-session tails never give up: the simulator ends every tailing session after 2 s and then
//! refuses new sessions for a while (fault rules on `POST /apps/*/log-sessions`); the daemon
//! keeps retrying with backoff, shows the app as disconnected with its log-reading policies
//! blind (missing signal named) while it cannot read, and recovers once sessions open again.

use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::policy::{self, MemoryGuardConfig, ProcessTypeConfig};
use dynopilot_core::{Clock, Timestamp};
use dynopilot_server::daemon::{self, DaemonHandle, LogSource};
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::faults::FaultPlan;
use dynopilot_sim::{AppSpec, SimConfig, Simulator};
use tokio_util::sync::CancellationToken;

use super::scenarios::{memory_line, settings, sim_client};

async fn app_view(daemon: &DaemonHandle) -> serde_json::Value {
    let text = reqwest::get(format!("{}/api/v1/apps/shop", daemon.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn metrics(daemon: &DaemonHandle) -> String {
    reqwest::get(format!("{}/metrics", daemon.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Polls the app view every 100 ms until `check` holds, for at most `limit`.
async fn until(
    daemon: &DaemonHandle,
    what: &str,
    limit: Duration,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let give_up = tokio::time::Instant::now() + limit;
    loop {
        let view = app_view(daemon).await;
        if check(&view["observation"]) {
            return view["observation"].clone();
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "{what}: not within {limit:?}; last observation {}",
            view["observation"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn missing_signals(observation: &serde_json::Value) -> Vec<String> {
    observation["blind"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["missing_signal"].as_str().unwrap().to_owned())
        .collect()
}

fn stamp(value: &serde_json::Value) -> Timestamp {
    dynopilot_logplex::timestamp::parse(value.as_str().unwrap()).unwrap()
}

fn breaks(metrics: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("dynopilot_log_session_breaks_total "))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_log_session_is_retried_with_backoff_blind_meanwhile_and_recovers() {
    let clock: Arc<dyn Clock> = Arc::new(dynopilot_clock::SystemClock);
    let mut config = SimConfig::empty();
    config.apps.push(AppSpec::plain("shop", DEMO_EMAIL, 2, 0));
    config.session.max_duration = Duration::from_secs(2);
    config.session.heartbeat = Duration::from_millis(200);
    let sim = Arc::new(Simulator::start(config, Arc::clone(&clock)).await.unwrap());
    sim_client(&sim, &clock)
        .feature_update("shop", dynopilot_heroku::LOG_RUNTIME_METRICS, true)
        .await
        .unwrap();
    let mut policy = policy::Config::new("shop");
    policy.process_types.insert(
        "web".into(),
        ProcessTypeConfig {
            memory_guard: Some(MemoryGuardConfig::default()),
            ..Default::default()
        },
    );
    let mut settings = settings(&sim, policy);
    settings.apps[0].log_source = LogSource::LogSession;
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let daemon = daemon::start(settings, store, Arc::clone(&clock))
        .await
        .unwrap();
    // A healthy dyno's runtime metrics, five times a second, for as long as the test runs.
    let stop = CancellationToken::new();
    let emitter = {
        let (sim, clock, stop) = (Arc::clone(&sim), Arc::clone(&clock), stop.clone());
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                sim.emit("shop", memory_line(clock.now(), "web.1", 200.0));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };

    let first = until(
        &daemon,
        "lines through the log session",
        Duration::from_secs(20),
        |o| o["log_source"] == "listening" && !o["first_line_at"].is_null(),
    )
    .await;
    assert_eq!(missing_signals(&first), Vec::<String>::new(), "{first}");

    // Every new session is refused for a while: the current one ends within 2 s and the tail
    // must start over, attempt after attempt (the client's own retries spend faults too).
    let faults = "5xx=1:POST /apps/*/log-sessions:count=12";
    sim.set_faults(FaultPlan::parse(faults, "test").unwrap());
    let broken = until(
        &daemon,
        "the app shown disconnected",
        Duration::from_secs(20),
        |o| o["log_source"] == "disconnected",
    )
    .await;
    assert!(!broken["disconnected_since"].is_null(), "{broken}");
    assert_eq!(missing_signals(&broken), ["log_source_disconnected"]);
    assert!(
        broken["blind"][0]["why"]
            .as_str()
            .unwrap()
            .contains("disconnected"),
        "{broken}"
    );
    let page = metrics(&daemon).await;
    let blind = r#"dynopilot_policy_blind{app="shop",process_type="web",policy="memory guard",missing_signal="log_source_disconnected"} 1"#;
    assert!(page.contains(blind), "{page}");

    let back = until(
        &daemon,
        "the tail reconnected",
        Duration::from_secs(90),
        |o| o["log_source"] == "listening",
    )
    .await;
    assert_eq!(missing_signals(&back), Vec::<String>::new(), "{back}");
    let reconnected = stamp(&back["last_reconnect"]);
    let disconnected = stamp(&broken["disconnected_since"]);
    assert!(reconnected > disconnected, "{back}");
    assert_eq!(
        sim.fault_counts().server_errors,
        12,
        "every refused session was retried"
    );
    // More than one break: the refused attempts each count, and the tail never gave up.
    assert!(breaks(&metrics(&daemon).await) >= 2.0);

    stop.cancel();
    emitter.await.unwrap();
    daemon.shutdown().await;
    sim.shutdown();
}
