//! The daemon as a separate process (`target/release/dynopilot run`) against an in-process
//! simulator: drain lines per second over loopback HTTP with ~100 KB Logplex batches and the
//! SQLite store on, the daemon's RSS idle and under that load, and the time from POSTing an
//! over-quota memory sample to the restart reaching the simulator (p50/p99).
//!
//! Run: `cargo build --release -p dynopilot && cargo bench -p dynopilot-server --bench daemon`.
//! Optional arguments: load seconds (default 10), connections (default 4), trials (default 60).
//! `DYNOPILOT_BIN` overrides the binary's path.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench: failing loudly is the point

mod load;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::Clock;
use dynopilot_sim::config::{DEMO_EMAIL, DEMO_TOKEN};
use dynopilot_sim::{AppSpec, SimConfig, SimHandle, Simulator};

const APP: &str = "shop";
const SECRET: &str = "bench-drain-secret-0123456789";
/// Web dynos in the simulator at least: the corpus writes as web.1–web.4, reaction trials use
/// the rest, one fresh dyno per trial (a restarted dyno's run id is retired, so a second
/// sample with the same id would be ignored, as on Heroku).
const WEB_DYNOS: u32 = 80;
/// The first dyno of the reaction trials.
const FIRST_TRIAL_DYNO: usize = 11;

struct Args {
    load_seconds: u64,
    connections: usize,
    trials: usize,
}

fn args() -> Args {
    let numbers: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    Args {
        load_seconds: numbers.first().copied().unwrap_or(10),
        connections: numbers.get(1).map_or(4, |&n| n as usize),
        trials: numbers.get(2).map_or(60, |&n| n as usize),
    }
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    let clock: Arc<dyn Clock> = Arc::new(dynopilot_clock::SystemClock);
    let mut sim_config = SimConfig::empty();
    sim_config
        .apps
        .push(AppSpec::plain(APP, DEMO_EMAIL, web_dynos(args.trials), 0));
    let sim = Simulator::start(sim_config, Arc::clone(&clock))
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("dynopilot-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let config = write_config(&dir, &sim, port);
    let mut daemon = spawn_daemon(&config, &dir);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base).await;
    // Let the first polls and the recorder settle before calling it idle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pid = daemon.id();
    let idle = load::rss(pid);
    println!(
        "daemon pid {pid}: idle VmRSS {:.1} MB, VmHWM {:.1} MB",
        idle.rss_mb, idle.hwm_mb
    );

    let url = format!("{base}/drain/{APP}/{SECRET}");
    let bodies = load::bodies(100 * 1024, 64);
    let lines: usize = bodies.iter().map(|b| b.lines).sum();
    let bytes: usize = bodies.iter().map(|b| b.bytes.len()).sum();
    println!(
        "batches: {} of ~{} KB, {:.0} lines each",
        bodies.len(),
        bytes / bodies.len() / 1024,
        lines as f64 / bodies.len() as f64
    );
    let result = load::drive(
        &url,
        Arc::new(bodies),
        args.connections,
        Duration::from_secs(args.load_seconds),
        pid,
    )
    .await;
    let after = load::rss(pid);
    println!(
        "load: {} connections, {:.1} s: {} batches accepted (204), {} shed (503), {} other",
        args.connections, result.seconds, result.accepted, result.shed, result.other
    );
    println!(
        "drain throughput: {:.0} lines/s ({:.1} MB/s)",
        result.lines as f64 / result.seconds,
        result.bytes as f64 / result.seconds / 1e6
    );
    println!(
        "under load: peak VmRSS {:.1} MB (sampled), VmHWM {:.1} MB",
        result.peak_rss_mb, after.hwm_mb
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut reactions = load::reactions(&base, &sim, args.trials, FIRST_TRIAL_DYNO).await;
    reactions.sort_by(f64::total_cmp);
    println!(
        "reaction (memory sample POSTed → restart at the simulator), {} trials, {} without a restart within 10 s: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        args.trials,
        args.trials - reactions.len(),
        quantile(&reactions, 0.50),
        quantile(&reactions, 0.99),
        reactions.last().copied().unwrap_or(f64::NAN)
    );
    let _ = daemon.kill();
    let _ = daemon.wait();
    sim.shutdown();
    if std::env::var_os("DYNOPILOT_BENCH_LOG").is_some() {
        println!("daemon log kept: {}", dir.join("daemon.log").display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn web_dynos(trials: usize) -> u32 {
    WEB_DYNOS.max((FIRST_TRIAL_DYNO + trials) as u32)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A config with one app on a drain, a memory guard that acts on the first over-threshold
/// sample, and budgets large enough for every trial.
fn write_config(dir: &std::path::Path, sim: &SimHandle, port: u16) -> PathBuf {
    let store = dir.join("bench.sqlite");
    let text = format!(
        r#"dry_run = false
[heroku]
api_key = "{DEMO_TOKEN}"
base_url = "{base}"
[store]
url = "sqlite://{store}"
[server]
listen = "127.0.0.1:{port}"
[drain]
secret = "{SECRET}"
max_body_bytes = 2097152
[[apps]]
name = "{APP}"
log_source = "drain"
[apps.guardrails]
restart_budget_per_hour = 100000
process_type_restart_budget_per_hour = 100000
dyno_restart_cooldown = "1s"
[apps.process_types.web.memory_guard]
threshold = "90%"
samples = 1
cooldown = "1s"
"#,
        base = sim.base_url,
        store = store.display(),
    );
    let path = dir.join("dynopilot.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn daemon_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("DYNOPILOT_BIN") {
        return PathBuf::from(path);
    }
    // The bench runs from target/release/deps/; the binary is target/release/dynopilot.
    let exe = std::env::current_exe().unwrap();
    let release = exe.parent().and_then(|p| p.parent()).unwrap();
    release.join("dynopilot")
}

fn spawn_daemon(config: &std::path::Path, dir: &std::path::Path) -> Child {
    let binary = daemon_binary();
    assert!(
        binary.exists(),
        "{} missing: run `cargo build --release -p dynopilot` first",
        binary.display()
    );
    let log = std::fs::File::create(dir.join("daemon.log")).unwrap();
    Command::new(binary)
        .arg("run")
        .arg("--config")
        .arg(config)
        .env(
            "RUST_LOG",
            std::env::var("DYNOPILOT_BENCH_LOG").unwrap_or_else(|_| "warn".to_owned()),
        )
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

async fn wait_healthy(base: &str) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the daemon did not answer /healthz within 10 s");
}
