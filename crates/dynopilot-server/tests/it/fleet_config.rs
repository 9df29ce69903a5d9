//! Config that fits real fleets, against the simulator over loopback: each app acting with its
//! own API key (the simulator answers 403 to another account's key), discovery refreshed while
//! running (an app created in the simulator is picked up, a deleted one retired, both alerted),
//! and a cut Platform API raising one `api-failing` alert and an `api-recovered` resolve.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::policy;
use dynopilot_core::{Clock, Timestamp};
use dynopilot_heroku::{ApiKey, RetryPolicy};
use dynopilot_notify::EventKind;
use dynopilot_server::daemon::{self, Alerting, AppSettings, DaemonHandle, LogSource};
use dynopilot_server::discovery::DiscoverySettings;
use dynopilot_server::web::WebSettings;
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, SimConfig, SimHandle, Simulator};
use dynopilot_store::TimeRange;
use serde_json::Value;

use super::alerts::{HttpDeliver, Receiver, alert_settings};
use super::scenarios::{FastClock, settings};

const OTHER_EMAIL: &str = "partner@example.com";
const OTHER_TOKEN: &str = "sim-partner-fedcba9876543210";

fn app(name: &str, log_source: LogSource) -> AppSettings {
    AppSettings {
        name: name.to_owned(),
        policy: policy::Config::new(name),
        log_source,
    }
}

async fn get(daemon: &DaemonHandle, path: &str) -> Value {
    reqwest::get(format!("{}{path}", daemon.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn names(apps: &Value) -> BTreeSet<String> {
    apps.as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect()
}

fn everything() -> TimeRange {
    TimeRange {
        start: Timestamp::EPOCH,
        end: Timestamp::from_millis(i64::MAX / 2),
    }
}

/// Topics (and kinds) the receiver got for `app`.
fn alerts_of(receiver: &Receiver, app: &str) -> Vec<(String, EventKind)> {
    receiver
        .received()
        .into_iter()
        .filter(|(_, e)| e.app == app)
        .map(|(_, e)| (e.topic, e.kind))
        .collect()
}

async fn start(
    settings: daemon::DaemonSettings,
    clock: &Arc<dyn Clock>,
    receiver: &Receiver,
) -> DaemonHandle {
    let web = WebSettings::for_listen(settings.listen, None);
    let alerting = Alerting {
        deliver: HttpDeliver::shared(receiver, &["hook"]),
        settings: alert_settings(),
    };
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    daemon::start_with_alerts(settings, web, Some(alerting), store, Arc::clone(clock))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_app_polls_and_tails_with_its_own_api_key() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let config = SimConfig::empty()
        .with_account(OTHER_EMAIL, OTHER_TOKEN)
        .with_app(AppSpec::plain("shop", DEMO_EMAIL, 1, 0))
        .with_app(AppSpec::plain("partner-shop", OTHER_EMAIL, 2, 0));
    let sim = Simulator::start(config, Arc::clone(&clock)).await.unwrap();
    let mut s = settings(&sim, policy::Config::new("shop"));
    s.apps = vec![
        app("shop", LogSource::None),
        app("partner-shop", LogSource::LogSession),
    ];
    s.options.app_keys = BTreeMap::from([("partner-shop".to_owned(), ApiKey::new(OTHER_TOKEN))]);
    let receiver = Receiver::start().await;
    let daemon = start(s, &clock, &receiver).await;

    fast.until("both apps polled", Duration::from_secs(60), async || {
        let apps = get(&daemon, "/api/v1/apps").await;
        apps.as_array()
            .unwrap()
            .iter()
            .all(|a| a.get("error").is_none() && a["dynos_total"].as_u64().unwrap_or(0) >= 1)
    })
    .await;
    let partner = get(&daemon, "/api/v1/apps/partner-shop").await;
    assert_eq!(partner["dynos_total"], 2, "{partner}");
    // The log session of the partner's app was opened with the partner's key: the simulator
    // records which account made each write.
    let sessions: Vec<_> = sim
        .actions()
        .into_iter()
        .filter(|a| a.path == "/apps/partner-shop/log-sessions")
        .collect();
    assert!(!sessions.is_empty(), "a log session was opened");
    assert!(
        sessions
            .iter()
            .all(|a| a.account_email == OTHER_EMAIL && a.status < 300),
        "{sessions:?}"
    );
    daemon.shutdown().await;

    // The same daemon without the partner's key: the app is forbidden to the default key.
    let mut s = settings(&sim, policy::Config::new("shop"));
    s.apps = vec![
        app("shop", LogSource::None),
        app("partner-shop", LogSource::None),
    ];
    let daemon = start(s, &clock, &receiver).await;
    let partner = get(&daemon, "/api/v1/apps/partner-shop").await;
    assert_eq!(partner["error"]["kind"], "forbidden", "{partner}");
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_picks_up_a_new_app_and_retires_a_deleted_one() {
    let fast = FastClock::start(20);
    let clock = fast.dyn_clock();
    let config = SimConfig::empty().with_app(AppSpec::plain("shop", DEMO_EMAIL, 1, 0));
    let sim = Simulator::start(config, Arc::clone(&clock)).await.unwrap();
    let mut s = settings(&sim, policy::Config::new("shop"));
    s.apps = vec![app("shop", LogSource::None)];
    s.options.discovery = Some(DiscoverySettings {
        refresh: Duration::from_secs(30),
        log_source: LogSource::LogSession,
        policy: Arc::new(|app: &str, _types: &[String]| policy::Config::new(app)),
        listed: BTreeSet::new(),
    });
    let receiver = Receiver::start().await;
    let daemon = start(s, &clock, &receiver).await;
    assert_eq!(
        names(&get(&daemon, "/api/v1/apps").await),
        ["shop".to_owned()].into()
    );

    sim.create_app(&AppSpec::plain("shop-eu", DEMO_EMAIL, 2, 0))
        .unwrap();
    fast.until(
        "the new app is watched",
        Duration::from_secs(90),
        async || names(&get(&daemon, "/api/v1/apps").await).contains("shop-eu"),
    )
    .await;
    fast.until(
        "the new app is polled",
        Duration::from_secs(60),
        async || get(&daemon, "/api/v1/apps/shop-eu").await["dynos_total"] == 2,
    )
    .await;
    fast.until(
        "app-discovered alert",
        Duration::from_secs(30),
        async || {
            alerts_of(&receiver, "shop-eu")
                .contains(&("app-discovered".to_owned(), EventKind::Trigger))
        },
    )
    .await;
    // Its log session was opened (the discovered log source).
    assert!(
        sim.actions()
            .iter()
            .any(|a| a.path == "/apps/shop-eu/log-sessions" && a.status < 300)
    );

    assert!(sim.delete_app("shop-eu"));
    fast.until(
        "the deleted app is retired",
        Duration::from_secs(90),
        async || !names(&get(&daemon, "/api/v1/apps").await).contains("shop-eu"),
    )
    .await;
    fast.until("app-retired alert", Duration::from_secs(30), async || {
        alerts_of(&receiver, "shop-eu").contains(&("app-retired".to_owned(), EventKind::Trigger))
    })
    .await;
    // Both changes are journaled decisions of the app, kept in the store after retirement.
    let journal = daemon
        .store
        .decisions("shop-eu", everything(), 100)
        .await
        .unwrap();
    let topics: Vec<String> = journal
        .iter()
        .map(|d| {
            d.decision["action"]["topic"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(topics.contains(&"app-discovered".to_owned()), "{topics:?}");
    assert!(topics.contains(&"app-retired".to_owned()), "{topics:?}");
    // The listed app was never announced: it is watched by name.
    assert!(alerts_of(&receiver, "shop").is_empty());
    let response = reqwest::get(format!("{}/api/v1/apps/shop-eu", daemon.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_platform_api_raises_one_api_failing_alert_and_a_resolve() {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let spec = || SimConfig::empty().with_app(AppSpec::plain("shop", DEMO_EMAIL, 1, 0));
    let sim = Simulator::start(spec(), Arc::clone(&clock)).await.unwrap();
    let addr: SocketAddr = sim.addr;
    let mut s = settings(&sim, policy::Config::new("shop"));
    s.apps = vec![app("shop", LogSource::None)];
    s.poll_interval = Duration::from_secs(5);
    s.options.api_failing_after = 3;
    // One attempt per call: the streak counts polls, not the client's retries.
    s.heroku.retry = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    let receiver = Receiver::start().await;
    let daemon = start(s, &clock, &receiver).await;
    fast.until("first poll", Duration::from_secs(30), async || {
        get(&daemon, "/api/v1/apps/shop").await["dynos_total"] == 1
    })
    .await;

    sim.shutdown();
    drop(sim);
    fast.until("api-failing alert", Duration::from_secs(120), async || {
        alerts_of(&receiver, "shop").contains(&("api-failing".to_owned(), EventKind::Trigger))
    })
    .await;
    // More failed polls raise nothing more.
    fast.sleep(Duration::from_secs(30)).await;
    let failing = alerts_of(&receiver, "shop")
        .iter()
        .filter(|(t, _)| t == "api-failing")
        .count();
    assert_eq!(failing, 1, "{:?}", receiver.received());

    // The same simulator comes back on the same address.
    let mut config = spec();
    config.addr = addr;
    let _sim = start_again(config, &clock).await;
    fast.until(
        "api-recovered resolve",
        Duration::from_secs(120),
        async || {
            alerts_of(&receiver, "shop").contains(&("api-recovered".to_owned(), EventKind::Resolve))
        },
    )
    .await;
    let received = receiver.received();
    let (_, resolve) = received
        .iter()
        .find(|(_, e)| e.topic == "api-recovered")
        .unwrap();
    let (_, trigger) = received
        .iter()
        .find(|(_, e)| e.topic == "api-failing")
        .unwrap();
    assert_eq!(resolve.dedup_key, trigger.dedup_key, "one condition");
    daemon.shutdown().await;
}

/// The port of a stopped simulator may take a moment to be free again.
async fn start_again(config: SimConfig, clock: &Arc<dyn Clock>) -> SimHandle {
    for _ in 0..50 {
        if let Ok(sim) = Simulator::start(config.clone(), Arc::clone(clock)).await {
            return sim;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the simulator's address stayed busy");
}
