//! Agent reports from the apps, with the official packages: a small Python app on loopback
//! using `judoscale` (and one using `hirefire-resource`), pointed at dynopilot only by their
//! documented environment variables, reports web queue time and a job queue; the reports
//! arrive, parse, and scale web and worker on the simulator, with no log source at all. Bad
//! reports (malformed, wrong token, too big) are refused with a 4xx that says why, counted,
//! and the next good report still lands.
//!
//! The Python tests need `.tmp/pyenv` with judoscale==1.14.0 and hirefire-resource==1.0.4
//! (`.ci/run` installs them); without it they say SKIPPED, and fail under
//! `DYNOPILOT_REQUIRE_SERVICES=1`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::Clock;
use dynopilot_core::policy::{self, ProcessTypeConfig};
use dynopilot_core::scaling::{HorizontalConfig, QueueConfig, Signal, TargetConfig};
use dynopilot_server::config::{
    AgentsConfig, HireFireConfig, HireFirePull, HireFireValues, Secret,
};
use dynopilot_server::daemon::{self, DaemonHandle, LogSource};
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, SimHandle, Simulator};
use jiff::SignedDuration;

use super::scenarios::{quantity, settings, sim_client};

const JUDOSCALE_TOKEN: &str = "judoscale-token-0123456789";
const HIREFIRE_TOKEN: &str = "hirefire-token-0123456789";
const PIP: &str = "python3 -m venv .tmp/pyenv && .tmp/pyenv/bin/pip install judoscale==1.14.0 hirefire-resource==1.0.4";

fn python() -> Option<PathBuf> {
    let candidate = match std::env::var_os("DYNOPILOT_TEST_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tmp/pyenv/bin/python"),
    };
    let works = std::process::Command::new(&candidate)
        .args(["-c", "import judoscale, hirefire_resource"])
        .output()
        .is_ok_and(|o| o.status.success());
    works.then_some(candidate)
}

/// One of the Python apps in `agent_apps/`; killed on drop.
struct AgentApp {
    port: u16,
    child: std::process::Child,
}

impl Drop for AgentApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl AgentApp {
    /// `None` (after one visible line) when the venv is missing, unless
    /// `DYNOPILOT_REQUIRE_SERVICES=1`, where that fails the test.
    fn start(test: &str, script: &str, env: &[(&str, String)]) -> Option<AgentApp> {
        let Some(python) = python() else {
            if std::env::var("DYNOPILOT_REQUIRE_SERVICES").as_deref() == Ok("1") {
                panic!(
                    "DYNOPILOT_REQUIRE_SERVICES=1 but Python with judoscale and hirefire-resource is missing: run `{PIP}`"
                );
            }
            println!(
                "SKIPPED {test}: Python with judoscale and hirefire-resource is missing; run `{PIP}` or set DYNOPILOT_TEST_PYTHON"
            );
            return None;
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/agent_apps")
            .join(script);
        let mut cmd = std::process::Command::new(python);
        cmd.arg(script).stdout(std::process::Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        let port = line.trim().parse().expect("the app prints its port");
        // The libraries log to stdout: keep reading it so their writes never fail.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Some(AgentApp { port, child })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Web scales on queue time p95 (target 200 ms), workers on jobs per dyno (10).
fn policy() -> policy::Config {
    let mut config = policy::Config::new("shop");
    config.guardrails.deploy_freeze = policy::ConfigDuration::from_secs(0);
    let web = TargetConfig {
        signal: Signal::QueueTimeP95,
        target: 200.0,
        ..TargetConfig::default()
    };
    config.process_types.insert(
        "web".to_owned(),
        ProcessTypeConfig {
            min: Some(1),
            max: Some(3),
            autoscale: Some(HorizontalConfig::Target(web)),
            ..ProcessTypeConfig::default()
        },
    );
    let worker = QueueConfig {
        jobs_per_dyno: Some(10.0),
        up_cooldown: SignedDuration::from_secs(5),
        ..QueueConfig::default()
    };
    config.process_types.insert(
        "worker".to_owned(),
        ProcessTypeConfig {
            min: Some(1),
            max: Some(4),
            autoscale: Some(HorizontalConfig::Queue(worker)),
            ..ProcessTypeConfig::default()
        },
    );
    config
}

/// The simulator (one web, one worker) and the daemon with no log source at all.
async fn start(clock: &Arc<dyn Clock>) -> (SimHandle, DaemonHandle) {
    let mut config = dynopilot_sim::SimConfig::empty();
    config.apps.push(AppSpec::plain("shop", DEMO_EMAIL, 1, 1));
    let sim = Simulator::start(config, Arc::clone(clock)).await.unwrap();
    let mut settings = settings(&sim, policy());
    settings.apps[0].log_source = LogSource::None;
    settings.poll_interval = Duration::from_secs(1);
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let daemon = daemon::start(settings, store, Arc::clone(clock))
        .await
        .unwrap();
    (sim, daemon)
}

/// Requests that waited `queued_ms` in the router, as Heroku's X-Request-Start says.
async fn requests(app: &AgentApp, clock: &Arc<dyn Clock>, queued_ms: i64, n: usize) {
    let client = reqwest::Client::new();
    for _ in 0..n {
        let start = clock.now().as_millis() - queued_ms;
        let answer = client
            .get(format!("{}/", app.url()))
            .header("X-Request-Start", start.to_string())
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success());
    }
}

async fn metrics(daemon: &DaemonHandle) -> String {
    reqwest::get(format!("{}/metrics", daemon.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn counter(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Keeps the app's web requests queued while waiting for web and worker to scale up.
async fn until_scaled(sim: &SimHandle, app: &AgentApp, clock: &Arc<dyn Clock>) {
    let client = sim_client(sim, clock);
    let give_up = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        requests(app, clock, 1500, 5).await;
        let web = quantity(&client, "shop", "web").await;
        let worker = quantity(&client, "shop", "worker").await;
        if web > 1 && worker > 1 {
            assert!(worker <= 4 && web <= 3);
            return;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "no scale-up within 90 s: web {web}, worker {worker}; actions {:?}",
            sim.actions()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn judoscale_reports_from_the_official_package_scale_web_and_workers() {
    let clock: Arc<dyn Clock> = Arc::new(dynopilot_clock::SystemClock);
    let (sim, daemon) = start(&clock).await;
    let env = [
        (
            "JUDOSCALE_URL",
            format!("{}/agents/judoscale/{JUDOSCALE_TOKEN}", daemon.base_url()),
        ),
        ("DYNO", "web.1".to_owned()),
        ("JOB_DEPTH", "50".to_owned()),
        ("JOB_AGE_S", "120".to_owned()),
    ];
    let Some(app) = AgentApp::start("judoscale", "judoscale_app.py", &env) else {
        return;
    };
    let agents = AgentsConfig {
        judoscale_token: Some(Secret::new(JUDOSCALE_TOKEN)),
        ..AgentsConfig::default()
    };
    daemon.spawn_agents("shop", &agents);

    until_scaled(&sim, &app, &clock).await;
    let page = metrics(&daemon).await;
    let accepted = r#"dynopilot_agent_reports_total{protocol="judoscale",outcome="accepted"}"#;
    assert!(counter(&page, accepted) >= 1.0, "{page}");
    assert!(
        !page.contains(r#"process_type="web",policy="autoscale""#),
        "web's autoscaler is not blind without a log source"
    );
    drop(app);
    daemon.shutdown().await;
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hirefire_info_pulled_and_queue_times_pushed_by_the_official_package_scale_web_and_workers()
{
    let clock: Arc<dyn Clock> = Arc::new(dynopilot_clock::SystemClock);
    let (sim, daemon) = start(&clock).await;
    let env = [
        ("HIREFIRE_TOKEN", HIREFIRE_TOKEN.to_owned()),
        ("HIREFIRE_DISPATCH_URL", daemon.addr.to_string()),
        ("JOB_DEPTH", "50".to_owned()),
    ];
    let Some(app) = AgentApp::start("hirefire", "hirefire_app.py", &env) else {
        return;
    };
    let agents = AgentsConfig {
        hirefire: Some(HireFireConfig {
            token: Secret::new(HIREFIRE_TOKEN),
            pull: Some(HireFirePull {
                url: app.url(),
                values: HireFireValues::Depth,
                interval: Duration::from_secs(1),
                timeout: Duration::from_secs(1),
            }),
        }),
        ..AgentsConfig::default()
    };
    daemon.spawn_agents("shop", &agents);

    until_scaled(&sim, &app, &clock).await;
    let page = metrics(&daemon).await;
    for protocol in ["hirefire_push", "hirefire_pull"] {
        let accepted =
            format!(r#"dynopilot_agent_reports_total{{protocol="{protocol}",outcome="accepted"}}"#);
        assert!(counter(&page, &accepted) >= 1.0, "{protocol}: {page}");
    }
    drop(app);
    daemon.shutdown().await;
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_reports_are_refused_with_a_reason_counted_and_lose_nothing() {
    let clock: Arc<dyn Clock> = Arc::new(dynopilot_clock::SystemClock);
    let (sim, daemon) = start(&clock).await;
    let agents = AgentsConfig {
        judoscale_token: Some(Secret::new(JUDOSCALE_TOKEN)),
        hirefire: Some(HireFireConfig {
            token: Secret::new(HIREFIRE_TOKEN),
            pull: None,
        }),
        ..AgentsConfig::default()
    };
    daemon.spawn_agents("shop", &agents);
    let http = reqwest::Client::new();
    let reports = format!(
        "{}/agents/judoscale/{JUDOSCALE_TOKEN}/v3/reports",
        daemon.base_url()
    );
    let now = clock.now().as_millis() / 1000;
    let good = serde_json::json!({
        "container": "web.1", "pid": 1, "config": {},
        "metrics": [[now, 900, "qt", null], [now, 30, "qd", "default"], [now, 64, "up", null]],
    })
    .to_string();
    let huge = format!(
        r#"{{"container":"web.1","metrics":[{}]}}"#,
        vec![format!("[{now},900,\"qt\",null]"); 30_000].join(",")
    );
    let cases: [(&str, String, String, u16, &str); 5] = [
        (
            "malformed JSON",
            reports.clone(),
            "{\"metrics\": [".into(),
            400,
            "malformed report",
        ),
        (
            "not a metric tuple",
            reports.clone(),
            r#"{"metrics":[[1,2]]}"#.into(),
            400,
            "metrics[0]",
        ),
        (
            "wrong token",
            format!(
                "{}/agents/judoscale/not-the-token-0123456789/v3/reports",
                daemon.base_url()
            ),
            good.clone(),
            401,
            "unknown agent token",
        ),
        ("too big", reports.clone(), huge, 413, "larger than"),
        (
            "HireFire push without its token",
            format!("{}/", daemon.base_url()),
            r#"{"1":[5]}"#.into(),
            401,
            "unknown agent token",
        ),
    ];
    for (what, url, body, status, says) in cases {
        let request = http.post(&url).header("content-type", "application/json");
        let answer = request.body(body).send().await.unwrap();
        assert_eq!(answer.status().as_u16(), status, "{what}");
        let text = answer.text().await.unwrap();
        assert!(text.contains(says), "{what}: {text}");
    }
    // Nothing reached the state, and a good report right after is taken whole.
    {
        let fleet = daemon.ingest.fleet.lock().unwrap();
        let web = fleet
            .app("shop")
            .and_then(|a| a.observed.process_types.get("worker"));
        assert!(web.is_none_or(|w| w.queue.is_empty()));
    }
    let answer = http.post(&reports).body(good).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let applied: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(applied["queue_times"], 1, "{applied}");
    assert_eq!(applied["queue_samples"], 1, "{applied}");
    let pushed = http
        .post(format!("{}/", daemon.base_url()))
        .header("HireFire-Token", HIREFIRE_TOKEN)
        .body(format!(r#"{{"{now}":[12,40,3]}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status().as_u16(), 200);
    {
        let fleet = daemon.ingest.fleet.lock().unwrap();
        let worker = &fleet.app("shop").unwrap().observed.process_types["worker"];
        assert_eq!(worker.queue.last().map(|q| q.depth), Some(30));
    }
    let page = metrics(&daemon).await;
    for (outcome, n) in [
        ("malformed", 2.0),
        ("unknown_token", 1.0),
        ("too_large", 1.0),
        ("accepted", 1.0),
    ] {
        let series =
            format!(r#"dynopilot_agent_reports_total{{protocol="judoscale",outcome="{outcome}"}}"#);
        assert_eq!(counter(&page, &series), n, "{outcome}: {page}");
    }
    let push = r#"dynopilot_agent_reports_total{protocol="hirefire_push",outcome="unknown_token"}"#;
    assert_eq!(counter(&page, push), 1.0);
    daemon.shutdown().await;
    sim.shutdown();
}
