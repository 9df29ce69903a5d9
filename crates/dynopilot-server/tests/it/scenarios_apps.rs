//! Scenarios: one app's trouble never stops the others. Three apps are configured and the
//! simulator knows two: the daemon starts, marks the unknown one in error (API, `/metrics`, one
//! alert), and keeps observing and acting on the other two. Clock at 10× real time.

use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::policy::{self, Action, MemoryGuardConfig, ProcessTypeConfig};
use dynopilot_core::{Clock, Timestamp};
use dynopilot_server::daemon::{self, AppSettings, LogSource};
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, SimConfig, SimHandle, Simulator};
use dynopilot_store::TimeRange;

use super::scenarios::{FastClock, SECRET, memory_line, restarts_of, settings, sim_client};

/// Memory guard on web: two samples over 90 % of 512 MB.
fn guarded(app: &str) -> policy::Config {
    let mut config = policy::Config::new(app);
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

fn leak(sim: &SimHandle, clock: &Arc<dyn Clock>, app: &str, dyno: &str) {
    let now = clock.now();
    for (i, mb) in [480.0, 495.0].into_iter().enumerate() {
        let at = now.plus(Duration::from_secs(i as u64));
        assert!(sim.emit(app, memory_line(at, dyno, mb)));
    }
}

fn everything() -> TimeRange {
    TimeRange {
        start: Timestamp::EPOCH,
        end: Timestamp::from_millis(i64::MAX / 2),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_app_among_three_is_in_error_and_the_two_others_keep_working() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let mut sim_config = SimConfig::empty();
    sim_config
        .apps
        .push(AppSpec::plain("shop", DEMO_EMAIL, 2, 0));
    sim_config
        .apps
        .push(AppSpec::plain("blog", DEMO_EMAIL, 2, 0));
    let sim = Simulator::start(sim_config, Arc::clone(&clock))
        .await
        .unwrap();
    let mut daemon_settings = settings(&sim, guarded("shop"));
    for app in ["blog", "ghost"] {
        daemon_settings.apps.push(AppSettings {
            name: app.to_owned(),
            policy: guarded(app),
            log_source: LogSource::Drain,
        });
    }
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let daemon = daemon::start(daemon_settings, store, Arc::clone(&clock))
        .await
        .expect("an app the key cannot see does not stop the daemon");
    let client = sim_client(&sim, &clock);
    for app in ["shop", "blog"] {
        let url = format!("{}/drain/{app}/{SECRET}", daemon.base_url());
        client.log_drain_add(app, &url).await.unwrap();
    }
    fast.sleep(Duration::from_secs(6)).await;

    // The two known apps are observed and acted on. A leaking dyno keeps reporting (as runtime
    // metrics do every 20 s), so a batch the drain was not yet ready for is not the end of it.
    let mut last_report: Option<Timestamp> = None;
    fast.until(
        "both apps restart their leaking dyno",
        Duration::from_secs(90),
        async || {
            let now = clock.now();
            if last_report.is_none_or(|t| now.since(t) >= Duration::from_secs(10)) {
                last_report = Some(now);
                if restarts_of(&sim, "shop", "web.1") == 0 {
                    leak(&sim, &clock, "shop", "web.1");
                }
                if restarts_of(&sim, "blog", "web.2") == 0 {
                    leak(&sim, &clock, "blog", "web.2");
                }
            }
            restarts_of(&sim, "shop", "web.1") == 1 && restarts_of(&sim, "blog", "web.2") == 1
        },
    )
    .await;
    {
        let fleet = daemon.ingest.fleet.lock().unwrap();
        for app in ["shop", "blog"] {
            let state = fleet.app(app).unwrap();
            assert!(state.status.error.is_none(), "{app}");
            assert_eq!(state.observed.process_types["web"].dynos.len(), 2, "{app}");
        }
    }

    // The unknown one is in error, in the API and in /metrics.
    let base = daemon.base_url();
    let ghost: serde_json::Value = reqwest::get(format!("{base}/api/v1/apps/ghost"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ghost["error"]["kind"], "not_found", "{ghost}");
    let shop: serde_json::Value = reqwest::get(format!("{base}/api/v1/apps/shop"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(shop.get("error").is_none(), "{shop}");
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"dynopilot_app_error{app="ghost",kind="not_found"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"dynopilot_app_error{app="shop",kind="none"} 0"#),
        "{metrics}"
    );
    let fleet_page = reqwest::get(format!("{base}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(fleet_page.contains("in error since"), "{fleet_page}");

    // Retried with backoff and still in error: one alert for the whole episode, nothing else.
    fast.sleep(Duration::from_secs(60)).await;
    let decisions = daemon
        .store
        .decisions("ghost", everything(), 100)
        .await
        .unwrap();
    let alerts: Vec<_> = decisions
        .iter()
        .filter_map(|d| serde_json::from_value::<policy::Decision>(d.decision.clone()).ok())
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        matches!(&alerts[0].action, Action::Alert { topic, .. } if topic == "app-error"),
        "{alerts:?}"
    );
    let failures = {
        let fleet = daemon.ingest.fleet.lock().unwrap();
        fleet
            .app("ghost")
            .unwrap()
            .status
            .error
            .clone()
            .unwrap()
            .failures
    };
    assert!(
        (2..=5).contains(&failures),
        "retried with a growing backoff, not every 5 s: {failures}"
    );
    daemon.shutdown().await;
    sim.shutdown();
}
