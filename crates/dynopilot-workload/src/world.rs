//! The engine behind `Model` (skeleton: formation bookkeeping only; the simulation follows).

use dynopilot_core::{DynoSize, Timestamp};

use crate::config::WorkloadConfig;
use crate::model::{DynoState, DynoView, FormationView, WorldError};
use crate::sink::LogSink;
use crate::truth::{ApiAction, GroundTruth};

pub(crate) struct World {
    config: WorkloadConfig,
    now: Timestamp,
    formation: Vec<FormationView>,
    truth: GroundTruth,
    release: u32,
}

impl World {
    pub(crate) fn new(config: WorkloadConfig, start: Timestamp) -> Self {
        let formation = config
            .process_types
            .iter()
            .map(|p| FormationView {
                process_type: p.name.clone(),
                quantity: p.quantity,
                size: DynoSize::lookup(&p.size).unwrap_or(&dynopilot_core::SIZES[2]),
                command: p.command.clone(),
            })
            .collect();
        Self {
            config,
            now: start,
            formation,
            truth: GroundTruth::new(start),
            release: 1,
        }
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.now
    }

    pub(crate) fn config(&self) -> &WorkloadConfig {
        &self.config
    }

    pub(crate) fn formation(&self) -> Vec<FormationView> {
        self.formation.clone()
    }

    pub(crate) fn set_formation(
        &mut self,
        process_type: &str,
        quantity: Option<u32>,
        size: Option<&'static DynoSize>,
        _now: Timestamp,
    ) -> Result<(), WorldError> {
        let f = self
            .formation
            .iter_mut()
            .find(|f| f.process_type == process_type)
            .ok_or_else(|| WorldError::UnknownProcessType(process_type.to_owned()))?;
        if let Some(q) = quantity {
            f.quantity = q;
        }
        if let Some(s) = size {
            f.size = s;
        }
        Ok(())
    }

    pub(crate) fn dynos(&self) -> Vec<DynoView> {
        let mut out = Vec::new();
        for f in &self.formation {
            for n in 1..=f.quantity {
                out.push(DynoView {
                    name: format!("{}.{n}", f.process_type),
                    process_type: f.process_type.clone(),
                    size: f.size,
                    state: DynoState::Up,
                    instance_id: String::new(),
                    state_since: self.truth.start,
                    created_at: self.truth.start,
                    command: f.command.clone(),
                    release: self.release,
                });
            }
        }
        out
    }

    pub(crate) fn restart_dyno(&mut self, name: &str, _now: Timestamp) -> Result<(), WorldError> {
        if self.dynos().iter().any(|d| d.name == name) {
            Ok(())
        } else {
            Err(WorldError::UnknownDyno(name.to_owned()))
        }
    }

    pub(crate) fn restart_process_type(
        &mut self,
        process_type: &str,
        _now: Timestamp,
    ) -> Result<(), WorldError> {
        if self
            .formation
            .iter()
            .any(|f| f.process_type == process_type)
        {
            Ok(())
        } else {
            Err(WorldError::UnknownProcessType(process_type.to_owned()))
        }
    }

    pub(crate) fn restart_all(&mut self, _now: Timestamp) {}

    pub(crate) fn release(&mut self, _description: &str, _user: &str, _now: Timestamp) -> u32 {
        self.release += 1;
        self.release
    }

    pub(crate) fn advance_to(&mut self, t: Timestamp, _sink: &mut dyn LogSink) {
        self.now = self.now.max(t);
    }

    pub(crate) fn truth(&self) -> &GroundTruth {
        &self.truth
    }

    pub(crate) fn record_api_action(&mut self, action: ApiAction) {
        self.truth.api_actions.push(action);
    }
}
