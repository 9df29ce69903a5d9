//! `dynopilot demo`: the simulator playing Heroku with one sample app (`shop`) whose web traffic
//! rises and falls every few minutes and whose workers leak memory, and the daemon watching it
//! through a real drain over loopback, acting through the simulated Platform API, on SQLite.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::Clock;
use dynopilot_core::policy::{
    self, ConfigDuration, EscalationConfig, MemoryGuardConfig, MemoryThreshold, ProcessTypeConfig,
    ZombieConfig,
};
use dynopilot_core::scaling::{HorizontalConfig, Signal, TargetConfig};
use dynopilot_heroku::{ApiKey, ClientConfig, HerokuClient, LOG_RUNTIME_METRICS, RequestBudget};
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, SimConfig, SimHandle, Simulator, Workload};
use dynopilot_workload::{TrafficPattern, WorkloadConfig};
use jiff::SignedDuration;

use dynopilot_server::daemon::{self, AppSettings, DaemonHandle, DaemonSettings, LogSource};
use dynopilot_server::ingest::drain::DrainSettings;

pub const DEMO_APP: &str = "shop";

pub struct DemoOptions {
    pub listen: SocketAddr,
    pub store_path: PathBuf,
}

pub struct Demo {
    pub sim: SimHandle,
    pub daemon: DaemonHandle,
    pub store_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("simulator: {0}")]
    Sim(#[from] dynopilot_sim::SimError),
    #[error("store: {0}")]
    Store(#[from] dynopilot_store::StoreError),
    #[error("daemon: {0}")]
    Daemon(#[from] daemon::DaemonError),
    #[error("adding the drain: {0}")]
    Drain(#[from] dynopilot_heroku::HerokuError),
}

/// Seconds between two traffic surges.
const SURGE_EVERY_S: f64 = 180.0;

/// Web traffic: calm, then from 20 s a surge to ~3× what two dynos can serve for 45 s, then
/// calm again, every three minutes, so scaling up and back down both show within two minutes.
fn demo_traffic() -> TrafficPattern {
    let mut points = Vec::new();
    for cycle in 0..120 {
        let t = f64::from(cycle) * SURGE_EVERY_S;
        points.extend([
            (t, 60.0),
            (t + 20.0, 60.0),
            (t + 25.0, 700.0),
            (t + 65.0, 700.0),
            (t + 70.0, 60.0),
        ]);
    }
    TrafficPattern::Trace { points }
}

pub fn demo_workload() -> WorkloadConfig {
    let mut model = WorkloadConfig::demo();
    model.app_host = "shop-dynopilot-demo.herokuapp.com".to_owned();
    model.traffic = demo_traffic();
    model.platform.cycling = false;
    // One request in twenty logs its queue time, so the dashboard's queue chart has data.
    model.queue_time_sampling = 0.05;
    for process in &mut model.process_types {
        if process.name == "worker" {
            process.quantity = 2;
            // About 10 MB/s: a worker crosses 85 % of its 512 MB within its second
            // runtime-metrics sample (they come every 20 s), about 40 s after boot.
            process.memory.leak_mb_per_hour = 36_000.0;
        }
    }
    model
}

pub fn demo_policy() -> policy::Config {
    let mut config = policy::Config::new(DEMO_APP);
    config.guardrails.restart_budget_per_hour = 30;
    // Each scale is already printed as a decision; a second "scaled" alert line is noise here.
    config.notify.scaled = false;
    // Short, so the second worker's turn comes within the demo's first two minutes.
    config.guardrails.dyno_restart_cooldown = ConfigDuration::from_secs(30);
    let autoscale = TargetConfig {
        signal: Signal::ServiceP95,
        target: 250.0,
        tolerance: 0.2,
        up_stabilization: SignedDuration::ZERO,
        down_stabilization: SignedDuration::from_secs(20),
        max_step_up: None,
        max_step_down: Some(2),
        up_cooldown: SignedDuration::from_secs(20),
        down_cooldown: SignedDuration::from_secs(20),
        max_sample_age: SignedDuration::from_secs(30),
    };
    let web = ProcessTypeConfig {
        min: Some(2),
        max: Some(8),
        memory_guard: Some(MemoryGuardConfig::default()),
        zombie: Some(ZombieConfig::default()),
        autoscale: Some(HorizontalConfig::Target(autoscale)),
        ..ProcessTypeConfig::default()
    };
    // The leak outlives restarts: when a worker that was already restarted for memory in the
    // last ten minutes needs it again, the next step is one size up (to Standard-2X, the
    // largest allowed); past that size, an alert. Escalation counts per dyno.
    let worker = ProcessTypeConfig {
        memory_guard: Some(MemoryGuardConfig {
            threshold: MemoryThreshold::PercentOfQuota(85.0),
            samples: 1,
            cooldown: ConfigDuration::from_secs(30),
            ..MemoryGuardConfig::default()
        }),
        escalation: Some(EscalationConfig {
            restarts: 1,
            window: ConfigDuration::from_mins(10),
            upsize: true,
        }),
        max_size: Some("Standard-2X".to_owned()),
        zombie: Some(ZombieConfig::default()),
        ..ProcessTypeConfig::default()
    };
    config.process_types.insert("web".to_owned(), web);
    config.process_types.insert("worker".to_owned(), worker);
    config
}

/// Starts the simulator and the daemon, and connects them with a drain.
pub async fn start(options: DemoOptions, clock: Arc<dyn Clock>) -> Result<Demo, DemoError> {
    let mut sim_config = SimConfig::empty();
    sim_config.apps.push(AppSpec {
        name: DEMO_APP.to_owned(),
        owner: DEMO_EMAIL.to_owned(),
        formation: Vec::new(),
        workload: Workload::Model(Box::new(demo_workload())),
    });
    let sim = Simulator::start(sim_config, Arc::clone(&clock)).await?;
    let secret = drain_secret(clock.now().as_millis());
    let store_url = format!("sqlite://{}", options.store_path.display());
    let store = dynopilot_store::open(&store_url).await?;
    let mut heroku = ClientConfig::new(ApiKey::new(sim.token.clone()));
    heroku.base_url = sim.base_url.clone();
    let settings = DaemonSettings {
        listen: options.listen,
        drain: DrainSettings {
            secret: secret.clone(),
            max_body_bytes: 2 << 20,
            max_in_flight: 16,
        },
        heroku: heroku.clone(),
        apps: vec![AppSettings {
            name: DEMO_APP.to_owned(),
            policy: demo_policy(),
            log_source: LogSource::Drain,
        }],
        poll_interval: Duration::from_secs(5),
        tick: Duration::from_secs(1),
        reconcile_deadline: dynopilot_server::reconcile::DEFAULT_DEADLINE,
        options: Default::default(),
    };
    let client = HerokuClient::new(
        heroku,
        Arc::clone(&clock),
        Arc::new(RequestBudget::new(Arc::clone(&clock))),
    )?;
    client
        .feature_update(DEMO_APP, LOG_RUNTIME_METRICS, true)
        .await?;
    let daemon = daemon::start(settings, store, Arc::clone(&clock)).await?;
    let url = format!("{}/drain/{DEMO_APP}/{secret}", daemon.base_url());
    client.log_drain_add(DEMO_APP, &url).await?;
    Ok(Demo {
        sim,
        daemon,
        store_url,
    })
}

/// A drain secret that differs per run (the demo listens on loopback only).
fn drain_secret(seed: i64) -> String {
    let mut x = seed as u64 ^ 0x9E37_79B9_7F4A_7C15;
    let mut out = String::with_capacity(32);
    for _ in 0..4 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push_str(&format!("{:08x}", x as u32));
    }
    out
}

/// The demo's data directory: a fresh one in the temp directory, removed when the demo ends
/// (also on an error), unless the user named a store file to keep.
struct DemoDir {
    store: PathBuf,
    remove: Option<PathBuf>,
}

impl DemoDir {
    fn new(store: Option<PathBuf>) -> std::io::Result<Self> {
        if let Some(store) = store {
            return Ok(DemoDir {
                store,
                remove: None,
            });
        }
        let dir = std::env::temp_dir().join(format!("dynopilot-demo-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(DemoDir {
            store: dir.join("demo.sqlite"),
            remove: Some(dir),
        })
    }
}

impl Drop for DemoDir {
    fn drop(&mut self) {
        if let Some(dir) = &self.remove
            && let Err(e) = std::fs::remove_dir_all(dir)
        {
            eprintln!("could not remove the demo directory {}: {e}", dir.display());
        }
    }
}

/// What to watch for, printed before the decisions start.
const STORY: &str = "\
What happens next (decisions are printed as they are made, in words):
  ~20 s   web traffic surges: `scale web 2 → 8 (service p95 … ms > 250 ms)`, capped at max 8
  ~40 s   the leaking workers run out of memory: worker.1 is restarted, worker.2 is held
          (`held: restart worker.2 — last healthy dyno …`) and restarted once worker.1 is back
  ~85 s   worker.1 leaks again after its restart: `resize worker Standard-1X → Standard-2X`
  ~95 s   the surge is over: `scale web 8 → 6 (service p95 … ms ≤ 250 ms)`, then 6 → 4 → 3
The surge repeats every three minutes.";

/// The `dynopilot demo` command: starts everything, prints what to open, runs until Ctrl-C.
pub fn run(port: u16, store_path: Option<PathBuf>) -> anyhow::Result<()> {
    crate::logging::init();
    let dir = DemoDir::new(store_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let clock: Arc<dyn Clock> = Arc::new(dynopilot_clock::SystemClock);
        let options = DemoOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            store_path: dir.store.clone(),
        };
        let demo = start(options, clock).await?;
        println!("dynopilot demo: a simulated Heroku app `{DEMO_APP}` (web + worker) watched by dynopilot.");
        println!("  dashboard          {}/", demo.daemon.base_url());
        println!("  simulated Heroku   {} (API key {})", demo.sim.base_url, demo.sim.token);
        println!("  store              {}", demo.store_url);
        println!("{STORY}");
        println!("Ctrl-C stops (and removes the demo's temporary files).");
        tokio::signal::ctrl_c().await?;
        println!("stopping…");
        demo.daemon.shutdown().await;
        demo.sim.shutdown();
        Ok::<(), anyhow::Error>(())
    })?;
    drop(dir);
    Ok(())
}
