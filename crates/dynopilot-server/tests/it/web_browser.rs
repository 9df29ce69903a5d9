//! The dashboard in a real browser: the simulator plays Heroku, the daemon listens on
//! 0.0.0.0 (so login is required) and `e2e/dashboard.test.mjs` drives Debian's chromium
//! through playwright-core. Counted as ignored (with how to enable it) unless
//! `DYNOPILOT_TEST_BROWSER=1` (set by `.ci/run`, which installs them); then node, chromium or
//! `e2e/node_modules` missing is a failure.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dynopilot_clock::SystemClock;
use dynopilot_core::policy::{
    self, Action, Condition, ConfigDuration, Decision, ProcessTypeConfig, Reason, RuleAction,
    RuleConfig, Selector,
};
use dynopilot_core::scaling::{HorizontalConfig, Signal, TargetConfig};
use dynopilot_core::{Clock, Timestamp};
use dynopilot_heroku::{ApiKey, ClientConfig};
use dynopilot_server::daemon::{self, AppSettings, DaemonSettings, LogSource};
use dynopilot_server::ingest::Entry;
use dynopilot_server::ingest::drain::DrainSettings;
use dynopilot_server::web::{Credentials, WebSettings};
use dynopilot_sim::{AppSpec, SimConfig, Simulator};
use dynopilot_store::{DecisionRecord, SampleFilter, TimeRange};

const SECRET: &str = "browser-drain-secret";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Why the browser test cannot run here, if it cannot.
fn missing_tool() -> Option<&'static str> {
    let node = std::process::Command::new("node").arg("--version").output();
    if node.map(|o| !o.status.success()).unwrap_or(true) {
        return Some("node is not installed");
    }
    if !std::path::Path::new("/usr/bin/chromium").exists() {
        return Some("/usr/bin/chromium is missing (apt-get install chromium)");
    }
    if !repo_root()
        .join("e2e/node_modules/playwright-core")
        .exists()
    {
        return Some("e2e/node_modules is missing (npm ci in e2e/)");
    }
    None
}

fn policy() -> policy::Config {
    let mut config = policy::Config::new("shop");
    // The simulator's first release would otherwise freeze formation changes for 5 minutes.
    config.guardrails.deploy_freeze = ConfigDuration::from_secs(0);
    // Targets the charts draw as lines. web scales on load, which the feed never reports (so
    // that autoscaler holds); worker is not in the formation, so its queue target only shows.
    config.process_types.insert(
        "web".to_owned(),
        ProcessTypeConfig {
            min: Some(1),
            max: Some(6),
            autoscale: Some(target(Signal::LoadPerDyno, 2.0)),
            ..ProcessTypeConfig::default()
        },
    );
    config.process_types.insert(
        "worker".to_owned(),
        ProcessTypeConfig {
            autoscale: Some(target(Signal::QueueTimeP95, 200.0)),
            ..ProcessTypeConfig::default()
        },
    );
    config.rules.push(RuleConfig {
        name: "timeouts".to_owned(),
        selector: Selector {
            process_type: Some("web".to_owned()),
            dyno: None,
        },
        condition: Condition::Codes {
            codes: vec!["H12".to_owned()],
            at_least: 1,
            window: ConfigDuration::from_secs(10),
        },
        actions: vec![RuleAction::Scale { by: 1 }],
        cooldown: ConfigDuration::from_secs(15),
    });
    config
}

fn target(signal: Signal, value: f64) -> HorizontalConfig {
    HorizontalConfig::Target(TargetConfig {
        signal,
        target: value,
        ..TargetConfig::default()
    })
}

/// 200 journaled decisions in nine minutes, half an hour ago: the dense stretch of markers the
/// charts must cluster.
async fn dense_decisions(store: &dyn dynopilot_store::Store, now: Timestamp) {
    for i in 0..200u64 {
        let at = now
            .minus(Duration::from_secs(30 * 60))
            .plus(Duration::from_millis(i * 2700));
        let decision = Decision {
            id: format!("dense-{i}"),
            app: "shop".to_owned(),
            at,
            action: Action::ScaleFormation {
                process_type: "web".to_owned(),
                from: 2,
                to: 2 + u32::try_from(i % 2).unwrap(),
            },
            reason: Reason::Schedule {
                process_type: "web".to_owned(),
                quantity: 2,
                min: 2,
                max: 6,
                window: "flapping".to_owned(),
            },
            executed: false,
            dry_run: true,
            blocked: Vec::new(),
            limited_by: Vec::new(),
        };
        let record = DecisionRecord::from_decision(&decision).unwrap();
        store.insert_decision(&record).await.unwrap();
    }
}

fn iso(t: Timestamp) -> String {
    t.to_jiff().to_string()
}

/// Ten minutes of traffic and memory, then one H12 that makes the rule scale web 2 → 3.
fn feed(ingest: &dynopilot_server::ingest::Ingest, now: Timestamp) {
    for i in (1..=60).rev() {
        let at = iso(now.minus(Duration::from_secs(i * 10)));
        let ok = format!(
            "at=info method=GET path=/ host=shop.herokuapp.com request_id=r{i} fwd=1.2.3.4 dyno=web.1 connect=1ms service={}ms status=200 bytes=10 protocol=https",
            40 + i
        );
        let mb = 200.0 + (60 - i) as f64 * 3.0;
        let memory = format!(
            "source=web.1 dyno=heroku.1.e2e sample#memory_total={mb:.2}MB sample#memory_rss={mb:.2}MB sample#memory_cache=0.00MB sample#memory_swap=0.00MB sample#memory_pgpgin=1pages sample#memory_pgpgout=1pages sample#memory_quota=512.00MB"
        );
        let entries = [
            Entry {
                timestamp: &at,
                source: "heroku",
                process: "router",
                message: ok.as_bytes(),
                text: None,
            },
            Entry {
                timestamp: &at,
                source: "heroku",
                process: "web.1",
                message: memory.as_bytes(),
                text: None,
            },
        ];
        ingest.apply_entries("shop", entries);
    }
    let at = iso(now);
    let h12 = "at=error code=H12 desc=\"Request timeout\" method=GET path=/ host=shop.herokuapp.com request_id=t1 fwd=1.2.3.4 dyno=web.1 connect=1ms service=30001ms status=503 bytes=0 protocol=https";
    let entry = Entry {
        timestamp: &at,
        source: "heroku",
        process: "router",
        message: h12.as_bytes(),
        text: None,
    };
    ingest.apply_entries("shop", [entry]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(dynopilot_has_browser),
    ignore = "needs a browser: apt-get install chromium nodejs, npm ci in e2e/, set DYNOPILOT_TEST_BROWSER=1"
)]
async fn the_dashboard_works_in_a_browser() {
    if let Some(why) = missing_tool() {
        panic!("DYNOPILOT_TEST_BROWSER=1 but {why}");
    }
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
    let mut heroku = ClientConfig::new(ApiKey::new(sim.token.clone()));
    heroku.base_url = sim.base_url.clone();
    let listen = SocketAddr::from(([0, 0, 0, 0], 0));
    let settings = DaemonSettings {
        listen,
        drain: DrainSettings {
            secret: SECRET.to_owned(),
            max_body_bytes: 1 << 20,
            max_in_flight: 8,
        },
        heroku,
        apps: vec![AppSettings {
            name: "shop".to_owned(),
            policy: policy(),
            log_source: LogSource::Drain,
        }],
        poll_interval: Duration::from_millis(500),
        tick: Duration::from_millis(300),
        reconcile_deadline: dynopilot_server::reconcile::DEFAULT_DEADLINE,
        options: Default::default(),
    };
    let credentials = Credentials::plain("ops", "e2e-password");
    let web = WebSettings::for_listen(listen, Some(credentials));
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let daemon = daemon::start_with_web(settings, web, store, Arc::clone(&clock))
        .await
        .unwrap();
    // Let the poller learn the formation first, so the rule has a quantity to scale from.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    feed(&daemon.ingest, clock.now());
    let range = TimeRange::new(
        clock.now().minus(Duration::from_secs(3600)),
        clock.now().plus(Duration::from_secs(3600)),
    );
    for _ in 0..100 {
        let samples = daemon
            .store
            .samples("shop", &SampleFilter::AllDynos, range)
            .await
            .unwrap();
        let decisions = daemon.store.decisions("shop", range, 10).await.unwrap();
        if !samples.is_empty() && decisions.iter().any(|d| d.kind == "scale_formation") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    dense_decisions(daemon.store.as_ref(), clock.now()).await;
    let url = format!("http://127.0.0.1:{}", daemon.addr.port());
    let screenshots = repo_root().join("target/e2e-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    let e2e = repo_root().join("e2e");
    let drain_url = format!("{url}/drain/shop/{SECRET}");
    let node = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg("--test")
            .arg("dashboard.test.mjs")
            .current_dir(&e2e)
            .env("DASHBOARD_URL", &url)
            .env("DASHBOARD_USER", "ops")
            .env("DASHBOARD_PASSWORD", "e2e-password")
            .env("DRAIN_URL", drain_url)
            .env("SCREENSHOT_DIR", &screenshots)
            .status()
    });
    let status = node.await.unwrap().unwrap();
    daemon.shutdown().await;
    sim.shutdown();
    assert!(status.success(), "node --test failed: {status}");
}
