//! Alert delivery: cooling and digest, retries of transient failures, resuming pending rows
//! after a restart, a hanging channel that delays nothing, and a memory leak in the simulator
//! that ends as a restart alert received on loopback. Channels here are a test `Deliver` that
//! POSTs the event as JSON to a local axum receiver, which can be told to fail or hang.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use dynopilot_core::policy::{self, Action, Decision, MemoryGuardConfig, ProcessTypeConfig};
use dynopilot_core::{Clock, Timestamp};
use dynopilot_notify::route::DEFAULT_COOLING;
use dynopilot_notify::{
    AlertEvent, DefaultRoute, Deliver, DeliveryError, DeliveryFuture, EventSettings, Receipt,
    Routes,
};
use dynopilot_server::alerts::{AlertSettings, Dispatcher, RetryPolicy};
use dynopilot_server::daemon::{self, Alerting};
use dynopilot_server::web::WebSettings;
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, SimHandle};
use dynopilot_store::{DeliveryRecord, DeliveryState, Store};
use tokio_util::sync::CancellationToken;

use super::scenarios::{
    FastClock, SECRET, T0, memory_line, restarts_of, settings, start_sim, until_all_up,
};

/// What the receiver answers next, and what it got.
#[derive(Default)]
struct Script {
    /// Answer 500 to this many requests first.
    fail_next: u32,
    /// Never answer.
    hang: bool,
    requests: u32,
    /// (channel, event) of every request answered 200.
    received: Vec<(String, AlertEvent)>,
}

#[derive(Clone)]
pub(crate) struct Receiver {
    url: String,
    script: Arc<Mutex<Script>>,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = axum::Router::new()
            .route("/{channel}", post(receive))
            .with_state(Arc::clone(&script));
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, script }
    }

    pub(crate) fn received(&self) -> Vec<(String, AlertEvent)> {
        self.script.lock().unwrap().received.clone()
    }

    fn requests(&self) -> u32 {
        self.script.lock().unwrap().requests
    }
}

async fn receive(
    State(script): State<Arc<Mutex<Script>>>,
    Path(channel): Path<String>,
    body: axum::Json<AlertEvent>,
) -> StatusCode {
    let hang = {
        let mut s = script.lock().unwrap();
        s.requests += 1;
        if s.fail_next > 0 {
            s.fail_next -= 1;
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        if !s.hang {
            s.received.push((channel, body.0));
        }
        s.hang
    };
    if hang {
        std::future::pending::<()>().await;
    }
    StatusCode::OK
}

/// A channel per name: POST `{url}/{channel}`; 5xx and connection errors are transient.
pub(crate) struct HttpDeliver {
    url: String,
    client: reqwest::Client,
    channels: Vec<String>,
}

impl HttpDeliver {
    pub(crate) fn shared(receiver: &Receiver, channels: &[&str]) -> Arc<dyn Deliver> {
        Arc::new(HttpDeliver {
            url: receiver.url.clone(),
            client: reqwest::Client::new(),
            channels: channels.iter().map(|c| (*c).to_owned()).collect(),
        })
    }
}

impl Deliver for HttpDeliver {
    fn deliver<'a>(&'a self, channel: &'a str, event: &'a AlertEvent) -> DeliveryFuture<'a> {
        Box::pin(async move {
            let url = format!("{}/{channel}", self.url);
            let response = self
                .client
                .post(url)
                .json(event)
                .send()
                .await
                .map_err(|e| DeliveryError::transient(format!("connection failed: {e}")))?;
            let status = response.status();
            if status.is_success() {
                Ok(Receipt {
                    remote_id: None,
                    detail: format!("HTTP {}", status.as_u16()),
                })
            } else if status.is_server_error() {
                Err(DeliveryError::transient(format!(
                    "HTTP {}",
                    status.as_u16()
                )))
            } else {
                Err(DeliveryError::permanent(format!(
                    "HTTP {}",
                    status.as_u16()
                )))
            }
        })
    }

    fn channel_names(&self) -> Vec<String> {
        self.channels.clone()
    }
}

/// Everything to `hook`, ten-minute cooling, fast retries.
pub(crate) fn alert_settings() -> AlertSettings {
    AlertSettings {
        routes: Routes {
            routes: Vec::new(),
            default: DefaultRoute {
                min_severity: policy::Severity::Info,
                channels: vec!["hook".to_owned()],
            },
            cooling: DEFAULT_COOLING,
        },
        events: EventSettings {
            big_swing: 0,
            public_url: Some("https://pilot.example.com".to_owned()),
        },
        retry: RetryPolicy {
            max_attempts: 6,
            first_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(30),
            attempt_timeout: Duration::from_secs(5),
        },
        queue: 64,
    }
}

fn restart(id: &str, dyno: &str, at: Timestamp) -> Decision {
    Decision {
        id: id.to_owned(),
        app: "shop".to_owned(),
        at,
        action: Action::RestartDyno {
            dyno: dyno.to_owned(),
            instance_id: None,
        },
        reason: policy::Reason::Notify {
            event: "memory 480 MB ≥ 460 MB".to_owned(),
        },
        executed: true,
        dry_run: false,
        blocked: Vec::new(),
        limited_by: Vec::new(),
    }
}

/// A dispatcher on `store` with the test channel, running until the token is cancelled.
struct Running {
    sender: dynopilot_server::alerts::AlertSender,
    stats: Arc<dynopilot_server::alerts::AlertStats>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn run_dispatcher(store: &Arc<dyn Store>, clock: &Arc<dyn Clock>, receiver: &Receiver) -> Running {
    let dispatcher = Dispatcher::new(
        Arc::clone(store),
        Arc::clone(clock),
        HttpDeliver::shared(receiver, &["hook"]),
        alert_settings(),
    );
    let (sender, rx) = dispatcher.channel();
    let stats = dispatcher.stats();
    let stop = CancellationToken::new();
    let task = tokio::spawn(dispatcher.run(rx, stop.clone()));
    Running {
        sender,
        stats,
        stop,
        task,
    }
}

impl Running {
    async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap();
    }
}

async fn rows(store: &Arc<dyn Store>, app: &str) -> Vec<DeliveryRecord> {
    store.deliveries(app, 100).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_within_cooling_sends_nothing_and_the_next_message_carries_the_digest() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let receiver = Receiver::start().await;
    let run = run_dispatcher(&store, &clock, &receiver);

    let minute = |m: u64| T0.plus(Duration::from_secs(60 * m));
    run.sender.decision(&restart("d1", "worker.1", minute(0)));
    fast.until("first restart alert", Duration::from_secs(30), async || {
        receiver.received().len() == 1
    })
    .await;
    run.sender.decision(&restart("d2", "worker.2", minute(2)));
    run.sender.decision(&restart("d3", "worker.1", minute(4)));
    fast.sleep(Duration::from_secs(10)).await;
    assert_eq!(receiver.received().len(), 1, "nothing sent within cooling");
    // Eleven minutes after the first: cooling is over, the next restart carries the digest.
    run.sender.decision(&restart("d4", "worker.3", minute(11)));
    fast.until(
        "restart alert with digest",
        Duration::from_secs(30),
        async || receiver.received().len() == 2,
    )
    .await;
    let received = receiver.received();
    let (channel, first) = &received[0];
    assert_eq!(channel, "hook");
    assert_eq!(
        (first.topic.as_str(), first.digest.as_ref()),
        ("restart", None)
    );
    assert_eq!(
        first.link.as_deref(),
        Some("https://pilot.example.com/apps/shop#decision-d1")
    );
    let digest = received[1].1.digest.as_ref().expect("a digest");
    assert_eq!(digest.count, 2);
    assert_eq!(digest.since, minute(2));
    assert_eq!(digest.text, "and 2 more restarts of worker since 00:02");

    let journal = rows(&store, "shop").await;
    let count = |state| journal.iter().filter(|r| r.state == state).count();
    assert_eq!(count(DeliveryState::Sent), 2, "{journal:?}");
    assert_eq!(count(DeliveryState::DroppedByCooling), 2, "{journal:?}");
    let dropped: Vec<_> = run
        .stats
        .deliveries()
        .into_iter()
        .filter(|(_, outcome, _)| *outcome == "dropped_by_cooling")
        .collect();
    assert_eq!(dropped, [("hook".to_owned(), "dropped_by_cooling", 2)]);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_500s_then_200_is_one_sent_row_after_four_attempts() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let receiver = Receiver::start().await;
    receiver.script.lock().unwrap().fail_next = 3;
    let run = run_dispatcher(&store, &clock, &receiver);

    run.sender.decision(&restart("d1", "web.1", T0));
    // Backoff 2 s, 4 s, 8 s of simulated time.
    fast.until(
        "delivered after retries",
        Duration::from_secs(60),
        async || receiver.received().len() == 1,
    )
    .await;
    fast.sleep(Duration::from_secs(40)).await;
    assert_eq!(
        receiver.requests(),
        4,
        "three failures, one success, no more"
    );
    assert_eq!(receiver.received().len(), 1);
    let journal = rows(&store, "shop").await;
    assert_eq!(journal.len(), 1, "{journal:?}");
    let row = &journal[0];
    assert_eq!(row.state, DeliveryState::Sent);
    assert_eq!(row.attempts, 4);
    assert_eq!(row.receipt.as_deref(), Some("HTTP 200"));
    assert_eq!(row.last_error, None);
    let mut counts = run.stats.deliveries();
    counts.sort();
    assert_eq!(
        counts,
        [
            ("hook".to_owned(), "retried", 3),
            ("hook".to_owned(), "sent", 1)
        ]
    );
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_or_exhausted_retries_end_failed_with_the_reason() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let receiver = Receiver::start().await;
    receiver.script.lock().unwrap().fail_next = 100;
    let run = run_dispatcher(&store, &clock, &receiver);
    run.sender.decision(&restart("d1", "web.1", T0));
    // 6 attempts: pauses 2 + 4 + 8 + 16 + 30 s.
    fast.until("given up", Duration::from_secs(120), async || {
        rows(&store, "shop")
            .await
            .first()
            .is_some_and(|r| r.state == DeliveryState::Failed)
    })
    .await;
    let row = &rows(&store, "shop").await[0];
    assert_eq!(row.attempts, 6);
    assert_eq!(row.last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(receiver.requests(), 6);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_rows_left_by_a_stopped_daemon_are_delivered_once_and_sent_rows_never_again() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let dir = std::env::temp_dir().join(format!(
        "dynopilot-alerts-resume-{}-{}",
        std::process::id(),
        T0.as_millis()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("alerts.sqlite").display());
    let receiver = Receiver::start().await;

    // A run that journaled two deliveries and died before sending them, after sending a third.
    let store = dynopilot_store::open(&url).await.unwrap();
    let settings = EventSettings::default();
    for (id, dyno, state) in [
        ("p1", "web.1", DeliveryState::Pending),
        ("p2", "web.2", DeliveryState::Pending),
        ("s1", "web.3", DeliveryState::Sent),
    ] {
        let event = dynopilot_notify::event_for(&restart(id, dyno, T0), &settings).unwrap();
        let row = DeliveryRecord {
            event_id: event.id.clone(),
            channel: "hook".to_owned(),
            app: "shop".to_owned(),
            topic: event.topic.clone(),
            decision_id: event.decision_id.clone(),
            state,
            attempts: u32::from(state == DeliveryState::Sent),
            next_attempt_at: (state == DeliveryState::Pending).then_some(T0),
            last_error: None,
            receipt: None,
            created_at: T0,
            updated_at: T0,
            event: serde_json::to_value(&event).unwrap(),
        };
        assert!(store.insert_delivery(&row).await.unwrap());
    }
    store.close().await.unwrap();

    for _ in 0..2 {
        let store = dynopilot_store::open(&url).await.unwrap();
        let run = run_dispatcher(&store, &clock, &receiver);
        fast.sleep(Duration::from_secs(10)).await;
        run.stop().await;
        store.close().await.unwrap();
    }
    let mut got: Vec<String> = receiver
        .received()
        .iter()
        .map(|(_, e)| e.decision_id.clone().unwrap())
        .collect();
    got.sort();
    assert_eq!(
        got,
        ["p1", "p2"],
        "each pending row once, the sent one never"
    );
    let store = dynopilot_store::open(&url).await.unwrap();
    assert!(
        rows(&store, "shop")
            .await
            .iter()
            .all(|r| r.state == DeliveryState::Sent)
    );
    store.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Memory guard on web: two samples over 90 % of 512 MB.
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

async fn start_alerting_daemon(
    sim: &SimHandle,
    clock: &Arc<dyn Clock>,
    receiver: &Receiver,
) -> daemon::DaemonHandle {
    let settings = settings(sim, guard_policy());
    let web = WebSettings::for_listen(settings.listen, None);
    let alerting = Alerting {
        deliver: HttpDeliver::shared(receiver, &["hook"]),
        settings: alert_settings(),
    };
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let daemon = daemon::start_with_alerts(settings, web, Some(alerting), store, Arc::clone(clock))
        .await
        .unwrap();
    super::scenarios::sim_client(sim, clock)
        .log_drain_add(
            "shop",
            &format!("{}/drain/shop/{SECRET}", daemon.base_url()),
        )
        .await
        .unwrap();
    daemon
}

fn leak(sim: &SimHandle, clock: &Arc<dyn Clock>, dyno: &str) {
    let now = clock.now();
    for (i, mb) in [480.0, 495.0].into_iter().enumerate() {
        let at = now.plus(Duration::from_secs(i as u64));
        assert!(sim.emit("shop", memory_line(at, dyno, mb)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leak_in_the_simulator_ends_as_a_restart_alert_on_loopback() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 3, 0), &clock).await;
    let receiver = Receiver::start().await;
    let daemon = start_alerting_daemon(&sim, &clock, &receiver).await;
    fast.until(
        "dynopilot-started received",
        Duration::from_secs(20),
        async || {
            receiver
                .received()
                .iter()
                .any(|(_, e)| e.topic == "dynopilot-started")
        },
    )
    .await;
    fast.sleep(Duration::from_secs(2)).await;
    leak(&sim, &clock, "web.1");
    fast.until(
        "restart alert received",
        Duration::from_secs(30),
        async || {
            receiver
                .received()
                .iter()
                .any(|(_, e)| e.topic == "restart")
        },
    )
    .await;
    assert_eq!(restarts_of(&sim, "shop", "web.1"), 1);
    let received = receiver.received();
    let alert = &received
        .iter()
        .find(|(_, e)| e.topic == "restart")
        .unwrap()
        .1;
    assert_eq!(alert.app, "shop");
    assert_eq!(alert.dyno.as_deref(), Some("web.1"));
    assert_eq!(alert.process_type.as_deref(), Some("web"));
    assert!(
        alert.message.starts_with("restart web.1 (memory"),
        "{}",
        alert.message
    );
    assert_eq!(alert.dedup_key, "shop/restart/web");

    // The journal, /metrics and the JSON API all show it.
    let sent = rows(&daemon.store, "shop").await;
    assert!(
        sent.iter()
            .any(|r| r.topic == "restart" && r.state == DeliveryState::Sent),
        "{sent:?}"
    );
    let metrics = reqwest::get(format!("{}/metrics", daemon.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"dynopilot_alert_deliveries_total{channel="hook",outcome="sent"} 2"#),
        "{metrics}"
    );
    let api: serde_json::Value = reqwest::get(format!(
        "{}/api/v1/apps/shop/notifications",
        daemon.base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let first = &api[0];
    assert_eq!(first["topic"], "restart", "{api}");
    assert_eq!(first["channel"], "hook");
    assert_eq!(first["outcome"], "sent");
    let page = reqwest::get(format!("{}/apps/shop/panel", daemon.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"<table class="notifications""#), "{page}");
    assert!(
        page.contains(r#"<tr class="notification sent"><td class="when">"#),
        "{page}"
    );
    assert!(page.contains("<td>restart</td><td>hook</td><td>shop: restart web.1</td><td>sent</td><td>HTTP 200</td>"), "{page}");

    daemon.shutdown().await;
    assert!(
        receiver
            .received()
            .iter()
            .any(|(_, e)| e.topic == "dynopilot-stopped"),
        "the stopped message goes out on shutdown"
    );
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_channel_never_delays_the_runner_or_the_executor() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 3, 0), &clock).await;
    let receiver = Receiver::start().await;
    receiver.script.lock().unwrap().hang = true;
    let daemon = start_alerting_daemon(&sim, &clock, &receiver).await;
    fast.sleep(Duration::from_secs(2)).await;
    // Leaks on two dynos, one after another: each restart lands as fast as without alerts
    // (the scenario tests allow 30 s), while every alert hangs at the receiver.
    let client = super::scenarios::sim_client(&sim, &clock);
    for dyno in ["web.1", "web.2"] {
        until_all_up(&fast, &client, "shop", 3).await;
        leak(&sim, &clock, dyno);
        fast.until(
            &format!("{dyno} restarted"),
            Duration::from_secs(30),
            async || restarts_of(&sim, "shop", dyno) == 1,
        )
        .await;
    }
    assert!(receiver.received().is_empty());
    assert!(receiver.requests() >= 1, "the channel was called and hung");
    // Calls time out (5 s) and are retried; nothing was delivered, so nothing is sent.
    fast.until(
        "a timed-out attempt journaled",
        Duration::from_secs(30),
        async || {
            rows(&daemon.store, "dynopilot")
                .await
                .iter()
                .any(|r| r.last_error.as_deref() == Some("timed out after 5 s"))
        },
    )
    .await;
    let journal = rows(&daemon.store, "shop").await;
    assert!(
        journal.iter().all(|r| r.state != DeliveryState::Sent),
        "{journal:?}"
    );
    // The first restart's alert is pending (retrying); the second cooled behind it.
    assert!(
        journal
            .iter()
            .any(|r| r.state == DeliveryState::Pending && r.attempts >= 1),
        "{journal:?}"
    );
    daemon.shutdown().await;
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_webhook_action_is_delivered_to_its_named_channel() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let receiver = Receiver::start().await;
    let run = run_dispatcher(&store, &clock, &receiver);
    let mut hook = restart("w1", "web.1", T0);
    hook.action = Action::RunHook {
        name: "pager".to_owned(),
    };
    hook.reason = policy::Reason::RuleCodes {
        rule: "router-timeouts".to_owned(),
        target: "web".to_owned(),
        codes: vec!["H12".to_owned()],
        count: 12,
        at_least: 10,
        window: policy::ConfigDuration::from_mins(5),
    };
    run.sender.decision(&hook);
    fast.until(
        "webhook action delivered",
        Duration::from_secs(30),
        async || receiver.received().len() == 1,
    )
    .await;
    let (channel, event) = &receiver.received()[0];
    assert_eq!(
        channel, "pager",
        "the rule names the channel; routes are not asked"
    );
    assert_eq!(event.topic, "rule:router-timeouts");
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handing_over_never_waits_and_a_full_queue_is_counted() {
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(dynopilot_core::ManualClock::new(T0));
    let receiver = Receiver::start().await;
    let settings = AlertSettings {
        queue: 2,
        ..alert_settings()
    };
    let dispatcher = Dispatcher::new(
        Arc::clone(&store),
        clock,
        HttpDeliver::shared(&receiver, &["hook"]),
        settings,
    );
    // The dispatcher is not running: nothing drains the queue.
    let (sender, _rx) = dispatcher.channel();
    for i in 0..5 {
        sender.decision(&restart(&format!("d{i}"), "web.1", T0));
    }
    assert_eq!(dispatcher.stats().handoffs_dropped(), 3);
}
