//! The API against its document: the simulator plays Heroku, the daemon runs on loopback with
//! a password and an API token, and `schemathesis` (a schema-driven fuzzer from PyPI, pinned
//! in `.ci/run`) sends what `docs/openapi.yaml` allows and a bounded number of variations of
//! it; any response the document does not describe (status, media type, body, headers), any
//! invalid input accepted, any missing auth check or any 5xx fails the test. Counted as ignored
//! (with how to enable it) unless `DYNOPILOT_TEST_SCHEMATHESIS` names the executable.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dynopilot_clock::SystemClock;
use dynopilot_core::Clock;
use dynopilot_core::policy::{self, ConfigDuration, ProcessTypeConfig};
use dynopilot_heroku::{ApiKey, ClientConfig};
use dynopilot_server::daemon::{self, AppSettings, DaemonSettings, LogSource};
use dynopilot_server::ingest::drain::DrainSettings;
use dynopilot_server::web::credentials::{ApiToken, Scope};
use dynopilot_server::web::{Credentials, WebSettings};
use dynopilot_sim::{AppSpec, SimConfig, Simulator};

const TOKEN: &str = "fuzz-token-0123456789abcdef";
/// Examples per operation and phase: about 2000 requests in all, about 40 s here.
const MAX_EXAMPLES: &str = "100";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schemathesis() -> PathBuf {
    let configured = std::env::var("DYNOPILOT_TEST_SCHEMATHESIS").unwrap_or_default();
    let path = PathBuf::from(configured);
    if path.is_absolute() {
        path
    } else {
        repo_root().join(path)
    }
}

fn policy() -> policy::Config {
    let mut config = policy::Config::new("shop");
    config.guardrails.deploy_freeze = ConfigDuration::from_secs(0);
    config.process_types.insert(
        "web".to_owned(),
        ProcessTypeConfig {
            min: Some(1),
            max: Some(4),
            ..ProcessTypeConfig::default()
        },
    );
    config
}

async fn start() -> (daemon::DaemonHandle, dynopilot_sim::SimHandle) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut sim_config = SimConfig::empty();
    sim_config.apps.push(AppSpec::plain(
        "shop",
        dynopilot_sim::config::DEMO_EMAIL,
        2,
        1,
    ));
    let sim = Simulator::start(sim_config, Arc::clone(&clock))
        .await
        .unwrap();
    let mut heroku = ClientConfig::new(ApiKey::new(sim.token.clone()));
    heroku.base_url = sim.base_url.clone();
    let listen = "127.0.0.1:0".parse().unwrap();
    let settings = DaemonSettings {
        options: Default::default(),
        listen,
        drain: DrainSettings {
            secret: "fuzz-drain-secret-0123".to_owned(),
            max_body_bytes: 1 << 20,
            max_in_flight: 8,
        },
        heroku,
        apps: vec![AppSettings {
            name: "shop".to_owned(),
            policy: policy(),
            log_source: LogSource::Drain,
        }],
        poll_interval: Duration::from_secs(1),
        tick: Duration::from_millis(500),
        reconcile_deadline: dynopilot_server::reconcile::DEFAULT_DEADLINE,
    };
    // Credentials on loopback: sign-in is required, so the fuzzer's auth checks apply.
    let mut web = WebSettings::for_listen(listen, Some(Credentials::plain("ops", "fuzz")));
    // The same bearer token opens the app's restart requests, so those get past the auth.
    web.restart_request_tokens = [("shop".to_owned(), TOKEN.to_owned())].into();
    web.tokens = vec![ApiToken::plain(
        "fuzzer",
        vec![Scope::Operate, Scope::Metrics],
        TOKEN,
    )];
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let daemon = daemon::start_with_web(settings, web, store, clock)
        .await
        .unwrap();
    (daemon, sim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(dynopilot_has_schemathesis),
    ignore = "needs schemathesis: python3 -m venv .tmp/pyenv && .tmp/pyenv/bin/pip install \
              schemathesis==4.32.5, then set DYNOPILOT_TEST_SCHEMATHESIS=.tmp/pyenv/bin/schemathesis"
)]
async fn the_api_matches_its_openapi_document() {
    let program = schemathesis();
    assert!(
        program.exists(),
        "DYNOPILOT_TEST_SCHEMATHESIS is set but {} does not exist",
        program.display()
    );
    let (daemon, sim) = start().await;
    let base = format!("http://127.0.0.1:{}", daemon.addr.port());
    // Let the poller learn the formation, so the app's views are not empty.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let started = SystemClock.now();
    let run = tokio::task::spawn_blocking(move || {
        std::process::Command::new(program)
            .arg("run")
            .arg(format!("{base}/api/v1/openapi.yaml"))
            .args(["--url", &base])
            .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
            .args(["--checks", "all"])
            // The document cannot say every limit that depends on two parameters at once
            // (a series range over 31 days, more than 2000 buckets): such valid-looking
            // requests get a documented 400, which this check would call a rejection.
            .args(["--exclude-checks", "positive_data_acceptance"])
            // Logplex frames (`application/logplex-1`) are no format the fuzzer can write;
            // the drain's answers are tested in drain.rs and web_security.rs.
            .args(["--exclude-path-regex", "^/drain/"])
            .args(["--max-examples", MAX_EXAMPLES])
            .args(["--seed", "19"])
            .args(["--request-timeout", "10"])
            .args(["--workers", "2"])
            .args(["--generation-database", "none"])
            .arg("--no-color")
            .current_dir(std::env::temp_dir())
            .output()
    });
    let output = run.await.unwrap().unwrap();
    let elapsed = SystemClock.now().since(started);
    daemon.shutdown().await;
    sim.shutdown();
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("schemathesis ran {elapsed:.1?}\n{report}");
    assert!(output.status.success(), "schemathesis failed:\n{report}");
}
