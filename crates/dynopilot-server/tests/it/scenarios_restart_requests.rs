//! The application asks for its own restarts (issue 13, "restart counter"): three
//! `dynopilot#restart_request=1` lines from `web.2` reach the daemon through the simulator's
//! drain and `web.2` is restarted through the usual decision path; three authenticated
//! `POST /api/v1/apps/shop/restart-requests` do the same for `web.1`; a wrong or missing token
//! is a 401 and counts nothing; an unknown dyno is a 422, an unknown app a 404.
//! Simulator + daemon over loopback HTTP, clock at 10× real time.

use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::policy::{self, ConfigDuration, ProcessTypeConfig, RestartCounterConfig};
use dynopilot_core::{Clock, Timestamp};
use dynopilot_server::daemon::{self, DaemonHandle};
use dynopilot_server::web::WebSettings;
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, LogRecord, SimHandle};

use super::scenarios::{FastClock, SECRET, restarts_of, settings, sim_client, start_sim};

const TOKEN: &str = "shop-restart-token-0123456789";

/// Only the restart counter: three requests within ten minutes restart a dyno.
fn counter_policy() -> policy::Config {
    let mut config = policy::Config::new("shop");
    config.process_types.insert(
        "web".to_owned(),
        ProcessTypeConfig {
            restart_counter: Some(RestartCounterConfig {
                threshold: 3,
                ttl: ConfigDuration::from_mins(10),
                min_between_restarts: ConfigDuration::from_mins(5),
            }),
            ..ProcessTypeConfig::default()
        },
    );
    config
}

async fn start(sim: &SimHandle, clock: &Arc<dyn Clock>) -> DaemonHandle {
    let settings = settings(sim, counter_policy());
    let mut web = WebSettings::for_listen(settings.listen, None);
    web.restart_request_tokens
        .insert("shop".to_owned(), TOKEN.to_owned());
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let daemon = daemon::start_with_web(settings, web, store, Arc::clone(clock))
        .await
        .unwrap();
    sim_client(sim, clock)
        .log_drain_add(
            "shop",
            &format!("{}/drain/shop/{SECRET}", daemon.base_url()),
        )
        .await
        .unwrap();
    daemon
}

fn request_line(at: Timestamp, dyno: &str) -> LogRecord {
    let message = "at=warn msg=\"db pool wedged\" dynopilot#restart_request=1".to_owned();
    LogRecord::new(at, "app", dyno, message)
}

/// Restart-counter events the daemon holds for `dyno`.
fn counted(daemon: &DaemonHandle, dyno: &str) -> usize {
    let fleet = daemon.ingest.fleet.lock().unwrap();
    fleet
        .app("shop")
        .and_then(|a| a.observed.dyno(dyno).map(|d| d.counter_events.len()))
        .unwrap_or(0)
}

fn knows(daemon: &DaemonHandle, dyno: &str) -> bool {
    let fleet = daemon.ingest.fleet.lock().unwrap();
    fleet
        .app("shop")
        .is_some_and(|a| a.observed.dyno(dyno).is_some())
}

async fn post(
    http: &reqwest::Client,
    daemon: &DaemonHandle,
    app: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value) {
    let url = format!("{}/api/v1/apps/{app}/restart-requests", daemon.base_url());
    let mut request = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_request_log_lines_restart_the_dyno_that_logged_them() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 3, 0), &clock).await;
    let daemon = start(&sim, &clock).await;
    fast.sleep(Duration::from_secs(2)).await;
    for i in 0..2 {
        let at = clock.now().plus(Duration::from_secs(i));
        assert!(sim.emit("shop", request_line(at, "web.2")));
    }
    fast.until(
        "two requests counted",
        Duration::from_secs(30),
        async || counted(&daemon, "web.2") == 2,
    )
    .await;
    fast.sleep(Duration::from_secs(10)).await;
    assert_eq!(restarts_of(&sim, "shop", "web.2"), 0, "below the threshold");
    assert!(sim.emit("shop", request_line(clock.now(), "web.2")));
    fast.until("web.2 restarted", Duration::from_secs(30), async || {
        restarts_of(&sim, "shop", "web.2") == 1
    })
    .await;
    fast.sleep(Duration::from_secs(30)).await;
    assert_eq!(restarts_of(&sim, "shop", "web.2"), 1, "{:?}", sim.actions());
    for other in ["web.1", "web.3"] {
        assert_eq!(restarts_of(&sim, "shop", other), 0, "{:?}", sim.actions());
    }
    daemon.shutdown().await;
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_restart_requests_need_the_token_and_restart_through_the_counter() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 3, 0), &clock).await;
    let daemon = start(&sim, &clock).await;
    let http = reqwest::Client::new();
    fast.until(
        "the daemon knows web.1",
        Duration::from_secs(60),
        async || knows(&daemon, "web.1"),
    )
    .await;
    let body = r#"{"dyno": "web.1", "reason": "db pool wedged"}"#;

    for token in [None, Some("wrong-token-0123456789"), Some("")] {
        let (status, json) = post(&http, &daemon, "shop", token, body).await;
        assert_eq!(status, 401, "{token:?}: {json}");
        assert_eq!(json["error"], "unauthorized", "{json}");
    }
    assert_eq!(
        counted(&daemon, "web.1"),
        0,
        "a refused request counts nothing"
    );

    let (status, json) = post(&http, &daemon, "nope", Some(TOKEN), body).await;
    assert_eq!(status, 404, "{json}");
    let (status, json) = post(&http, &daemon, "shop", Some(TOKEN), r#"{"dyno": "web.9"}"#).await;
    assert_eq!(status, 422, "{json}");
    assert!(
        json["message"].as_str().unwrap().contains("web.9"),
        "{json}"
    );
    let (status, json) = post(&http, &daemon, "shop", Some(TOKEN), "restart please").await;
    assert_eq!(status, 422, "{json}");
    assert_eq!(counted(&daemon, "web.1"), 0);

    for n in 1..=3 {
        let (status, json) = post(&http, &daemon, "shop", Some(TOKEN), body).await;
        assert_eq!(status, 202, "{json}");
        assert_eq!(json["dyno"], "web.1");
        assert_eq!(json["pending"], n, "{json}");
    }
    fast.until("web.1 restarted", Duration::from_secs(30), async || {
        restarts_of(&sim, "shop", "web.1") == 1
    })
    .await;
    let decisions = daemon
        .store
        .decisions("shop", everything(), 100)
        .await
        .unwrap();
    assert!(
        decisions.iter().any(|d| d.kind == "restart_dyno"
            && d.executed
            && d.decision["action"]["dyno"] == "web.1"
            && d.reason.starts_with("the app asked for a restart 3 times")),
        "journaled as a restart-counter decision: {decisions:?}"
    );
    daemon.shutdown().await;
    sim.shutdown();
}

fn everything() -> dynopilot_store::TimeRange {
    dynopilot_store::TimeRange {
        start: Timestamp::EPOCH,
        end: Timestamp::from_millis(i64::MAX / 2),
    }
}
