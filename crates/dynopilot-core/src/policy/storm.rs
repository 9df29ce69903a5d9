//! Restart storms: when more than half of a process type's dynos need a restart in the same
//! evaluation, restarting them together would take the type down. The type enters storm mode
//! (kept while restarts keep being asked for), the guardrails then let one of its restarts
//! through per `restart_storm_gap`, and one alert says so when the storm starts.

use std::collections::{BTreeMap, BTreeSet};

use crate::time::Timestamp;

use super::config::{Config, Severity};
use super::decision::{Action, Reason};
use super::engine::Proposal;
use super::state::{ObservedState, PolicyState};

/// The cooldown key that marks a process type in storm mode.
pub fn key(process_type: &str) -> String {
    format!("storm:{process_type}")
}

/// Process types in storm mode after this evaluation's proposals, and the alert for each storm
/// that starts now. Storm mode lasts two gaps past the last tick that still asked for a
/// restart of the type, so the remaining restarts stay paced when fewer than half are left.
pub fn detect(
    config: &Config,
    observed: &ObservedState,
    state: &mut PolicyState,
    proposals: &[Proposal],
    now: Timestamp,
) -> (BTreeSet<String>, Vec<Proposal>) {
    let mut wanted: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for p in proposals {
        if let (Action::RestartDyno { dyno, .. }, Some(ty)) = (&p.action, p.action.process_type()) {
            wanted.entry(ty).or_default().insert(dyno);
        }
    }
    let gap = config.guardrails.restart_storm_gap.get();
    let mut storms = BTreeSet::new();
    let mut alerts = Vec::new();
    for (ty, dynos) in wanted {
        let total = observed
            .process_types
            .get(ty)
            .map_or(0, |pt| pt.dynos.len());
        let ongoing = state.in_cooldown(&key(ty), now);
        let starts = !ongoing && dynos.len() >= 2 && dynos.len() * 2 > total;
        if !(ongoing || starts) {
            continue;
        }
        let until = now.plus(gap).plus(gap);
        let entry = state.cooldowns.entry(key(ty)).or_insert(until);
        *entry = (*entry).max(until);
        storms.insert(ty.to_owned());
        if starts {
            alerts.push(alert(ty, dynos.len(), total, config));
        }
    }
    (storms, alerts)
}

fn alert(ty: &str, wanted: usize, total: usize, config: &Config) -> Proposal {
    let gap = config.guardrails.restart_storm_gap;
    let event = format!(
        "restart storm: {wanted} of {total} {ty} dynos need a restart at once; restarting them one at a time, {gap} apart, never the last healthy one"
    );
    Proposal::new(
        Action::Alert {
            topic: format!("restart-storm:{ty}"),
            severity: Severity::Warning,
            message: event.clone(),
        },
        Reason::Notify { event },
    )
}
