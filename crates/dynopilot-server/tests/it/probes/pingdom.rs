//! The Pingdom client against the simulator's fake Pingdom over loopback: the exact requests
//! (bearer token, paths, `from` and `limit`), results mapped to probe samples, a refused token
//! reported without a tight loop, a rate limit honouring `Retry-After`.

use std::sync::Arc;
use std::time::Duration;

use dynopilot_clock::SystemClock;
use dynopilot_core::Clock;
use dynopilot_server::config::{AppProbes, PingdomConfig, Secret};
use dynopilot_server::probes::TargetStats;
use dynopilot_sim::pingdom::{FakePingdom, Forced, PREFIX, PingdomResult};

use super::support::{Running, eventually};

async fn serve(fake: &FakePingdom) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = fake.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}{PREFIX}")
}

fn config(base_url: String, token: &str) -> AppProbes {
    AppProbes {
        pingdom: Some(PingdomConfig {
            api_token: Secret::new(token),
            check_ids: vec![85975],
            base_url,
            interval: Duration::from_millis(100),
            process_type: "web".to_owned(),
        }),
        ..AppProbes::default()
    }
}

#[tokio::test]
async fn results_become_probe_samples_from_the_exact_requests() {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now_s = clock.now().as_millis() / 1000;
    let fake = FakePingdom::new("pingdom-token");
    fake.add_check(85975, "shop home");
    for (ago, status, ms) in [(120, "up", 210), (60, "up", 340), (1200, "up", 99)] {
        fake.add_result(
            85975,
            PingdomResult {
                time: now_s - ago,
                status: status.into(),
                response_ms: ms,
            },
        );
    }
    let running = Running::start("shop", config(serve(&fake).await, "pingdom-token"), clock);
    eventually("two samples", Duration::from_secs(5), || {
        running
            .observed("shop")
            .process_types
            .get("web")
            .is_some_and(|w| w.probes.len() >= 2)
    })
    .await;
    fake.add_result(
        85975,
        PingdomResult {
            time: now_s + 1,
            status: "down".into(),
            response_ms: 0,
        },
    );
    eventually("the newer result", Duration::from_secs(5), || {
        running.observed("shop").process_types["web"].probes.len() >= 3
    })
    .await;
    let probes = running.observed("shop").process_types["web"].probes.clone();
    let seen: Vec<(i64, bool, Option<f64>)> = probes
        .iter()
        .map(|p| (p.at.as_millis() / 1000, p.ok, p.latency_ms))
        .collect();
    // The result older than the first lookback (10 minutes) is not read; nothing twice.
    assert_eq!(
        seen,
        [
            (now_s - 120, true, Some(210.0)),
            (now_s - 60, true, Some(340.0)),
            (now_s + 1, false, Some(0.0))
        ]
    );
    assert!(probes.iter().all(|p| p.name == "pingdom:85975"));

    let newer = (now_s + 2).to_string();
    eventually(
        "a poll after the newest result",
        Duration::from_secs(5),
        || {
            fake.requests()
                .iter()
                .any(|r| r.query.get("from") == Some(&newer))
        },
    )
    .await;
    let requests = fake.requests();
    assert_eq!(requests[0].path, "/checks/85975");
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer pingdom-token"))
    );
    let results: Vec<_> = requests
        .iter()
        .filter(|r| r.path == "/results/85975")
        .collect();
    assert_eq!(results[0].query["from"], (now_s - 600).to_string());
    assert_eq!(results[0].query["limit"], "100");
    // Later polls ask only for what is newer than the last result seen.
    assert_eq!(results.last().unwrap().query["from"], newer);
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.path == "/checks/85975")
            .count(),
        1
    );
    running.stop().await;
}

#[tokio::test]
async fn a_refused_token_is_reported_and_not_retried_in_a_loop() {
    let fake = FakePingdom::new("the-right-token");
    fake.add_check(85975, "shop home");
    let running = Running::start(
        "shop",
        config(serve(&fake).await, "a-wrong-token"),
        Arc::new(SystemClock),
    );
    let stats = running.stats.target("shop", "pingdom");
    eventually("the problem reported", Duration::from_secs(5), || {
        stats.problem().is_some()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let problem = stats.problem().unwrap();
    assert!(
        problem.contains("Pingdom refused the API token (401 on /checks/85975)"),
        "{problem}"
    );
    assert!(
        !problem.contains("a-wrong-token"),
        "the token never shows: {problem}"
    );
    // One request in a second of 100 ms intervals: the next waits 15 minutes.
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(TargetStats::get(&stats.failures), 1);
    running.stop().await;
}

#[tokio::test]
async fn a_rate_limit_waits_for_retry_after_then_reads_again() {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now_s = clock.now().as_millis() / 1000;
    let fake = FakePingdom::new("pingdom-token");
    fake.add_check(85975, "shop home");
    fake.add_result(
        85975,
        PingdomResult {
            time: now_s - 30,
            status: "up".into(),
            response_ms: 180,
        },
    );
    fake.force(
        Forced {
            status: 429,
            headers: vec![
                ("retry-after".into(), "2".into()),
                (
                    "req-limit-short".into(),
                    "Remaining: 0 Time until reset: 2".into(),
                ),
            ],
        },
        1,
    );
    let started = tokio::time::Instant::now();
    let running = Running::start("shop", config(serve(&fake).await, "pingdom-token"), clock);
    let stats = running.stats.target("shop", "pingdom");
    eventually("the rate limit reported", Duration::from_secs(5), || {
        stats.problem().is_some()
    })
    .await;
    assert!(stats.problem().unwrap().contains("rate limit"));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(fake.requests().len(), 1, "no request before Retry-After");
    eventually("read after the wait", Duration::from_secs(5), || {
        running
            .observed("shop")
            .process_types
            .get("web")
            .is_some_and(|w| !w.probes.is_empty())
    })
    .await;
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(stats.problem(), None, "cleared once Pingdom answers");
    running.stop().await;
}
