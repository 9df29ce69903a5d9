//! Notifications of policy events, as alert decisions: scaled, capped at max while still
//! breaching, below min while idle, Platform API failures, and guardrail blocks. Each topic
//! alerts at most once per `notify.cooldown` (except "scaled", which reports every change).

use std::collections::BTreeMap;

use crate::time::Timestamp;

use super::config::{Config, Severity};
use super::decision::{Action, Decision, Guardrail, Reason, clock, stable_id};
use super::schedule::Bounds;
use super::state::{Formation, ObservedState, PolicyState, SetFormation};

/// The alert topic of a formation change made outside dynopilot.
pub const MANUAL_OVERRIDE_TOPIC: &str = "manual-override";
/// The alert topic of an app dynopilot cannot reach through the Platform API.
pub const APP_ERROR_TOPIC: &str = "app-error";

/// Announces a formation change made outside dynopilot and how long dynopilot keeps its hands
/// off that process type.
pub fn manual_override(
    process_type: &str,
    was: &SetFormation,
    now: &Formation,
    until: Timestamp,
) -> (Action, Reason) {
    let change = if was.size.eq_ignore_ascii_case(&now.size) {
        format!("{} → {} dynos", was.quantity, now.quantity)
    } else {
        format!(
            "{}×{} → {}×{}",
            was.quantity, was.size, now.quantity, now.size
        )
    };
    let message = format!(
        "{process_type} changed outside dynopilot ({change}); hands off {process_type} until {}",
        clock(until)
    );
    let reason = Reason::Notify {
        event: message.clone(),
    };
    let action = Action::Alert {
        topic: MANUAL_OVERRIDE_TOPIC.to_owned(),
        severity: Severity::Warning,
        message,
    };
    (action, reason)
}

/// The one alert raised when `app` becomes unreachable (the key cannot see it, a 403, the app
/// was deleted); the runner sends it, since the app's policies are not evaluated meanwhile.
pub fn app_error(app: &str, kind: &str, message: &str, dry_run: bool, now: Timestamp) -> Decision {
    let message = format!("{app} is in error ({kind}): {message}; retrying with backoff");
    let action = Action::Alert {
        topic: APP_ERROR_TOPIC.to_owned(),
        severity: Severity::Critical,
        message: message.clone(),
    };
    Decision {
        id: stable_id(&[app, &now.as_millis().to_string(), APP_ERROR_TOPIC, &message]),
        app: app.to_owned(),
        at: now,
        executed: !dry_run,
        dry_run,
        blocked: Vec::new(),
        limited_by: Vec::new(),
        action,
        reason: Reason::Notify { event: message },
    }
}

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
                    format!("blocked: {} ({}) — {b}", d.action, d.reason),
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
                d.to_string(),
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
