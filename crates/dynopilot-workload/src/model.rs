//! `Model`: one simulated app — its formation, dynos and traffic — and the public operations the
//! simulator calls (formation changes, restarts, releases, advancing time, reading the truth).

use std::fmt;

use dynopilot_core::{DynoSize, Timestamp};

use crate::config::{ConfigError, WorkloadConfig};
use crate::sink::LogSink;
use crate::truth::{ApiAction, GroundTruth};

/// A dyno's state in the Platform API's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DynoState {
    Starting,
    Up,
    Crashed,
    Down,
    Idle,
}

impl DynoState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Up => "up",
            Self::Crashed => "crashed",
            Self::Down => "down",
            Self::Idle => "idle",
        }
    }
}

impl fmt::Display for DynoState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One process type of the formation.
#[derive(Debug, Clone, PartialEq)]
pub struct FormationView {
    pub process_type: String,
    pub quantity: u32,
    pub size: &'static DynoSize,
    pub command: String,
}

/// One dyno as `GET /apps/{app}/dynos` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DynoView {
    /// `web.1`.
    pub name: String,
    pub process_type: String,
    pub size: &'static DynoSize,
    pub state: DynoState,
    /// `heroku.N.uuid`, new on every boot (the `dyno=` of runtime metrics).
    pub instance_id: String,
    /// When the dyno entered its current state (the API's `updated_at`).
    pub state_since: Timestamp,
    pub created_at: Timestamp,
    pub command: String,
    /// Release version the dyno runs.
    pub release: u32,
}

/// Operations the world refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorldError {
    #[error("no process type `{0}`")]
    UnknownProcessType(String),
    #[error("no dyno `{0}`")]
    UnknownDyno(String),
    #[error("{size} allows at most {max} dynos per process type")]
    TooManyDynos { size: &'static str, max: u32 },
}

/// One simulated app.
pub struct Model {
    world: crate::world::World,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("now", &self.world.now())
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Builds the world at `start` with the configured formation booting.
    pub fn new(config: WorkloadConfig, start: Timestamp) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            world: crate::world::World::new(config, start),
        })
    }

    /// Model time: everything up to here has happened.
    pub fn now(&self) -> Timestamp {
        self.world.now()
    }

    pub fn formation(&self) -> Vec<FormationView> {
        self.world.formation()
    }

    /// Changes quantity and/or size of a process type at `now` (clamped to model time). New
    /// dynos boot, surplus dynos stop, a resize restarts every dyno of the type; an
    /// `app[api]: Scaled to …` line lists the whole formation.
    pub fn set_formation(
        &mut self,
        process_type: &str,
        quantity: Option<u32>,
        size: Option<&'static DynoSize>,
        now: Timestamp,
    ) -> Result<(), WorldError> {
        self.world.set_formation(process_type, quantity, size, now)
    }

    pub fn dynos(&self) -> Vec<DynoView> {
        self.world.dynos()
    }

    /// `DELETE /apps/{app}/dynos/{dyno}`.
    pub fn restart_dyno(&mut self, name: &str, now: Timestamp) -> Result<(), WorldError> {
        self.world.restart_dyno(name, now)
    }

    /// `DELETE /apps/{app}/formations/{type}`.
    pub fn restart_process_type(
        &mut self,
        process_type: &str,
        now: Timestamp,
    ) -> Result<(), WorldError> {
        self.world.restart_process_type(process_type, now)
    }

    /// `DELETE /apps/{app}/dynos`.
    pub fn restart_all(&mut self, now: Timestamp) {
        self.world.restart_all(now);
    }

    /// `POST /apps/{app}/dynos/{dyno}/actions/stop`: on Cedar a formation dyno that is stopped
    /// is started again by the dyno manager, so this behaves like a restart.
    pub fn stop_dyno(&mut self, name: &str, now: Timestamp) -> Result<(), WorldError> {
        self.world.restart_dyno(name, now)
    }

    /// A new release: `Deploy`/`Release vN created` API lines, then every dyno restarts.
    /// Returns the release version.
    pub fn release(&mut self, description: &str, user: &str, now: Timestamp) -> u32 {
        self.world.release(description, user, now)
    }

    /// Runs the world up to `t`, writing every line due by then to `sink` in time order.
    pub fn advance_to(&mut self, t: Timestamp, sink: &mut dyn LogSink) {
        self.world.advance_to(t, sink);
    }

    pub fn truth(&self) -> &GroundTruth {
        self.world.truth()
    }

    /// Records an API call the simulator received, for the truth.
    pub fn record_api_action(&mut self, action: ApiAction) {
        self.world.record_api_action(action);
    }

    pub fn config(&self) -> &WorkloadConfig {
        self.world.config()
    }
}
