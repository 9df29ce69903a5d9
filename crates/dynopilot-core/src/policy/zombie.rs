//! Zombie, stuck and crashed dynos: `up` but silent (no runtime metrics) for too long,
//! `starting` past the boot limit, or `crashed` — each is restarted, within the budgets.
//!
//! Silence and boot time count only over dynopilot's own observation: from the later of the
//! dyno's `since`, the moment dynopilot began listening to the app's logs and the source's last
//! reconnect; and nothing counts until the source delivered a line (proof that it works).

use crate::time::Timestamp;

use super::config::ProcessTypeConfig;
use super::decision::{Action, Reason};
use super::duration::ConfigDuration;
use super::engine::Proposal;
use super::state::{DynoLifecycle, DynoState, LogSourceState, PolicyState, ProcessTypeState};

pub fn propose(
    pt: &ProcessTypeConfig,
    obs: &ProcessTypeState,
    log: &LogSourceState,
    state: &PolicyState,
    now: Timestamp,
) -> Vec<Proposal> {
    let Some(cfg) = &pt.zombie else {
        return Vec::new();
    };
    // A source that never delivered proves nothing about the dynos' silence.
    let Some(observed_since) = log.observed_since().filter(|_| log.delivering()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, dyno) in &obs.dynos {
        let key = format!("zombie:{name}");
        if state.in_cooldown(&key, now) {
            continue;
        }
        // Evidence older than our own last restart of this dyno was already acted on.
        let restarted_since = state
            .last_restart
            .get(name)
            .is_some_and(|at| *at >= dyno.since);
        let reason = match dyno.lifecycle {
            DynoLifecycle::Up => silent(
                name,
                dyno,
                cfg.no_metrics_for,
                observed_since,
                state,
                log.heard_until(now),
            ),
            DynoLifecycle::Starting if !restarted_since => {
                let starting = now.since(dyno.since.max(observed_since));
                (starting >= cfg.boot_limit.get()).then(|| Reason::StuckStarting {
                    dyno: name.clone(),
                    starting: as_config(starting),
                    limit: cfg.boot_limit,
                })
            }
            DynoLifecycle::Crashed if cfg.restart_crashed && !restarted_since => {
                Some(Reason::Crashed {
                    dyno: name.clone(),
                    since: dyno.since,
                })
            }
            _ => None,
        };
        if let Some(reason) = reason {
            out.push(
                Proposal::new(
                    Action::RestartDyno {
                        dyno: name.clone(),
                        instance_id: dyno.instance_id.clone(),
                    },
                    reason,
                )
                .with_cooldown(key, cfg.cooldown.get()),
            );
        }
    }
    out
}

/// How long `dyno` stayed silent while the source was demonstrably delivering (`heard_until`
/// is the source's newest line), counted from the newest of its last metrics, becoming up,
/// our own listening and our last restart.
fn silent(
    name: &str,
    dyno: &DynoState,
    limit: ConfigDuration,
    observed_since: Timestamp,
    state: &PolicyState,
    heard_until: Timestamp,
) -> Option<Reason> {
    // Silence counts from the newest of: last metrics, becoming up, our last restart, and the
    // start of our own uninterrupted listening.
    let mut heard = dyno.since.max(observed_since);
    if let Some(at) = dyno.last_metrics_at {
        heard = heard.max(at);
    }
    if let Some(at) = state.last_restart.get(name) {
        heard = heard.max(*at);
    }
    let silent = heard_until.since(heard);
    (silent >= limit.get()).then(|| Reason::NoMetrics {
        dyno: name.to_owned(),
        silent: as_config(silent),
        limit,
    })
}

fn as_config(d: std::time::Duration) -> ConfigDuration {
    ConfigDuration::from_millis(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
