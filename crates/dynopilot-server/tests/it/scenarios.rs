//! Shared harness of the end-to-end scenarios: the simulator and the daemon over loopback HTTP
//! on a sped-up clock (a `ManualClock` advanced in small steps by a background task), and
//! helpers to read what reached the simulated Platform API.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::policy;
use dynopilot_core::{Clock, ManualClock, Timestamp};
use dynopilot_heroku::{ApiKey, ClientConfig, HerokuClient, RequestBudget};
use dynopilot_server::daemon::{self, AppSettings, DaemonHandle, DaemonSettings, LogSource};
use dynopilot_server::ingest::drain::DrainSettings;
use dynopilot_sim::{AppSpec, SimConfig, SimHandle, Simulator};
use tokio_util::sync::CancellationToken;

pub const SECRET: &str = "scenario-drain-secret";
/// 2026-01-05 00:00 UTC: a Monday, so schedules and diurnal traffic have a fixed origin.
pub const T0: Timestamp = Timestamp::from_millis(1_767_571_200_000);

/// A clock running `speed` times faster than real time, in 100 ms simulated steps.
pub struct FastClock {
    pub clock: ManualClock,
    stop: CancellationToken,
}

impl FastClock {
    pub fn start(speed: u32) -> Self {
        let clock = ManualClock::new(T0);
        let stop = CancellationToken::new();
        let (driven, cancel) = (clock.clone(), stop.clone());
        let real_step = Duration::from_micros(100_000 / u64::from(speed.max(1)));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(real_step) => driven.advance(Duration::from_millis(100)),
                }
            }
        });
        FastClock { clock, stop }
    }

    pub fn dyn_clock(&self) -> Arc<dyn Clock> {
        Arc::new(self.clock.clone())
    }

    /// Waits (in simulated time) until `check` holds, failing after `limit` simulated time.
    pub async fn until(&self, what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
        let deadline = self.clock.now().plus(limit);
        while self.clock.now() < deadline {
            if check().await {
                return;
            }
            self.clock.sleep(Duration::from_millis(500)).await;
        }
        panic!("not within {limit:?} of simulated time: {what}");
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Sleeps `d` of simulated time.
    pub async fn sleep(&self, d: Duration) {
        self.clock.sleep(d).await;
    }
}

impl Drop for FastClock {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts the simulator with `app`, `log-runtime-metrics` on (as a user of the memory
/// policies has it; without it they are blind).
pub async fn start_sim(app: AppSpec, clock: &Arc<dyn Clock>) -> SimHandle {
    let name = app.name.clone();
    let sim = start_sim_without_runtime_metrics(app, clock).await;
    sim_client(&sim, clock)
        .feature_update(&name, dynopilot_heroku::LOG_RUNTIME_METRICS, true)
        .await
        .unwrap();
    sim
}

/// Starts the simulator with `app` as Heroku creates it: `log-runtime-metrics` off.
pub async fn start_sim_without_runtime_metrics(app: AppSpec, clock: &Arc<dyn Clock>) -> SimHandle {
    let mut config = SimConfig::empty();
    config.apps.push(app);
    Simulator::start(config, Arc::clone(clock)).await.unwrap()
}

pub fn settings(sim: &SimHandle, policy: policy::Config) -> DaemonSettings {
    let mut heroku = ClientConfig::new(ApiKey::new(sim.token.clone()));
    heroku.base_url = sim.base_url.clone();
    DaemonSettings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        drain: DrainSettings {
            secret: SECRET.to_owned(),
            max_body_bytes: 2 << 20,
            max_in_flight: 16,
        },
        heroku,
        apps: vec![AppSettings {
            name: policy.app.clone(),
            policy,
            log_source: LogSource::Drain,
        }],
        poll_interval: Duration::from_secs(5),
        tick: Duration::from_secs(1),
        reconcile_deadline: dynopilot_server::reconcile::DEFAULT_DEADLINE,
        options: Default::default(),
    }
}

/// Starts the daemon on `store_url` and points the app's drain at it.
pub async fn start_daemon(
    sim: &SimHandle,
    policy: policy::Config,
    store_url: &str,
    clock: &Arc<dyn Clock>,
) -> DaemonHandle {
    let app = policy.app.clone();
    let store = dynopilot_store::open(store_url).await.unwrap();
    let daemon = daemon::start(settings(sim, policy), store, Arc::clone(clock))
        .await
        .unwrap();
    let client = sim_client(sim, clock);
    client
        .log_drain_add(&app, &format!("{}/drain/{app}/{SECRET}", daemon.base_url()))
        .await
        .unwrap();
    daemon
}

pub fn sim_client(sim: &SimHandle, clock: &Arc<dyn Clock>) -> HerokuClient {
    let mut config = ClientConfig::new(ApiKey::new(sim.token.clone()));
    config.base_url = sim.base_url.clone();
    HerokuClient::new(
        config,
        Arc::clone(clock),
        Arc::new(RequestBudget::new(Arc::clone(clock))),
    )
    .unwrap()
}

/// The quantity of a process type as the simulator has it.
pub async fn quantity(client: &HerokuClient, app: &str, process_type: &str) -> u32 {
    client
        .formation_list(app)
        .await
        .unwrap()
        .iter()
        .find(|f| f.process_type == process_type)
        .map_or(0, |f| f.quantity)
}

/// Waits until `app` runs exactly `n` dynos, all `up`.
pub async fn until_all_up(fast: &FastClock, client: &HerokuClient, app: &str, n: usize) {
    fast.until("every dyno up", Duration::from_secs(60), async || {
        let dynos = client.dynos_list(app).await.unwrap();
        dynos.len() == n && dynos.iter().all(|d| d.state == "up")
    })
    .await;
}

/// A runtime-metrics memory line of `dyno` (512 MB quota) stamped `at`.
pub fn memory_line(at: Timestamp, dyno: &str, mb: f64) -> dynopilot_sim::LogRecord {
    let sample = dynopilot_logplex::message::MemorySample {
        source: Some(dyno),
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
    let message = dynopilot_logplex::encode::memory(&sample);
    dynopilot_sim::LogRecord::new(at, "heroku", dyno, message)
}

/// Successful restarts of one dyno that reached the simulator.
pub fn restarts_of(sim: &SimHandle, app: &str, dyno: &str) -> usize {
    let path = format!("/apps/{app}/dynos/{dyno}");
    sim.actions()
        .iter()
        .filter(|a| a.method == "DELETE" && a.path == path && a.status < 300)
        .count()
}
