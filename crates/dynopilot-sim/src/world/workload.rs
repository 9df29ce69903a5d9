//! The adapter from `dynopilot-workload`'s `Model` (traffic, routing, dyno lifecycle, memory
//! and their log lines) to the simulator's [`Physics`] seam.

use std::collections::HashMap;

use dynopilot_core::{DynoSize, Timestamp};
use dynopilot_workload::{LogEntry, LogSink, Model, WorkloadConfig, WorldError};

use super::physics::{DynoView, FormationView, Physics, PhysicsError};
use crate::logs::LogRecord;

/// A workload model behind the physics seam.
pub struct WorkloadPhysics {
    model: Model,
    /// The model does not track when a formation last changed; the API shows it.
    formation_updated: HashMap<String, Timestamp>,
    created_at: Timestamp,
}

impl std::fmt::Debug for WorkloadPhysics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkloadPhysics").finish_non_exhaustive()
    }
}

impl WorkloadPhysics {
    pub fn new(config: WorkloadConfig, start: Timestamp) -> Result<Self, String> {
        let model = Model::new(config, start).map_err(|e| e.to_string())?;
        Ok(WorkloadPhysics {
            model,
            formation_updated: HashMap::new(),
            created_at: start,
        })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }
}

fn world_error(e: WorldError) -> PhysicsError {
    match e {
        WorldError::UnknownProcessType(t) => PhysicsError::NoSuchProcessType(t),
        WorldError::UnknownDyno(_) => PhysicsError::NoSuchDyno,
        other => PhysicsError::Invalid(other.to_string()),
    }
}

/// The API's dyno `id` is a uuid; the model's instance id is `heroku.N.<uuid>`, or empty
/// before the dyno's first boot, when a stable id from name and creation time stands in.
fn api_id(instance_id: &str, name: &str, created_at: Timestamp) -> String {
    let tail = instance_id.rsplit('.').next().unwrap_or_default();
    match uuid::Uuid::parse_str(tail) {
        Ok(id) => id.to_string(),
        Err(_) => super::stable_id(&format!("{name}@{}", created_at.as_millis())),
    }
}

struct Forward<'a>(&'a mut dyn FnMut(LogRecord));

impl LogSink for Forward<'_> {
    fn log(&mut self, line: LogEntry) {
        (self.0)(LogRecord::new(
            line.at,
            line.source,
            line.process,
            line.message,
        ));
    }
}

impl Physics for WorkloadPhysics {
    fn formation(&self) -> Vec<FormationView> {
        self.model
            .formation()
            .into_iter()
            .map(|f| FormationView {
                updated_at: self
                    .formation_updated
                    .get(&f.process_type)
                    .copied()
                    .unwrap_or(self.created_at),
                process_type: f.process_type,
                quantity: f.quantity,
                size: f.size,
                command: f.command,
            })
            .collect()
    }

    fn set_formation(
        &mut self,
        now: Timestamp,
        process_type: &str,
        quantity: Option<u32>,
        size: Option<&'static DynoSize>,
    ) -> Result<(), PhysicsError> {
        self.model
            .set_formation(process_type, quantity, size, now)
            .map_err(world_error)?;
        self.formation_updated.insert(process_type.to_string(), now);
        Ok(())
    }

    fn dynos(&self) -> Vec<DynoView> {
        self.model
            .dynos()
            .into_iter()
            .map(|d| DynoView {
                id: api_id(&d.instance_id, &d.name, d.created_at),
                name: d.name,
                process_type: d.process_type,
                state: d.state.as_str().to_string(),
                size: d.size.name.to_string(),
                command: d.command,
                release_version: u64::from(d.release),
                created_at: d.created_at,
                updated_at: d.state_since,
            })
            .collect()
    }

    fn restart_dyno(&mut self, now: Timestamp, name: &str) -> Result<(), PhysicsError> {
        self.model.restart_dyno(name, now).map_err(world_error)
    }

    fn restart_process_type(
        &mut self,
        now: Timestamp,
        process_type: &str,
    ) -> Result<(), PhysicsError> {
        self.model
            .restart_process_type(process_type, now)
            .map_err(world_error)
    }

    fn restart_all(&mut self, now: Timestamp) {
        self.model.restart_all(now);
    }

    fn stop_dyno(&mut self, now: Timestamp, name: &str) -> Result<(), PhysicsError> {
        self.model.stop_dyno(name, now).map_err(world_error)
    }

    fn release(&mut self, now: Timestamp, description: &str, user: &str) -> u64 {
        u64::from(self.model.release(description, user, now))
    }

    fn advance_to(&mut self, t: Timestamp, sink: &mut dyn FnMut(LogRecord)) {
        self.model.advance_to(t, &mut Forward(sink));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_model_boots_and_talks_through_the_seam() {
        let start = Timestamp::from_secs(1_700_000_000);
        let mut physics = WorkloadPhysics::new(WorkloadConfig::demo(), start).unwrap();
        assert!(physics.formation().iter().any(|f| f.process_type == "web"));
        let mut lines = Vec::new();
        physics.advance_to(start.plus(std::time::Duration::from_secs(120)), &mut |r| {
            lines.push(r)
        });
        assert!(!lines.is_empty());
        assert!(lines.windows(2).all(|w| w[0].at <= w[1].at));
        let dynos = physics.dynos();
        assert!(!dynos.is_empty());
        assert!(
            dynos.iter().all(|d| uuid::Uuid::parse_str(&d.id).is_ok()),
            "{dynos:?}"
        );
        let before = dynos[0].id.clone();
        let name = dynos[0].name.clone();
        physics
            .restart_dyno(start.plus(std::time::Duration::from_secs(120)), &name)
            .unwrap();
        physics.advance_to(start.plus(std::time::Duration::from_secs(200)), &mut |_| {});
        let after = physics
            .dynos()
            .into_iter()
            .find(|d| d.name == name)
            .unwrap();
        assert_ne!(after.id, before);
    }
}
