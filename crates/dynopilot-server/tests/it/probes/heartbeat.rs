//! The HTTP heartbeat: results feed the process type's probes; a URL that never answers times
//! out, is counted, and the next probe waits for it (never two in flight).

use std::sync::Arc;
use std::time::Duration;

use dynopilot_clock::SystemClock;
use dynopilot_server::config::AppProbes;
use dynopilot_server::probes::TargetStats;

use super::support::{Heartbeat, Running, eventually, heartbeat};

#[tokio::test]
async fn a_quick_heartbeat_feeds_ok_results_with_their_latency() {
    let server = Heartbeat::start(30).await;
    let probes = AppProbes {
        heartbeats: vec![heartbeat(&server.url(), 1000, 50)],
        ..AppProbes::default()
    };
    let running = Running::start("shop", probes, Arc::new(SystemClock));
    eventually("three probe results", Duration::from_secs(5), || {
        running
            .observed("shop")
            .process_types
            .get("web")
            .is_some_and(|w| w.probes.len() >= 3)
    })
    .await;
    let web = running.observed("shop").process_types["web"].clone();
    for p in &web.probes {
        assert!(p.ok, "{p:?}");
        assert_eq!(p.name, "heartbeat");
        let ms = p.latency_ms.unwrap();
        assert!(
            (30.0..1000.0).contains(&ms),
            "latency {ms} ms includes the 30 ms delay"
        );
    }
    running.stop().await;
}

#[tokio::test]
async fn a_url_that_never_answers_times_out_counted_with_one_probe_in_flight() {
    // Answers after a minute: every probe times out at 300 ms.
    let server = Heartbeat::start(60_000).await;
    let probes = AppProbes {
        heartbeats: vec![heartbeat(&server.url(), 300, 50)],
        ..AppProbes::default()
    };
    let running = Running::start("shop", probes, Arc::new(SystemClock));
    let stats = running.stats.target("shop", "heartbeat");
    eventually("three timeouts", Duration::from_secs(5), || {
        TargetStats::get(&stats.timeouts) >= 3
    })
    .await;
    assert_eq!(TargetStats::get(&stats.max_in_flight), 1);
    let arrivals = server.arrivals.lock().unwrap().clone();
    for pair in arrivals.windows(2) {
        // The next probe starts only after the previous one timed out (300 ms) and the
        // interval (50 ms) passed.
        assert!(pair[1] - pair[0] >= 330, "probes overlapped: {arrivals:?}");
    }
    let web = running.observed("shop").process_types["web"].clone();
    assert!(web.probes.iter().all(|p| !p.ok), "{:?}", web.probes);
    running.stop().await;
}
