//! The seam between the API world and the physics of one app (dynos, traffic, memory): what
//! the HTTP layer reads and asks for. `dynopilot-workload`'s model sits behind it in
//! production; [`super::plain::PlainPhysics`] is a traffic-free, deterministic stand-in.

use dynopilot_core::{DynoSize, Timestamp};

use crate::logs::LogRecord;

/// The desired state of one process type.
#[derive(Debug, Clone, PartialEq)]
pub struct FormationView {
    pub process_type: String,
    pub quantity: u32,
    pub size: &'static DynoSize,
    pub command: String,
    pub updated_at: Timestamp,
}

/// One running (or starting, crashed…) dyno of the formation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynoView {
    /// The instance id: a new one after every restart.
    pub id: String,
    pub name: String,
    pub process_type: String,
    /// `starting`, `up`, `crashed`, `down` or `idle`.
    pub state: String,
    pub size: String,
    pub command: String,
    pub release_version: u64,
    pub created_at: Timestamp,
    /// When the dyno last changed state.
    pub updated_at: Timestamp,
}

/// Why the physics refused a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhysicsError {
    #[error("Couldn't find that process type ({0}).")]
    NoSuchProcessType(String),
    #[error("Couldn't find that dyno.")]
    NoSuchDyno,
    #[error("{0}")]
    Invalid(String),
}

/// Everything the API can see of and do to an app's dynos.
pub trait Physics: Send {
    fn formation(&self) -> Vec<FormationView>;
    /// Sets quantity and/or size of a process type; dynos follow after boot delays.
    fn set_formation(
        &mut self,
        now: Timestamp,
        process_type: &str,
        quantity: Option<u32>,
        size: Option<&'static DynoSize>,
    ) -> Result<(), PhysicsError>;
    fn dynos(&self) -> Vec<DynoView>;
    fn restart_dyno(&mut self, now: Timestamp, name: &str) -> Result<(), PhysicsError>;
    fn restart_process_type(
        &mut self,
        now: Timestamp,
        process_type: &str,
    ) -> Result<(), PhysicsError>;
    fn restart_all(&mut self, now: Timestamp);
    fn stop_dyno(&mut self, now: Timestamp, name: &str) -> Result<(), PhysicsError>;
    /// A new release: every dyno restarts onto it. Returns the release version.
    fn release(&mut self, now: Timestamp, description: &str, user: &str) -> u64;
    /// The dyno's process exits with status 1: the dyno is `crashed` until restarted, by an API
    /// call or by the platform itself `restart_after` later (Heroku restarts a first crash at
    /// once, then waits growing cool-offs of up to 20 minutes).
    fn crash_dyno(
        &mut self,
        now: Timestamp,
        name: &str,
        restart_after: std::time::Duration,
    ) -> Result<(), PhysicsError> {
        let _ = (now, name, restart_after);
        Err(PhysicsError::Invalid(
            "this world does not crash dynos on request".to_owned(),
        ))
    }
    /// Runs the world up to `t`, handing every log line to `sink` in time order.
    fn advance_to(&mut self, t: Timestamp, sink: &mut dyn FnMut(LogRecord));
}
