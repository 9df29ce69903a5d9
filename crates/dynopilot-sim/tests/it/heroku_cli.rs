//! The official `heroku` CLI (npm, pinned; `scripts/install-heroku-cli.sh` puts it in
//! `.tmp/heroku-cli`) run against the simulator: every command people use on a running app,
//! with `--json` where the CLI has it, checked on its output and on the simulator's state
//! afterwards. Without the CLI the suite prints one skip line, or fails under
//! `DYNOPILOT_REQUIRE_SERVICES=1`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use dynopilot_core::Clock;
use dynopilot_sim::LogRecord;
use reqwest::Method;
use serde_json::Value;

use super::harness::{APP, Sim};

/// The installed CLI's entry point, or `None` (with the skip line printed) when it is missing.
fn heroku_cli() -> Option<PathBuf> {
    let path = std::env::var_os("DYNOPILOT_HEROKU_CLI").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../.tmp/heroku-cli/node_modules/heroku/bin/run.js"
            ))
        },
        PathBuf::from,
    );
    let node = Command::new("node").arg("--version").output();
    if path.exists() && node.is_ok_and(|o| o.status.success()) {
        return Some(path);
    }
    let why = format!(
        "node and {} are needed (run scripts/install-heroku-cli.sh, or set DYNOPILOT_HEROKU_CLI)",
        path.display()
    );
    assert!(
        std::env::var("DYNOPILOT_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "DYNOPILOT_REQUIRE_SERVICES=1 but for the official heroku CLI suite {why}"
    );
    // One line for the whole suite, not one per test.
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| eprintln!("skipped the official heroku CLI suite: {why}"));
    None
}

/// Runs the CLI with a throwaway home, pointed at the simulator by `HEROKU_HOST` and
/// `HEROKU_API_KEY`, with telemetry and update checks off (there is no network).
struct Cli {
    entry: PathBuf,
    home: PathBuf,
    host: String,
    key: String,
}

impl Cli {
    fn new(entry: PathBuf, sim: &Sim) -> Cli {
        let home =
            std::env::temp_dir().join(format!("dynopilot-heroku-cli-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&home).unwrap();
        Cli {
            entry,
            home,
            host: sim.handle.base_url.clone(),
            key: sim.handle.token.clone(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("node");
        command
            .arg(&self.entry)
            .args(args)
            .env_clear()
            .env("PATH", self.path())
            .env("HOME", &self.home)
            .env("XDG_CACHE_HOME", self.home.join("cache"))
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("XDG_DATA_HOME", self.home.join("data"))
            .env("HEROKU_HOST", &self.host)
            .env("HEROKU_API_KEY", &self.key)
            .env("DISABLE_TELEMETRY", "true")
            .env("HEROKU_SKIP_NEW_VERSION_CHECK", "1")
            .env("NO_COLOR", "1")
            .env("TERM", "dumb")
            .env("COLUMNS", "200")
            .stdin(Stdio::null());
        command
    }

    /// The CLI's own `node_modules/.bin` first (its hooks spawn `heroku`), then the caller's.
    fn path(&self) -> std::ffi::OsString {
        let bin = self
            .entry
            .ancestors()
            .nth(3)
            .map(|modules| modules.join(".bin"))
            .unwrap_or_default();
        let rest = std::env::var_os("PATH").unwrap_or_default();
        std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&rest)))
            .unwrap_or(rest)
    }

    /// Runs to the end; panics with both streams when it fails.
    async fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args).await;
        let (stdout, stderr) = texts(&output);
        assert!(
            output.status.success(),
            "heroku {}: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            args.join(" "),
            output.status
        );
        stdout
    }

    async fn json(&self, args: &[&str]) -> Value {
        let stdout = self.ok(args).await;
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("heroku {}: {e}\n{stdout}", args.join(" ")))
    }

    async fn run(&self, args: &[&str]) -> Output {
        let mut command = self.command(args);
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    }

    /// Starts a long-running command whose stdout lines arrive on the channel.
    fn spawn(&self, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        (child, rx)
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn texts(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn contains(out: &str, needle: &str) {
    assert!(out.contains(needle), "expected {needle:?} in:\n{out}");
}

async fn get(sim: &Sim, path: &str) -> Value {
    let response = sim.raw(Method::GET, path).send().await.unwrap();
    assert!(
        response.status().is_success(),
        "GET {path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

/// The simulator's record of landed writes of one kind, as `target: change`.
async fn applied(sim: &Sim, kind: &str) -> Vec<String> {
    let url = format!("{}/_sim/actions?kind={kind}", sim.handle.base_url);
    let all: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{}: {}",
                a["target"].as_str().unwrap(),
                a["change"].as_str().unwrap()
            )
        })
        .collect()
}

fn say(sim: &Sim, process: &str, message: &str) {
    let record = LogRecord::new(sim.clock.now(), "app", process, message);
    assert!(sim.handle.emit(APP, record));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_ps_releases_features_and_addons_read_the_simulated_app() {
    let Some(entry) = heroku_cli() else { return };
    let sim = Sim::start().await;
    let cli = Cli::new(entry, &sim);

    contains(&cli.ok(&["apps"]).await, &format!("{APP}\n"));
    let apps = cli.json(&["apps", "--json"]).await;
    assert_eq!(apps[0]["name"], APP);
    assert_eq!(apps[0]["owner"]["email"], dynopilot_sim::config::DEMO_EMAIL);

    let info = cli.ok(&["apps:info", "-a", APP]).await;
    contains(&info, &format!("=== {APP}"));
    contains(&info, "heroku-postgresql:essential-0");
    contains(&info, "web: 2");
    contains(&info, "worker: 1");
    contains(&info, "Stack:");
    let info = cli.json(&["apps:info", "-a", APP, "--json"]).await;
    assert_eq!(info["app"]["name"], APP);
    assert_eq!(
        info["addons"][0]["addon_service"]["name"],
        "heroku-postgresql"
    );
    assert_eq!(info["dynos"].as_array().unwrap().len(), 3);
    assert_eq!(info["pipeline_coupling"], Value::Null);

    let ps = cli.ok(&["ps", "-a", APP]).await;
    contains(&ps, "=== web (Standard-1X)");
    contains(&ps, "web.1: up");
    contains(&ps, "worker.1: up");
    let ps = cli.json(&["ps", "-a", APP, "--json"]).await;
    let mut names: Vec<&str> = ps
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["web.1", "web.2", "worker.1"]);

    let releases = cli.ok(&["releases", "-a", APP]).await;
    contains(&releases, &format!("=== {APP} Releases - Current: v1"));
    contains(&releases, "Initial release");
    let releases = cli.json(&["releases", "-a", APP, "--json"]).await;
    assert_eq!(releases[0]["version"], 1);
    let release = cli.ok(&["releases:info", "-a", APP]).await;
    contains(&release, "=== Release v1");
    contains(&release, "DATABASE_URL: postgres://");
    let release = cli
        .json(&["releases:info", "v1", "-a", APP, "--json"])
        .await;
    assert_eq!(release["description"], "Initial release");

    let addons = cli.ok(&["addons", "-a", APP]).await;
    contains(&addons, "heroku-postgresql (postgresql-");
    contains(&addons, "essential-0");
    contains(&addons, "as DATABASE");
    contains(&addons, "created");
    let addons = cli.json(&["addons", "-a", APP, "--json"]).await;
    assert_eq!(addons[0]["plan"]["name"], "heroku-postgresql:essential-0");
    assert_eq!(addons[0]["attachments"][0]["name"], "DATABASE");

    let features = cli.ok(&["features", "-a", APP]).await;
    contains(&features, "[ ] preboot");
    assert!(!features.contains("log-runtime-metrics"), "{features}");
    let features = cli.json(&["features", "-a", APP, "--json"]).await;
    assert_eq!(features[0]["name"], "preboot");
    let labs = cli.ok(&["labs", "-a", APP]).await;
    contains(&labs, "[ ] log-runtime-metrics");
    let labs = cli.json(&["labs", "-a", APP, "--json"]).await;
    let names: Vec<&str> = labs["app"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"log-runtime-metrics"), "{labs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_labs_and_drain_changes_land_in_the_simulator() {
    let Some(entry) = heroku_cli() else { return };
    let sim = Sim::start().await;
    let cli = Cli::new(entry, &sim);
    let config_path = format!("/apps/{APP}/config-vars");

    let config = cli.ok(&["config", "-a", APP]).await;
    contains(&config, &format!("=== {APP} Config Vars"));
    contains(&config, "DATABASE_URL:");
    let set = cli
        .run(&["config:set", "LANG=en_US.UTF-8", "FOO=bar", "-a", APP])
        .await;
    let (stdout, stderr) = texts(&set);
    assert!(set.status.success(), "{stdout}\n{stderr}");
    contains(&stderr, "done, v2");
    contains(&stdout, "FOO:  bar");
    let now = get(&sim, &config_path).await;
    assert_eq!(
        (now["FOO"].as_str(), now["LANG"].as_str()),
        (Some("bar"), Some("en_US.UTF-8"))
    );
    let config = cli.json(&["config", "-a", APP, "--json"]).await;
    assert_eq!(config["FOO"], "bar");
    let unset = cli.run(&["config:unset", "FOO", "-a", APP]).await;
    assert!(unset.status.success(), "{:?}", texts(&unset));
    contains(&texts(&unset).1, "done, v3");
    let now = get(&sim, &config_path).await;
    assert_eq!(now.get("FOO"), None);
    assert_eq!(now["LANG"], "en_US.UTF-8");
    let releases = get(&sim, &format!("/apps/{APP}/releases")).await;
    let descriptions: Vec<&str> = releases
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["description"].as_str().unwrap())
        .collect();
    assert_eq!(
        descriptions,
        [
            "Initial release",
            "Set LANG, FOO config vars",
            "Remove FOO config vars"
        ]
    );
    let v2 = get(&sim, &format!("/apps/{APP}/releases/2/config-vars")).await;
    assert_eq!(v2["FOO"], "bar");
    assert_eq!(applied(&sim, "config_vars_update").await.len(), 2);

    let enabled = cli
        .run(&["labs:enable", "log-runtime-metrics", "-a", APP])
        .await;
    assert!(enabled.status.success(), "{:?}", texts(&enabled));
    let feature = get(&sim, &format!("/apps/{APP}/features/log-runtime-metrics")).await;
    assert_eq!(feature["enabled"], true);
    contains(
        &cli.ok(&["labs", "-a", APP]).await,
        "[+] log-runtime-metrics",
    );

    // A port nothing listens on: delivery fails quietly, the drain itself exists.
    let url = "https://127.0.0.1:9/drain";
    contains(
        &cli.ok(&["drains:add", url, "-a", APP]).await,
        &format!("Successfully added drain {url}"),
    );
    let drains = get(&sim, &format!("/apps/{APP}/log-drains")).await;
    assert_eq!(drains[0]["url"], url);
    let token = drains[0]["token"].as_str().unwrap();
    contains(
        &cli.ok(&["drains", "-a", APP]).await,
        &format!("{url} ({token})"),
    );
    let listed = cli.json(&["drains", "-a", APP, "--json"]).await;
    assert_eq!(listed[0]["token"], token);
    contains(
        &cli.ok(&["drains:remove", url, "-a", APP]).await,
        &format!("Successfully removed drain {url}"),
    );
    let drains = get(&sim, &format!("/apps/{APP}/log-drains")).await;
    assert_eq!(drains, serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ps_scale_type_resize_restart_stop_and_kill_change_the_formation_and_dynos() {
    let Some(entry) = heroku_cli() else { return };
    let sim = Sim::start().await;
    let cli = Cli::new(entry, &sim);
    let formation = |ptype: &'static str| format!("/apps/{APP}/formation/{ptype}");

    let scaled = cli.run(&["ps:scale", "web=3", "-a", APP]).await;
    assert!(scaled.status.success(), "{:?}", texts(&scaled));
    contains(&texts(&scaled).1, "now running web at 3:Standard-1X");
    assert_eq!(get(&sim, &formation("web")).await["quantity"], 3);

    let typed = cli.ok(&["ps:type", "worker=standard-2x", "-a", APP]).await;
    contains(&typed, "Standard-2X");
    assert_eq!(get(&sim, &formation("worker")).await["size"], "Standard-2X");
    let resized = cli.ok(&["ps:resize", "web=performance-m", "-a", APP]).await;
    contains(&resized, "Performance-M");
    assert_eq!(get(&sim, &formation("web")).await["size"], "Performance-M");

    let restarted = cli
        .run(&["ps:restart", "--dyno-name", "web.1", "-a", APP])
        .await;
    assert!(restarted.status.success(), "{:?}", texts(&restarted));
    contains(&texts(&restarted).1, "Restarting dyno web.1");
    let all = cli.run(&["ps:restart", "-a", APP]).await;
    assert!(all.status.success(), "{:?}", texts(&all));
    assert_eq!(applied(&sim, "restart_dyno").await, ["web.1: restarted"]);
    assert_eq!(applied(&sim, "restart_all").await, ["all: restarted"]);

    let stopped = cli
        .run(&["ps:stop", "--dyno-name", "worker.1", "-a", APP])
        .await;
    assert!(stopped.status.success(), "{:?}", texts(&stopped));
    let killed = cli
        .run(&["ps:kill", "--dyno-name", "web.2", "-a", APP])
        .await;
    assert!(killed.status.success(), "{:?}", texts(&killed));
    let stops = applied(&sim, "stop_dyno").await;
    assert_eq!(stops.len(), 2, "{stops:?}");
    assert!(
        stops[0].starts_with("worker.1: ") && stops[1].starts_with("web.2: "),
        "{stops:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_show_the_backlog_and_tail_new_lines() {
    let Some(entry) = heroku_cli() else { return };
    let sim = Sim::start().await;
    let cli = Cli::new(entry, &sim);
    for i in 0..5 {
        say(&sim, "web.1", &format!("backlog {i}"));
    }
    let logs = cli
        .ok(&[
            "logs",
            "-n",
            "2",
            "--source",
            "app",
            "--dyno-name",
            "web.1",
            "-a",
            APP,
        ])
        .await;
    let lines: Vec<&str> = logs.lines().collect();
    assert_eq!(lines.len(), 2, "{logs}");
    assert!(lines[0].ends_with(" app[web.1]: backlog 3"), "{logs}");
    assert!(lines[1].ends_with(" app[web.1]: backlog 4"), "{logs}");

    let (mut child, rx) = cli.spawn(&["logs", "--tail", "-n", "1", "--source", "app", "-a", APP]);
    let first = rx.recv_timeout(Duration::from_secs(60));
    let mut seen = vec![first.clone().unwrap_or_default()];
    if first.is_ok() {
        say(&sim, "web.2", "live line");
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
            let done = line.contains("live line");
            seen.push(line);
            if done {
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen[0].ends_with(" app[web.1]: backlog 4"), "{seen:?}");
    assert!(
        seen.last().unwrap().ends_with(" app[web.2]: live line"),
        "{seen:?}"
    );
}

/// `heroku run` creates an attached one-off dyno and reads its output over TLS rendezvous; the
/// CLI trusts the simulator's self-signed certificate through `NODE_EXTRA_CA_CERTS`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_attaches_to_a_one_off_dyno_through_rendezvous() {
    let Some(entry) = heroku_cli() else { return };
    let sim = Sim::start().await;
    let cli = Cli::new(entry, &sim);
    let cert = concat!(env!("CARGO_MANIFEST_DIR"), "/src/rendezvous_tls/cert.pem");
    let mut command = cli.command(&["run", "-a", APP, "--", "echo", "hello from run"]);
    command.env("NODE_EXTRA_CA_CERTS", cert);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(stdout.trim_end(), "hello from run", "stderr:\n{stderr}");
    contains(
        &stderr,
        &format!("Running echo \"hello from run\" on {APP}... up, run."),
    );
    let created = applied(&sim, "dyno_create").await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert!(created[0].starts_with("run."), "{created:?}");
    // Attached and done: the one-off dyno has left the dyno list.
    let dynos = get(&sim, &format!("/apps/{APP}/dynos")).await;
    assert!(
        dynos.as_array().unwrap().iter().all(|d| d["type"] != "run"),
        "{dynos}"
    );
}
