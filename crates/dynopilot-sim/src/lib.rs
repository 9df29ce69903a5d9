//! A simulated Heroku: the Platform API over HTTP (axum), dyno lifecycle behind a physics
//! seam, log sessions, HTTPS drains with Logplex's delivery rules, and rendezvous for one-off
//! dynos. Time comes only from the injected `Clock`, so it runs in real or manual time.
//!
//! # Public API
//!
//! * [`Simulator::start`]`(`[`SimConfig`]`, Arc<dyn Clock>)` binds the API (default
//!   `127.0.0.1:0`) and a rendezvous listener, creates the configured accounts and apps, and
//!   spawns the ticker that advances the world every `tick`. It returns a [`SimHandle`].
//! * [`SimHandle`]: `base_url`, `token`, [`SimHandle::tick`] (advance the world to the clock's
//!   time now, for manual-clock tests), `emit` (inject a log line), `crash_dyno`, `start_preboot`,
//!   `set_rate_limit_remaining`, `set_faults` (a [`FaultPlan`]: 5xx, 429 bursts, latency,
//!   resets, apply-then-fail), `fault_counts`, `drain_stats`, `actions` (every write call),
//!   `applied_actions` (the writes that landed), `shutdown`.
//! * Outside Heroku's namespace: `GET /_sim/actions` and `GET /_sim/faults` (see
//!   `docs/simulator-faults.md`); `PUT /_sim/apps/{app}/files` seeds the files every new dyno
//!   starts with and `GET /_sim/apps/{app}/dynos/{dyno}/files` shows a one-off dyno's files
//!   after its command ran ([`shell`]: the commands a one-off dyno understands).

pub mod config;
pub mod drain;
pub mod faults;
pub mod file;
pub mod http;
pub mod log_session;
pub mod logs;
pub mod pingdom;
pub mod ratelimit;
pub mod rendezvous;
pub mod rendezvous_tls;
pub mod shell;
pub mod world;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use dynopilot_core::{Clock, DynoSize, Timestamp};
use tokio_util::sync::CancellationToken;

pub use config::{AccountSpec, AppSpec, ProcessSpec, SimConfig, Workload};
pub use drain::DrainConfig;
pub use faults::{FaultCounts, FaultPlan, FaultSpecError, Faults};
pub use file::{SimFile, SimFileError};
pub use log_session::SessionConfig;
pub use logs::LogRecord;
pub use ratelimit::RateLimitConfig;

use crate::http::Shared;
use crate::rendezvous::{OnAttached, Rendezvous};
use crate::world::plain::PlainPhysics;
use crate::world::workload::WorkloadPhysics;
use crate::world::{Account, FormationView, Physics, ReleaseRecord, SimApp, World};
pub use crate::world::{Action, AppliedAction, AppliedKind, FromTo};

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen: {0}")]
    Bind(#[from] std::io::Error),
    #[error("app {app}: {message}")]
    BadApp { app: String, message: String },
}

/// Namespace for [`Simulator::start`].
#[derive(Debug)]
pub struct Simulator;

/// A running simulator.
pub struct SimHandle {
    /// `http://127.0.0.1:PORT`, the Platform API base URL.
    pub base_url: String,
    pub addr: SocketAddr,
    /// The first account's first API token.
    pub token: String,
    world: Arc<Mutex<World>>,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
    faults: Arc<faults::FaultInjector>,
}

/// Delivery counters of one drain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainCounts {
    pub attempts: u64,
    pub delivered_batches: u64,
    pub delivered_messages: u64,
    pub dropped_batches: u64,
}

impl Simulator {
    pub async fn start(config: SimConfig, clock: Arc<dyn Clock>) -> Result<SimHandle, SimError> {
        let world = Arc::new(Mutex::new(build_world(&config, clock.now())?));
        let cancel = CancellationToken::new();
        let rendezvous = Arc::new(Rendezvous::default());
        let faults = Arc::new(faults::FaultInjector::default());
        faults.set(config.faults.clone());
        let on_attached = complete_on_attach(Arc::clone(&world), Arc::clone(&clock));
        let rendezvous_addr =
            rendezvous::start(Arc::clone(&rendezvous), on_attached, cancel.clone()).await?;
        let listener = tokio::net::TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let listener = http::conn::FaultListener::new(listener);
        let base_url = format!("http://{addr}");
        let shared = Arc::new(Shared {
            world: Arc::clone(&world),
            clock: Arc::clone(&clock),
            base_url: base_url.clone(),
            rendezvous,
            rendezvous_addr,
            drain: config.drain.clone(),
            session: config.session,
            cancel: cancel.clone(),
            faults: Arc::clone(&faults),
        });
        let app =
            http::router(shared).into_make_service_with_connect_info::<http::conn::ConnKill>();
        let shutdown = cancel.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await;
            if let Err(err) = served {
                tracing::error!(error = %err, "simulator API server failed");
            }
        });
        tokio::spawn(ticker(
            Arc::clone(&world),
            Arc::clone(&clock),
            config.tick,
            cancel.clone(),
        ));
        let token = config
            .accounts
            .first()
            .and_then(|a| a.tokens.first())
            .cloned()
            .unwrap_or_default();
        Ok(SimHandle {
            base_url,
            addr,
            token,
            world,
            clock,
            cancel,
            faults,
        })
    }
}

fn build_world(config: &SimConfig, now: Timestamp) -> Result<World, SimError> {
    let mut world = World::new(ratelimit::RateLimiter::new(config.rate_limit));
    for spec in &config.accounts {
        world.accounts.push(Account {
            id: uuid::Uuid::new_v4().to_string(),
            email: spec.email.clone(),
            tokens: spec.tokens.clone(),
            created_at: now,
        });
    }
    for spec in &config.apps {
        add_app(&mut world, spec, now)?;
    }
    Ok(world)
}

/// Creates `spec`'s app in `world` with its first release, as `POST /apps` would.
fn add_app(world: &mut World, spec: &AppSpec, now: Timestamp) -> Result<(), SimError> {
    let bad = |message: String| SimError::BadApp {
        app: spec.name.clone(),
        message,
    };
    if world.apps.iter().any(|a| a.name == spec.name) {
        return Err(bad("an app with this name exists".to_string()));
    }
    let owner = world
        .account_by_email(&spec.owner)
        .ok_or_else(|| bad(format!("unknown owner {}", spec.owner)))?
        .clone();
    let physics = physics_for(spec, now).map_err(bad)?;
    let mut app = SimApp::new(&spec.name, &owner.id, physics, now);
    app.releases.push(ReleaseRecord {
        id: uuid::Uuid::new_v4().to_string(),
        version: 1,
        description: "Initial release".to_string(),
        user_email: owner.email.clone(),
        user_id: owner.id.clone(),
        created_at: now,
        config: app.config_vars.clone(),
    });
    world.apps.push(app);
    Ok(())
}

fn physics_for(spec: &AppSpec, now: Timestamp) -> Result<Box<dyn Physics>, String> {
    let formation = spec
        .formation
        .iter()
        .map(|p| {
            let size = DynoSize::lookup(&p.size).map_err(|e| e.to_string())?;
            Ok(FormationView {
                process_type: p.process_type.clone(),
                quantity: p.quantity,
                size,
                command: p.command.clone(),
                updated_at: now,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    match &spec.workload {
        Workload::Plain { boot } => Ok(Box::new(PlainPhysics::new(now, *boot, formation))),
        Workload::Model(config) => Ok(Box::new(WorkloadPhysics::new((**config).clone(), now)?)),
    }
}

fn complete_on_attach(world: Arc<Mutex<World>>, clock: Arc<dyn Clock>) -> OnAttached {
    Arc::new(move |dyno_id: &str| {
        let now = clock.now();
        let mut world = world.lock().unwrap_or_else(PoisonError::into_inner);
        for app in &mut world.apps {
            app.complete_one_off(dyno_id, now);
        }
    })
}

async fn ticker(
    world: Arc<Mutex<World>>,
    clock: Arc<dyn Clock>,
    tick: Duration,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = clock.sleep(tick) => {}
        }
        let now = clock.now();
        world
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .advance(now);
    }
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Advances the world to the clock's current time right now (the ticker does this too,
    /// but a manual-clock test wants it done before its next assertion).
    pub fn tick(&self) {
        let now = self.clock.now();
        self.world().advance(now);
    }

    /// Writes a log line into an app's logs (history, tailing sessions, drains). Returns false
    /// for an unknown app.
    pub fn emit(&self, app: &str, record: LogRecord) -> bool {
        let mut world = self.world();
        let Some(i) = world.app_index(app) else {
            return false;
        };
        world.apps[i].emit(record);
        true
    }

    /// Crashes a dyno now (exit status 1, state `crashed`); the platform restarts it by itself
    /// `restart_after` later unless something restarts it first. False when the app or dyno
    /// does not exist or the app's world cannot crash dynos on request.
    pub fn crash_dyno(&self, app: &str, dyno: &str, restart_after: Duration) -> bool {
        let now = self.clock.now();
        let mut world = self.world();
        let Some(i) = world.app_index(app) else {
            return false;
        };
        world.apps[i].crash_dyno(now, dyno, restart_after)
    }

    /// Makes formation changes fail with the preboot `409` for `duration` from now.
    pub fn start_preboot(&self, app: &str, duration: Duration) -> bool {
        let until = self.clock.now().plus(duration);
        let mut world = self.world();
        let Some(i) = world.app_index(app) else {
            return false;
        };
        world.apps[i].preboot_until = Some(until);
        true
    }

    /// Sets the tokens left in `token`'s rate-limit bucket.
    pub fn set_rate_limit_remaining(&self, token: &str, remaining: u32) {
        let now = self.clock.now();
        self.world().limiter.set_remaining(token, remaining, now);
    }

    /// Delivery counters of an app's drains, in the order they were added.
    pub fn drain_stats(&self, app: &str) -> Vec<DrainCounts> {
        let world = self.world();
        let Some(i) = world.app_index(app) else {
            return Vec::new();
        };
        world.apps[i]
            .drains
            .iter()
            .map(|d| {
                let s = &d.outlet.stats;
                DrainCounts {
                    attempts: drain::DrainStats::get(&s.attempts),
                    delivered_batches: drain::DrainStats::get(&s.delivered_batches),
                    delivered_messages: drain::DrainStats::get(&s.delivered_messages),
                    dropped_batches: drain::DrainStats::get(&s.dropped_batches),
                }
            })
            .collect()
    }

    /// From now on, injects the given faults (a [`FaultPlan`], or the simple [`Faults`]),
    /// restarting their sequence from the plan's seed; `Faults::default()` turns them off.
    pub fn set_faults(&self, faults: impl Into<FaultPlan>) {
        self.faults.set(faults);
    }

    /// How many `5xx` and `429` answers were injected so far.
    pub fn faults_injected(&self) -> (u64, u64) {
        self.faults.injected()
    }

    /// Every kind of injected fault counted so far.
    pub fn fault_counts(&self) -> FaultCounts {
        self.faults.counts()
    }

    /// Creates an app while the simulator runs (what `heroku create` does): it shows in its
    /// owner's `GET /apps` from now on.
    pub fn create_app(&self, spec: &AppSpec) -> Result<(), SimError> {
        let now = self.clock.now();
        add_app(&mut self.world(), spec, now)
    }

    /// Deletes an app (what `heroku apps:destroy` does): its drains stop and every call about
    /// it answers 404 from now on. False when there was no such app.
    pub fn delete_app(&self, name: &str) -> bool {
        let mut world = self.world();
        let Some(i) = world.apps.iter().position(|a| a.name == name) else {
            return false;
        };
        let app = world.apps.remove(i);
        for drain in &app.drains {
            drain.outlet.cancel.cancel();
        }
        true
    }

    /// Every non-GET API call so far (faulted ones too, with the status the client saw).
    pub fn actions(&self) -> Vec<Action> {
        self.world().actions.clone()
    }

    /// Every write that landed in the world, as `GET /_sim/actions` serves them.
    pub fn applied_actions(&self) -> Vec<AppliedAction> {
        self.world().applied.clone()
    }

    /// Stops the server, the ticker, tailing sessions, drains and the rendezvous listener.
    pub fn shutdown(&self) {
        for app in &self.world().apps {
            for drain in &app.drains {
                drain.outlet.cancel.cancel();
            }
        }
        self.cancel.cancel();
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}
