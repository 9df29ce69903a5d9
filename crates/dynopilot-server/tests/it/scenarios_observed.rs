//! Never act on what was never observed, over real HTTP on loopback (simulator + daemon, clock
//! sped up): a healthy fleet that was up for minutes before the daemon started sees ten quiet
//! minutes with the default config; without a log source, or with `log-runtime-metrics` off, the
//! policies that need them are blind and nothing happens; a silent dyno is restarted exactly
//! once, after a full window of our own listening; a replayed 13-day-old batch about dynos that
//! do not exist drives nothing and is counted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::Timestamp;
use dynopilot_core::policy;
use dynopilot_server::daemon::{self, DaemonHandle, LogSource};
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, SimHandle};

use super::scenarios::{
    FastClock, memory_line, restarts_of, settings, start_daemon, start_sim,
    start_sim_without_runtime_metrics, until_all_up,
};

/// The policy a minimal config file gives an app running web and worker (memory guard and
/// zombie restarts on every process type, default guardrails).
fn default_policy() -> policy::Config {
    let config = dynopilot_server::config::Config::load(
        "[[apps]]\nname = \"shop\"\n",
        "dynopilot.toml",
        &BTreeMap::new(),
    )
    .unwrap();
    let policy = config.app("shop").unwrap().policy_for(["web", "worker"]);
    assert!(policy.process_types.values().all(|pt| pt.zombie.is_some()));
    policy
}

/// Lets `d` of simulated time pass while each named dyno sends a runtime-metrics sample
/// (200 MB of 512 MB) every 20 s through the simulator's drain, as a healthy dyno does.
async fn healthy_for(fast: &FastClock, sim: &SimHandle, dynos: &[&str], d: Duration) {
    let end = fast.now().plus(d);
    while fast.now() < end {
        let now = fast.now();
        for dyno in dynos {
            sim.emit("shop", memory_line(now, dyno, 200.0));
        }
        fast.sleep(Duration::from_secs(20)).await;
    }
}

/// Every call that changed something on the simulated Heroku (restarts, scaling, resizing).
fn changes(sim: &SimHandle) -> Vec<String> {
    sim.actions()
        .iter()
        .filter(|a| a.method == "DELETE" || (a.method == "PATCH" && a.path.contains("formation")))
        .filter(|a| a.status < 300)
        .map(|a| format!("{} {}", a.method, a.path))
        .collect()
}

async fn get_text(daemon: &DaemonHandle, path: &str) -> String {
    reqwest::get(format!("{}{path}", daemon.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn metric(daemon: &DaemonHandle, series: &str) -> Option<f64> {
    get_text(daemon, "/metrics")
        .await
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_fleet_up_for_minutes_sees_ten_quiet_minutes_with_the_default_config() {
    let fast = FastClock::start(40);
    let clock = fast.dyn_clock();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 3, 1), &clock).await;
    let client = super::scenarios::sim_client(&sim, &clock);
    until_all_up(&fast, &client, "shop", 4).await;
    // The fleet runs for five minutes before dynopilot starts: every `since` is old.
    fast.sleep(Duration::from_secs(300)).await;
    let started = fast.now();
    let daemon = start_daemon(&sim, default_policy(), "sqlite::memory:", &clock).await;
    let dynos = ["web.1", "web.2", "web.3", "worker.1"];
    healthy_for(&fast, &sim, &dynos, Duration::from_secs(600)).await;
    assert_eq!(
        changes(&sim),
        Vec::<String>::new(),
        "a healthy fleet is left alone"
    );
    let decisions = daemon
        .store
        .decisions("shop", everything(started), 100)
        .await
        .unwrap();
    assert!(decisions.is_empty(), "no decision at all: {decisions:?}");
    daemon.shutdown().await;
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_log_source_every_log_reading_policy_is_blind_and_nothing_happens() {
    let fast = FastClock::start(40);
    let clock = fast.dyn_clock();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 2, 1), &clock).await;
    let client = super::scenarios::sim_client(&sim, &clock);
    until_all_up(&fast, &client, "shop", 3).await;
    fast.sleep(Duration::from_secs(120)).await;
    let mut settings = settings(&sim, default_policy());
    settings.apps[0].log_source = LogSource::None;
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let daemon = daemon::start(settings, store, Arc::clone(&clock))
        .await
        .unwrap();
    fast.sleep(Duration::from_secs(300)).await;
    assert_eq!(changes(&sim), Vec::<String>::new());

    let blind = r#"dynopilot_policy_blind{app="shop",process_type="web",policy="zombie",missing_signal="log_source"}"#;
    assert_eq!(metric(&daemon, blind).await, Some(1.0));
    let memory = r#"dynopilot_policy_blind{app="shop",process_type="worker",policy="memory guard",missing_signal="log_source"}"#;
    assert_eq!(metric(&daemon, memory).await, Some(1.0));
    let app: serde_json::Value =
        serde_json::from_str(&get_text(&daemon, "/api/v1/apps/shop").await).unwrap();
    let observation = &app["observation"];
    assert_eq!(observation["log_source"], "none", "{observation}");
    let blind: Vec<String> = observation["blind"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| format!("{}/{}", b["process_type"], b["policy"]).replace('"', ""))
        .collect();
    assert_eq!(
        blind,
        [
            "web/memory guard",
            "web/zombie",
            "worker/memory guard",
            "worker/zombie"
        ]
    );
    let page = get_text(&daemon, "/apps/shop").await;
    assert!(
        page.contains("zombie of web is blind: no log source"),
        "the app page says what is blind"
    );
    daemon.shutdown().await;
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_runtime_metrics_off_memory_and_silence_policies_are_blind_and_nothing_happens() {
    let fast = FastClock::start(40);
    let clock = fast.dyn_clock();
    let sim =
        start_sim_without_runtime_metrics(AppSpec::plain("shop", DEMO_EMAIL, 2, 0), &clock).await;
    let client = super::scenarios::sim_client(&sim, &clock);
    until_all_up(&fast, &client, "shop", 2).await;
    fast.sleep(Duration::from_secs(120)).await;
    let daemon = start_daemon(&sim, default_policy(), "sqlite::memory:", &clock).await;
    // The drain is set up, but no dyno sends runtime metrics: the feature is off.
    fast.sleep(Duration::from_secs(300)).await;
    assert_eq!(changes(&sim), Vec::<String>::new());
    let zombie = r#"dynopilot_policy_blind{app="shop",process_type="web",policy="zombie",missing_signal="runtime_metrics"}"#;
    assert_eq!(metric(&daemon, zombie).await, Some(1.0));
    let page = get_text(&daemon, "/apps/shop").await;
    assert!(page.contains("memory guard of web is blind: log-runtime-metrics is off"));
    daemon.shutdown().await;
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_dyno_is_restarted_once_after_a_full_window_of_our_own_listening() {
    let fast = FastClock::start(40);
    let clock = fast.dyn_clock();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 3, 0), &clock).await;
    let client = super::scenarios::sim_client(&sim, &clock);
    until_all_up(&fast, &client, "shop", 3).await;
    fast.sleep(Duration::from_secs(300)).await;
    let started = fast.now();
    let daemon = start_daemon(&sim, default_policy(), "sqlite::memory:", &clock).await;
    // web.3 is up (per the API) but never sends runtime metrics: stuck.
    while restarts_of(&sim, "shop", "web.3") == 0 {
        assert!(
            fast.now().since(started) < Duration::from_secs(300),
            "web.3 not restarted within 5 minutes"
        );
        healthy_for(&fast, &sim, &["web.1", "web.2"], Duration::from_secs(1)).await;
    }
    let restarted_at = fast.now();
    let waited = restarted_at.since(started);
    assert!(
        waited >= Duration::from_secs(180),
        "restarted after only {waited:?} of listening (limit 3m)"
    );
    // The new run reports; nothing else is restarted in the next five minutes.
    let all = ["web.1", "web.2", "web.3"];
    healthy_for(&fast, &sim, &all, Duration::from_secs(300)).await;
    assert_eq!(
        changes(&sim),
        ["DELETE /apps/shop/dynos/web.3"],
        "exactly one restart"
    );
    daemon.shutdown().await;
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_old_batch_about_dynos_that_do_not_exist_drives_nothing_and_is_counted() {
    let fast = FastClock::start(40);
    let clock = fast.dyn_clock();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 2, 0), &clock).await;
    let client = super::scenarios::sim_client(&sim, &clock);
    until_all_up(&fast, &client, "shop", 2).await;
    let daemon = start_daemon(&sim, default_policy(), "sqlite::memory:", &clock).await;
    let dynos = ["web.1", "web.2"];
    healthy_for(&fast, &sim, &dynos, Duration::from_secs(30)).await;
    // A batch from 13 days ago about web.3…web.8: leaking far past the quota.
    let old = fast.now().minus(Duration::from_secs(13 * 86_400));
    for n in 3..=8 {
        let dyno = format!("web.{n}");
        for i in 0..3u64 {
            let at = old.plus(Duration::from_secs(20 * i));
            assert!(sim.emit("shop", memory_line(at, &dyno, 600.0)));
        }
    }
    // And fresh lines about the same dynos, which the API does not list.
    for n in 3..=8 {
        assert!(sim.emit("shop", memory_line(fast.now(), &format!("web.{n}"), 600.0)));
    }
    healthy_for(&fast, &sim, &dynos, Duration::from_secs(240)).await;
    assert_eq!(changes(&sim), Vec::<String>::new());
    let stale = r#"dynopilot_lines_not_actionable_total{app="shop",reason="stale"}"#;
    let unknown = r#"dynopilot_lines_not_actionable_total{app="shop",reason="unknown_dyno"}"#;
    assert_eq!(metric(&daemon, stale).await, Some(18.0));
    assert_eq!(metric(&daemon, unknown).await, Some(6.0));
    let page = get_text(&daemon, "/apps/shop").await;
    assert!(
        page.contains("18 lines older than 5 minutes"),
        "the app page shows the count"
    );
    let dynos: serde_json::Value =
        serde_json::from_str(&get_text(&daemon, "/api/v1/apps/shop/dynos").await).unwrap();
    assert_eq!(
        dynos.as_array().unwrap().len(),
        2,
        "no phantom dyno: {dynos}"
    );
    daemon.shutdown().await;
    sim.shutdown();
}

fn everything(from: Timestamp) -> dynopilot_store::TimeRange {
    dynopilot_store::TimeRange {
        start: from.minus(Duration::from_secs(3600)),
        end: Timestamp::from_millis(i64::MAX / 2),
    }
}
