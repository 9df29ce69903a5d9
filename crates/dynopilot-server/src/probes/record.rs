//! Writes probe results and check samples into the fleet's observed state, bounded.

use dynopilot_core::policy::{CheckKind, CheckSample, CheckStatus, ProbeResult};

use crate::ingest::Ingest;

/// Probe results kept per process type (an hour of 10 s probes).
pub const PROBES_KEPT: usize = 360;

pub fn probe(ingest: &Ingest, app: &str, process_type: &str, result: ProbeResult) {
    let Ok(mut fleet) = ingest.fleet.lock() else {
        return;
    };
    let probes = &mut fleet
        .app_mut(app)
        .observed
        .process_types
        .entry(process_type.to_owned())
        .or_default()
        .probes;
    probes.push(result);
    if probes.len() > PROBES_KEPT {
        let extra = probes.len() - PROBES_KEPT;
        probes.drain(..extra);
    }
}

pub fn check(ingest: &Ingest, app: &str, name: &str, kind: CheckKind, sample: CheckSample) {
    let Ok(mut fleet) = ingest.fleet.lock() else {
        return;
    };
    fleet
        .app_mut(app)
        .observed
        .checks
        .entry(name.to_owned())
        .or_insert_with(|| CheckStatus::new(kind))
        .record(sample);
}
