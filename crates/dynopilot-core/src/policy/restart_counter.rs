//! Restart counter: the app reports failures (HTTP endpoint or CLI); when a dyno reaches the
//! threshold within the TTL it is restarted, at most once per minimum interval, and its count
//! starts over.

use crate::time::Timestamp;

use super::config::ProcessTypeConfig;
use super::decision::{Action, Reason};
use super::engine::Proposal;
use super::state::{PolicyState, ProcessTypeState};

pub fn propose(
    pt: &ProcessTypeConfig,
    obs: &ProcessTypeState,
    state: &PolicyState,
    now: Timestamp,
) -> Vec<Proposal> {
    let Some(cfg) = &pt.restart_counter else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, dyno) in &obs.dynos {
        let key = format!("counter:{name}");
        let min_gap = cfg.min_between_restarts.get();
        let too_soon = state
            .last_restart
            .get(name)
            .is_some_and(|at| now < at.plus(min_gap));
        if too_soon || state.in_cooldown(&key, now) {
            continue;
        }
        // Counts within a rolling TTL, and never events from before the last restart.
        let mut since = now.minus(cfg.ttl.get());
        if let Some(reset) = state.counter_reset.get(name) {
            since = since.max(*reset);
        }
        let count = dyno
            .counter_events
            .iter()
            .filter(|at| **at > since && **at <= now)
            .count();
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        if count >= cfg.threshold {
            out.push(
                Proposal::new(
                    Action::RestartDyno {
                        dyno: name.clone(),
                        instance_id: dyno.instance_id.clone(),
                    },
                    Reason::RestartCounter {
                        dyno: name.clone(),
                        count,
                        threshold: cfg.threshold,
                        ttl: cfg.ttl,
                    },
                )
                .with_cooldown(key, min_gap),
            );
        }
    }
    out
}
