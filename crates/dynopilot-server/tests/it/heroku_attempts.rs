//! `/metrics` counts every failed Platform API attempt by status class, retried or not, and
//! every retry, as the client's retry loop sees them: checked against the simulator's own count
//! of the 503s and 429s it injected while the daemon polled through them.

use std::collections::BTreeMap;
use std::time::Duration;

use dynopilot_server::daemon;
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, Faults};

use super::scenarios::{FastClock, settings, start_sim};
use super::scenarios_restart::crash_policy;

/// `name{labels}` → value, for the lines starting with `prefix`.
fn series(exposition: &str, prefix: &str) -> BTreeMap<String, f64> {
    exposition
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_attempts_by_class_and_retries_match_the_faults_injected() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 2, 0), &clock).await;
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let daemon = daemon::start(settings(&sim, crash_policy()), store, clock)
        .await
        .unwrap();

    sim.set_faults(Faults {
        error_rate: 0.3,
        burst_429_every: 11,
        burst_429_len: 1,
        seed: 22,
    });
    // The pollers call formation, dynos and releases every 5 s through the faults.
    fast.sleep(Duration::from_secs(90)).await;
    sim.set_faults(Faults::default());
    // Let calls caught between retries finish (the longest backoff is a few seconds).
    fast.sleep(Duration::from_secs(30)).await;
    let (injected_503, injected_429) = sim.faults_injected();
    assert!(
        injected_503 >= 5 && injected_429 >= 2,
        "too few faults to say anything: {injected_503} 503s, {injected_429} 429s"
    );

    let exposition = reqwest::get(format!("{}/metrics", daemon.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let failed = series(&exposition, "dynopilot_heroku_attempts_failed_total{");
    let class =
        |c: &str| failed[&format!("dynopilot_heroku_attempts_failed_total{{class=\"{c}\"}}")];
    assert_eq!(class("5xx"), injected_503 as f64, "{exposition}");
    assert_eq!(class("429"), injected_429 as f64, "{exposition}");
    assert_eq!(
        (class("4xx"), class("transport")),
        (0.0, 0.0),
        "{exposition}"
    );

    // Each failed attempt was either retried or ended its call, which the poller counted.
    let retries = series(&exposition, "dynopilot_heroku_retries_total ");
    let retries = retries["dynopilot_heroku_retries_total"];
    let gave_up: f64 = series(&exposition, "dynopilot_heroku_api_errors_total{")
        .values()
        .sum();
    assert!(retries > 0.0, "{exposition}");
    assert_eq!(
        retries + gave_up,
        class("5xx") + class("429"),
        "{exposition}"
    );
    daemon.shutdown().await;
    sim.shutdown();
}
