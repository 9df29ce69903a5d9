//! Notifications of policy events, as alert decisions: scaled, capped at max while still
//! breaching, below min while idle, Platform API failures, and guardrail blocks. Each topic
//! alerts at most once per `notify.cooldown` (except "scaled", which reports every change).

use std::collections::BTreeMap;

use crate::time::Timestamp;

use super::config::{Config, Severity};
use super::decision::{Action, Decision, Guardrail, Reason};
use super::schedule::Bounds;
use super::state::{ObservedState, PolicyState};

/// Alerts (action and reason) to add after the guardrails ran, in a deterministic order.
pub fn notifications(
    config: &Config,
    observed: &ObservedState,
    state: &mut PolicyState,
    decisions: &[Decision],
    bounds: &BTreeMap<String, Bounds>,
    now: Timestamp,
) -> Vec<(Action, Reason)> {
    let n = &config.notify;
    let mut wanted: Vec<(String, Severity, String, bool)> = Vec::new();
    for d in decisions {
        let bounded = d
            .blocked
            .iter()
            .chain(&d.limited_by)
            .find(|b| b.guardrail == Guardrail::Bounds);
        if let (
            Action::ScaleFormation {
                process_type,
                from,
                to,
            },
            Some(b),
        ) = (&d.action, bounded)
        {
            let at_max = bounds
                .get(process_type)
                .is_some_and(|bd| *to >= bd.max || from >= &bd.max);
            let (topic, enabled) = if at_max {
                (format!("capped_at_max:{process_type}"), n.capped_at_max)
            } else {
                (format!("below_min:{process_type}"), n.below_min_idle)
            };
            if enabled {
                let what = if at_max {
                    "capped at max while still breaching"
                } else {
                    "held at min while idle"
                };
                wanted.push((
                    topic,
                    Severity::Warning,
                    format!("{process_type} {what}: {b}; {}", d.reason),
                    true,
                ));
            }
        }
        if n.guardrail_blocks {
            for b in d
                .blocked
                .iter()
                // Storm pacing is announced once by its own alert (`storm.rs`).
                .filter(|b| !matches!(b.guardrail, Guardrail::Bounds | Guardrail::RestartStorm))
            {
                let topic = format!(
                    "guardrail:{}:{}",
                    b.guardrail,
                    d.action.process_type().unwrap_or("app")
                );
                wanted.push((
                    topic,
                    Severity::Warning,
                    format!("blocked `{}` ({}): {b}", d.action, d.reason),
                    true,
                ));
            }
        }
        if n.scaled
            && d.blocked.is_empty()
            && let Action::ScaleFormation { process_type, .. } = &d.action
        {
            wanted.push((
                format!("scaled:{process_type}"),
                Severity::Info,
                format!("{}: {}", d.action, d.reason),
                false,
            ));
        }
    }
    if n.api_failures {
        let seen = state.api_failures_seen;
        let mut fresh: Vec<_> = observed
            .api_failures
            .iter()
            .filter(|f| seen.is_none_or(|s| f.at > s) && f.at <= now)
            .collect();
        fresh.sort_by(|a, b| (a.at, &a.operation).cmp(&(b.at, &b.operation)));
        if let Some(newest) = fresh.last() {
            state.api_failures_seen = Some(newest.at);
        }
        for f in fresh {
            let topic = format!("api_failure:{}", f.operation);
            wanted.push((
                topic,
                Severity::Critical,
                format!(
                    "Platform API call {} failed at {}: {}",
                    f.operation, f.at, f.message
                ),
                true,
            ));
        }
    }
    let mut out = Vec::new();
    for (topic, severity, message, limited) in wanted {
        let key = format!("notify:{topic}");
        if limited {
            if state.in_cooldown(&key, now) {
                continue;
            }
            state.cooldowns.insert(key, now.plus(n.cooldown.get()));
        }
        let reason = Reason::Notify {
            event: message.clone(),
        };
        out.push((
            Action::Alert {
                topic,
                severity,
                message,
            },
            reason,
        ));
    }
    out
}
