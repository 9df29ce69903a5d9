//! End to end with the real channels: a memory leak in the simulator becomes one restart
//! message on each of a Slack webhook, a signed generic webhook and PagerDuty (all loopback
//! receivers recording the raw requests); a second restart within cooling sends nothing, and
//! the next message after cooling carries the digest.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use dynopilot_core::Clock;
use dynopilot_core::policy::{self, Severity};
use dynopilot_core::secret::Secret;
use dynopilot_notify::config::{
    ChannelConfig, DEFAULT_TIMEOUT, PagerDutyConfig, SlackConfig, WebhookConfig,
};
use dynopilot_notify::{Channels, DefaultRoute, EventSettings, Routes};
use dynopilot_server::alerts::{AlertSettings, RetryPolicy};
use dynopilot_server::daemon::{self, Alerting};
use dynopilot_server::web::WebSettings;
use dynopilot_sim::AppSpec;
use dynopilot_sim::config::DEMO_EMAIL;

use super::scenarios::{FastClock, SECRET, memory_line, restarts_of, settings, start_sim};

const SIGNING: &str = "loopback-signing-secret-42";

/// One recorded request: the path's channel segment, headers, raw body.
type Recorded = (String, HeaderMap, Bytes);

async fn record(
    State(log): State<Arc<Mutex<Vec<Recorded>>>>,
    Path(rest): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let status = if rest.starts_with("v2/enqueue") {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    log.lock().unwrap().push((rest, headers, body));
    status
}

async fn receivers() -> (String, Arc<Mutex<Vec<Recorded>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route("/{*rest}", post(record))
        .with_state(Arc::clone(&log));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, log)
}

fn channels(base: &str) -> BTreeMap<String, ChannelConfig> {
    let mut map = BTreeMap::new();
    map.insert(
        "slack".to_owned(),
        ChannelConfig::Slack(SlackConfig {
            url: Secret::new(format!("{base}/slack/T000/B000/token")),
            timeout: DEFAULT_TIMEOUT,
        }),
    );
    map.insert(
        "audit".to_owned(),
        ChannelConfig::Webhook(WebhookConfig {
            url: Secret::new(format!("{base}/webhook")),
            secret: Secret::new(SIGNING),
            timeout: DEFAULT_TIMEOUT,
        }),
    );
    map.insert(
        "pager".to_owned(),
        ChannelConfig::Pagerduty(PagerDutyConfig {
            routing_key: Secret::new("R0UTINGKEY0123456789"),
            base_url: base.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }),
    );
    map
}

fn alert_settings() -> AlertSettings {
    AlertSettings {
        routes: Routes {
            routes: Vec::new(),
            default: DefaultRoute {
                min_severity: Severity::Warning,
                channels: vec!["slack".to_owned(), "audit".to_owned(), "pager".to_owned()],
            },
            cooling: Duration::from_secs(600),
        },
        events: EventSettings {
            big_swing: 0,
            public_url: Some("https://pilot.example.com".to_owned()),
        },
        retry: RetryPolicy {
            max_attempts: 4,
            first_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(5),
        },
        queue: 64,
    }
}

fn guard_policy() -> policy::Config {
    let mut config = policy::Config::new("shop");
    config.guardrails.restart_budget_per_hour = 20;
    config.process_types.insert(
        "web".to_owned(),
        policy::ProcessTypeConfig {
            memory_guard: Some(policy::MemoryGuardConfig {
                samples: 2,
                ..policy::MemoryGuardConfig::default()
            }),
            ..policy::ProcessTypeConfig::default()
        },
    );
    config
}

fn leak(sim: &dynopilot_sim::SimHandle, clock: &Arc<dyn Clock>, dyno: &str) {
    let now = clock.now();
    for (i, mb) in [480.0, 495.0].into_iter().enumerate() {
        let at = now.plus(Duration::from_secs(i as u64));
        assert!(sim.emit("shop", memory_line(at, dyno, mb)));
    }
}

fn bodies(log: &Arc<Mutex<Vec<Recorded>>>, prefix: &str) -> Vec<(HeaderMap, serde_json::Value)> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|(path, _, _)| path.starts_with(prefix))
        .map(|(_, h, b)| (h.clone(), serde_json::from_slice(b).unwrap()))
        .collect()
}

fn restart_messages(log: &Arc<Mutex<Vec<Recorded>>>) -> usize {
    bodies(log, "webhook")
        .iter()
        .filter(|(_, b)| b["topic"] == "restart")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leak_reaches_slack_a_signed_webhook_and_pagerduty_once_per_cooling_with_a_digest() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 3, 0), &clock).await;
    let (base, log) = receivers().await;
    let settings = settings(&sim, guard_policy());
    let web = WebSettings::for_listen(settings.listen, None);
    let deliver = Channels::with_clock(&channels(&base), Arc::clone(&clock)).unwrap();
    let alerting = Alerting {
        deliver: Arc::new(deliver),
        settings: alert_settings(),
    };
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let daemon =
        daemon::start_with_alerts(settings, web, Some(alerting), store, Arc::clone(&clock))
            .await
            .unwrap();
    super::scenarios::sim_client(&sim, &clock)
        .log_drain_add(
            "shop",
            &format!("{}/drain/shop/{SECRET}", daemon.base_url()),
        )
        .await
        .unwrap();
    fast.sleep(Duration::from_secs(5)).await;

    leak(&sim, &clock, "web.1");
    fast.until(
        "restart on all three channels",
        Duration::from_secs(60),
        async || {
            restart_messages(&log) == 1
                && bodies(&log, "slack")
                    .iter()
                    .any(|(_, b)| b.to_string().contains("web.1"))
                && bodies(&log, "v2/enqueue")
                    .iter()
                    .any(|(_, b)| b["payload"]["summary"].to_string().contains("restart"))
        },
    )
    .await;
    assert_eq!(restarts_of(&sim, "shop", "web.1"), 1);

    // The webhook is signed: a receiver verifies it with the shared secret.
    let (path, headers, raw) = log
        .lock()
        .unwrap()
        .iter()
        .find(|(p, _, b)| p == "webhook" && String::from_utf8_lossy(b).contains("\"restart\""))
        .cloned()
        .unwrap();
    assert_eq!(path, "webhook");
    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
    dynopilot_notify::channels::webhook::verify(
        SIGNING.as_bytes(),
        &header("x-dynopilot-timestamp"),
        &header("x-dynopilot-signature"),
        &raw,
        clock.now(),
        Duration::from_secs(300),
    )
    .expect("the webhook signature verifies");
    let body: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(body["schema"], "dynopilot.alert.v1");
    assert_eq!(body["app"], "shop");
    assert_eq!(body["dyno"], "web.1");
    let pager = bodies(&log, "v2/enqueue");
    let trigger = pager
        .iter()
        .find(|(_, b)| b["payload"]["summary"].to_string().contains("restart"))
        .unwrap();
    assert_eq!(trigger.1["event_action"], "trigger");
    assert_eq!(trigger.1["routing_key"], "R0UTINGKEY0123456789");
    assert_eq!(trigger.1["dedup_key"], "shop/restart/web");

    // A second leak within cooling restarts web.2 but sends nothing.
    fast.sleep(Duration::from_secs(60)).await;
    leak(&sim, &clock, "web.2");
    fast.until("web.2 restarted", Duration::from_secs(60), async || {
        restarts_of(&sim, "shop", "web.2") == 1
    })
    .await;
    fast.sleep(Duration::from_secs(20)).await;
    assert_eq!(
        restart_messages(&log),
        1,
        "cooling holds the second message back"
    );

    // After cooling, the next restart message carries the digest of what was held back.
    fast.sleep(Duration::from_secs(600)).await;
    leak(&sim, &clock, "web.3");
    fast.until(
        "the next restart message",
        Duration::from_secs(60),
        async || restart_messages(&log) == 2,
    )
    .await;
    let second = bodies(&log, "webhook")
        .into_iter()
        .filter(|(_, b)| b["topic"] == "restart")
        .nth(1)
        .unwrap()
        .1;
    let digest = second["digest"]["text"].as_str().unwrap_or_default();
    assert!(digest.contains("1 more restart"), "{second}");
    daemon.shutdown().await;
    sim.shutdown();
}
