//! End to end over real HTTP on loopback: the simulator plays Heroku (API and drains), the
//! daemon receives the drain, decides, and acts through the Platform API.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dynopilot_clock::SystemClock;
use dynopilot_core::policy::{self, MemoryGuardConfig, ProcessTypeConfig};
use dynopilot_core::{Clock, Timestamp};
use dynopilot_heroku::{ApiKey, ClientConfig, HerokuClient, RequestBudget};
use dynopilot_logplex::encode;
use dynopilot_logplex::message::MemorySample;
use dynopilot_server::daemon::{self, AppSettings, DaemonHandle, DaemonSettings, LogSource};
use dynopilot_server::ingest::drain::DrainSettings;
use dynopilot_sim::{AppSpec, LogRecord, SimConfig, SimHandle, Simulator};

const SECRET: &str = "e2e-drain-secret";

struct Setup {
    sim: SimHandle,
    daemon: DaemonHandle,
    clock: Arc<dyn Clock>,
}

fn shop_policy(dry_run: bool) -> policy::Config {
    let mut config = policy::Config::new("shop");
    config.guardrails.dry_run = dry_run;
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

async fn setup(dry_run: bool) -> Setup {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut sim_config = SimConfig::empty();
    sim_config.apps.push(AppSpec::plain(
        "shop",
        dynopilot_sim::config::DEMO_EMAIL,
        2,
        0,
    ));
    let sim = Simulator::start(sim_config, Arc::clone(&clock))
        .await
        .unwrap();
    // The memory guard is blind without runtime metrics.
    sim_client(&sim, &clock)
        .feature_update("shop", dynopilot_heroku::LOG_RUNTIME_METRICS, true)
        .await
        .unwrap();
    let mut heroku = ClientConfig::new(ApiKey::new(sim.token.clone()));
    heroku.base_url = sim.base_url.clone();
    let settings = DaemonSettings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        drain: DrainSettings {
            secret: SECRET.to_owned(),
            max_body_bytes: 1 << 20,
            max_in_flight: 8,
        },
        heroku,
        apps: vec![AppSettings {
            name: "shop".to_owned(),
            policy: shop_policy(dry_run),
            log_source: LogSource::Drain,
        }],
        poll_interval: Duration::from_millis(500),
        tick: Duration::from_millis(200),
        reconcile_deadline: dynopilot_server::reconcile::DEFAULT_DEADLINE,
        options: Default::default(),
    };
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let daemon = daemon::start(settings, store, Arc::clone(&clock))
        .await
        .unwrap();
    let client = sim_client(&sim, &clock);
    client
        .log_drain_add(
            "shop",
            &format!("{}/drain/shop/{SECRET}", daemon.base_url()),
        )
        .await
        .unwrap();
    Setup { sim, daemon, clock }
}

fn sim_client(sim: &SimHandle, clock: &Arc<dyn Clock>) -> HerokuClient {
    let mut config = ClientConfig::new(ApiKey::new(sim.token.clone()));
    config.base_url = sim.base_url.clone();
    HerokuClient::new(
        config,
        Arc::clone(clock),
        Arc::new(RequestBudget::new(Arc::clone(clock))),
    )
    .unwrap()
}

fn leak_line(at: Timestamp, mb: f64) -> LogRecord {
    let sample = MemorySample {
        source: Some("web.1"),
        dyno_id: Some("heroku.1.4b88c98d-6243-4194-af49-8db9b53be371"),
        total_mb: Some(mb),
        rss_mb: Some(mb),
        cache_mb: Some(0.0),
        swap_mb: Some(0.0),
        pgpgin_pages: Some(1),
        pgpgout_pages: Some(1),
        quota_mb: Some(512.0),
        quota_pct: None,
    };
    LogRecord::new(at, "heroku", "web.1", encode::memory(&sample))
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

fn restarts_of(sim: &SimHandle, dyno: &str) -> usize {
    let path = format!("/apps/shop/dynos/{dyno}");
    sim.actions()
        .iter()
        .filter(|a| a.method == "DELETE" && a.path == path)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaking_dyno_is_restarted_with_its_reason_journaled() {
    let s = setup(false).await;
    let now = s.clock.now();
    for (i, mb) in [480.0, 490.0].into_iter().enumerate() {
        s.sim.emit(
            "shop",
            leak_line(now.plus(Duration::from_secs(i as u64)), mb),
        );
    }
    eventually("the simulator receives the restart of web.1", || {
        restarts_of(&s.sim, "web.1") == 1
    })
    .await;
    let range = dynopilot_store::TimeRange {
        start: Timestamp::EPOCH,
        end: s.clock.now().plus(Duration::from_secs(60)),
    };
    let decisions = s.daemon.store.decisions("shop", range, 10).await.unwrap();
    let restart = decisions
        .iter()
        .find(|d| d.kind == "restart_dyno")
        .expect("journaled");
    assert!(restart.executed && !restart.dry_run);
    assert_eq!(restart.decision["action"]["dyno"], "web.1");
    assert!(restart.reason.starts_with("memory"), "{}", restart.reason);
    eventually("the action is recorded as ok", || true).await;
    let actions = s.daemon.store.actions("shop", range, 10).await.unwrap();
    assert!(actions.iter().any(|a| a.decision_id == restart.id && a.outcome == dynopilot_store::ActionOutcome::Ok), "{actions:?}");
    // More high samples within the cooldown do not restart it again.
    let later = s.clock.now();
    for i in 0..3 {
        s.sim
            .emit("shop", leak_line(later.plus(Duration::from_secs(i)), 500.0));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(restarts_of(&s.sim, "web.1"), 1);
    s.daemon.shutdown().await;
    s.sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_journals_the_same_decision_without_calling_heroku() {
    let s = setup(true).await;
    let now = s.clock.now();
    for (i, mb) in [480.0, 490.0].into_iter().enumerate() {
        s.sim.emit(
            "shop",
            leak_line(now.plus(Duration::from_secs(i as u64)), mb),
        );
    }
    let store = Arc::clone(&s.daemon.store);
    let range = dynopilot_store::TimeRange {
        start: Timestamp::EPOCH,
        end: s.clock.now().plus(Duration::from_secs(60)),
    };
    let mut found = None;
    for _ in 0..100 {
        let decisions = store.decisions("shop", range, 10).await.unwrap();
        if let Some(d) = decisions.into_iter().find(|d| d.kind == "restart_dyno") {
            found = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let decision = found.expect("dry-run decision journaled");
    assert!(decision.dry_run && !decision.executed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(restarts_of(&s.sim, "web.1"), 0);
    s.daemon.shutdown().await;
    s.sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_the_key_cannot_see_is_marked_in_error_at_start() {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sim = Simulator::start(SimConfig::empty(), Arc::clone(&clock))
        .await
        .unwrap();
    let mut heroku = ClientConfig::new(ApiKey::new(sim.token.clone()));
    heroku.base_url = sim.base_url.clone();
    let settings = DaemonSettings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        drain: DrainSettings {
            secret: SECRET.to_owned(),
            max_body_bytes: 1 << 20,
            max_in_flight: 8,
        },
        heroku,
        apps: vec![AppSettings {
            name: "nope".to_owned(),
            policy: policy::Config::new("nope"),
            log_source: LogSource::Drain,
        }],
        poll_interval: Duration::from_secs(1),
        tick: Duration::from_secs(1),
        reconcile_deadline: dynopilot_server::reconcile::DEFAULT_DEADLINE,
        options: Default::default(),
    };
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    // One app's trouble does not stop the daemon: the app is marked in error instead.
    let daemon = daemon::start(settings, store, clock)
        .await
        .expect("starts despite an invisible app");
    let error = {
        let fleet = daemon.ingest.fleet.lock().unwrap();
        fleet.app("nope").unwrap().status.error.clone()
    };
    let error = error.expect("marked in error");
    assert_eq!(error.kind, "not_found");
    assert!(error.message.contains("404"), "{}", error.message);
    daemon.shutdown().await;
    sim.shutdown();
}
