//! `evaluate`: runs every policy over the observed state, then the guardrails — last and
//! always — and returns the decisions together with the updated `PolicyState`.
//!
//! Determinism: configuration and state are iterated through `BTreeMap`s, proposals are sorted
//! by action before guardrails see them, and decision ids are hashes of the inputs.
//!
//! Dry-run: decisions are computed and returned with `executed = false, dry_run = true`, and
//! the policy state is updated *as if* they had been carried out (cooldowns, restart log,
//! budgets). Otherwise a dry run would repeat the same decision every tick and its transcript
//! would not show what a live run does; switching dry-run off therefore starts from a state
//! that matches what the transcript promised.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::size::DynoSize;
use crate::time::Timestamp;

use super::config::Config;
use super::decision::{Action, Blocked, Decision, Reason, stable_id};
use super::guardrails::Guardrails;
use super::schedule;
use super::state::{
    FormationChange, ObservedState, PolicyState, ProcessTypeState, RestartRecord, SetFormation,
};
use super::{
    autoscale, blind, memory_guard, notify, restart_counter, rules, status_checks, storm, zombie,
};

/// A decision before guardrails: what a policy wants and the cooldowns it sets if let through.
#[derive(Clone, Debug)]
pub struct Proposal {
    pub action: Action,
    pub reason: Reason,
    pub cooldowns: Vec<(String, Duration)>,
}

impl Proposal {
    pub fn new(action: Action, reason: Reason) -> Self {
        Proposal {
            action,
            reason,
            cooldowns: Vec::new(),
        }
    }

    pub fn with_cooldown(mut self, key: String, d: Duration) -> Self {
        self.cooldowns.push((key, d));
        self
    }
}

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Evaluates every policy of one app at `now`. Pure: same inputs, same outputs.
pub fn evaluate(
    config: &Config,
    observed: &ObservedState,
    previous: &PolicyState,
    now: Timestamp,
) -> (Vec<Decision>, PolicyState) {
    let mut state = previous.clone();
    prune(config, &mut state, now);
    let announcements = detect_manual_changes(config, observed, &mut state, now);

    let tz = schedule::time_zone(&config.time_zone);
    let empty = ProcessTypeState::default();
    let mut bounds = BTreeMap::new();
    let mut proposals = Vec::new();
    // Blind policies propose nothing: missing data must never read as silence or idleness.
    let blind = blind::blind_policies(config, observed);
    let seeing: Cow<'_, Config> = if blind.is_empty() {
        Cow::Borrowed(config)
    } else {
        Cow::Owned(blind::without_blind(config, &blind))
    };
    for (name, pt) in &seeing.process_types {
        let obs = observed.process_types.get(name).unwrap_or(&empty);
        let size = obs
            .formation
            .as_ref()
            .and_then(|f| DynoSize::lookup(&f.size).ok());
        let b = schedule::bounds_for(name, pt, &tz, size, now);
        proposals.extend(schedule::propose(name, pt, obs, &b));
        let ctx = memory_guard::Context {
            process_type: name,
            pt,
            size,
            tz: &tz,
        };
        proposals.extend(memory_guard::propose(&ctx, obs, &state, now));
        proposals.extend(zombie::propose(pt, obs, &observed.log_source, &state, now));
        proposals.extend(restart_counter::propose(pt, obs, &state, now));
        proposals.extend(autoscale::propose(
            name, pt, obs, &mut state, size, &tz, now,
        ));
        bounds.insert(name.clone(), b);
    }
    proposals.extend(rules::propose(&seeing, observed, &state, now));
    proposals.sort_by(|a, b| (&a.action, a.reason.policy()).cmp(&(&b.action, b.reason.policy())));
    // Two policies asking for the same thing (zombie and memory guard restarting one dyno) make
    // one decision; the first reason in sort order is kept.
    proposals.dedup_by(|later, first| later.action == first.action);
    keep_one_formation_change_per_type(&mut proposals);
    proposals.retain(|p| !awaiting_heroku(&p.action, &state, observed, now));

    let (storms, storm_alerts) = storm::detect(config, observed, &mut state, &proposals, now);
    proposals.extend(storm_alerts);

    let dry_run = config.guardrails.dry_run;
    let mut guard = Guardrails::new(config, observed, &state, &bounds, now);
    guard.set_storms(storms);
    let mut decisions = Vec::with_capacity(proposals.len());
    for mut p in proposals {
        let outcome = guard.check(&state, &mut p.action);
        let allowed = outcome.blocked.is_empty();
        if allowed {
            guard.commit(&p.action);
            record(&mut state, observed, &p, now);
        }
        decisions.push(decision(
            config,
            p.action,
            p.reason,
            now,
            dry_run,
            outcome.blocked,
            outcome.limited,
        ));
    }
    let mut alerts = announcements;
    alerts.extend(notify::notifications(
        config, observed, &mut state, &decisions, &bounds, now,
    ));
    alerts.extend(status_checks::transitions(observed, &mut state));
    decisions.extend(alerts.into_iter().map(|(action, reason)| {
        decision(config, action, reason, now, dry_run, Vec::new(), Vec::new())
    }));
    (decisions, state)
}

/// How long a formation change of ours may take to show up in observed state before policies
/// may ask for another one (the executor reports failures separately).
const PENDING_MS: i64 = 5 * 60_000;

/// True when dynopilot already decided a formation change for this type that Heroku does not
/// show yet: proposing again would double the action.
fn awaiting_heroku(
    action: &Action,
    state: &PolicyState,
    observed: &ObservedState,
    now: Timestamp,
) -> bool {
    if !matches!(
        action,
        Action::ScaleFormation { .. } | Action::Resize { .. }
    ) {
        return false;
    }
    let Some(ty) = action.process_type() else {
        return false;
    };
    let (Some(set), Some(seen)) = (
        state.formations.get(ty),
        observed
            .process_types
            .get(ty)
            .and_then(|pt| pt.formation.as_ref()),
    ) else {
        return false;
    };
    let differs = set.quantity != seen.quantity || !set.size.eq_ignore_ascii_case(&seen.size);
    differs && set.at > seen.updated_at && now.as_millis() - set.at.as_millis() < PENDING_MS
}

/// Several policies may want a different quantity (or size) for one process type in the same
/// tick (schedule, autoscaler, a rule). Only one can be executed: keep the largest, so a
/// scale-up is never lost to a scale-down; guardrails then bound it like any other.
fn keep_one_formation_change_per_type(proposals: &mut Vec<Proposal>) {
    let mut best: BTreeMap<(String, bool), (u64, usize)> = BTreeMap::new();
    for (i, p) in proposals.iter().enumerate() {
        let key_and_rank = match &p.action {
            Action::ScaleFormation {
                process_type, to, ..
            } => Some(((process_type.clone(), false), u64::from(*to))),
            Action::Resize {
                process_type, to, ..
            } => DynoSize::lookup(to)
                .ok()
                .map(|s| ((process_type.clone(), true), u64::from(s.memory_mb))),
            _ => None,
        };
        if let Some((key, rank)) = key_and_rank {
            let entry = best.entry(key).or_insert((rank, i));
            if rank > entry.0 {
                *entry = (rank, i);
            }
        }
    }
    let keep: std::collections::BTreeSet<usize> = best.values().map(|(_, i)| *i).collect();
    let mut i = 0;
    proposals.retain(|p| {
        let formation_change = matches!(
            p.action,
            Action::ScaleFormation { .. } | Action::Resize { .. }
        );
        let kept = !formation_change || keep.contains(&i);
        i += 1;
        kept
    });
}

fn decision(
    config: &Config,
    action: Action,
    reason: Reason,
    now: Timestamp,
    dry_run: bool,
    blocked: Vec<Blocked>,
    limited_by: Vec<Blocked>,
) -> Decision {
    let id = stable_id(&[
        &config.app,
        &now.as_millis().to_string(),
        &format!("{action:?}"),
        &reason.to_string(),
    ]);
    Decision {
        id,
        app: config.app.clone(),
        at: now,
        executed: blocked.is_empty() && !dry_run,
        dry_run,
        blocked,
        limited_by,
        action,
        reason,
    }
}

/// Updates the policy state for a decision that passed the guardrails (dry-run included).
fn record(state: &mut PolicyState, observed: &ObservedState, p: &Proposal, now: Timestamp) {
    for (key, d) in &p.cooldowns {
        let until = now.plus(*d);
        let entry = state.cooldowns.entry(key.clone()).or_insert(until);
        *entry = (*entry).max(until);
    }
    let restarted: Vec<String> = match &p.action {
        Action::RestartDyno { dyno, .. } => vec![dyno.clone()],
        Action::RestartProcessType { process_type } => observed
            .process_types
            .get(process_type)
            .map(|pt| pt.dynos.keys().cloned().collect())
            .unwrap_or_default(),
        Action::RestartApp => observed
            .process_types
            .values()
            .flat_map(|pt| pt.dynos.keys().cloned())
            .collect(),
        Action::ScaleFormation {
            process_type,
            from,
            to,
        } => {
            let direction = if to > from {
                &mut state.scaled_up_at
            } else {
                &mut state.scaled_down_at
            };
            direction.insert(process_type.clone(), now);
            let size = current_size(state, observed, process_type);
            state.formations.insert(
                process_type.clone(),
                SetFormation {
                    at: now,
                    quantity: *to,
                    size,
                },
            );
            Vec::new()
        }
        Action::Resize {
            process_type,
            from,
            to,
        } => {
            state
                .original_sizes
                .entry(process_type.clone())
                .or_insert_with(|| from.clone());
            let quantity = current_quantity(state, observed, process_type);
            state.formations.insert(
                process_type.clone(),
                SetFormation {
                    at: now,
                    quantity,
                    size: to.clone(),
                },
            );
            Vec::new()
        }
        Action::Alert { .. } | Action::RunHook { .. } => Vec::new(),
    };
    note_formation_change(state, &p.action, now);
    if p.action.is_restart() {
        let target = match &p.action {
            Action::RestartDyno { dyno, .. } => dyno.clone(),
            Action::RestartProcessType { process_type } => process_type.clone(),
            _ => "*".to_owned(),
        };
        state.restarts.push(RestartRecord {
            at: now,
            target,
            policy: p.reason.policy().to_owned(),
        });
    }
    for dyno in restarted {
        state.last_restart.insert(dyno.clone(), now);
        state.counter_reset.insert(dyno, now);
    }
}

/// Keeps the log the formation-change budget counts (an hour is all it looks at).
fn note_formation_change(state: &mut PolicyState, action: &Action, now: Timestamp) {
    let hour_ago = now.as_millis() - HOUR_MS;
    state
        .formation_changes
        .retain(|c| c.at.as_millis() > hour_ago);
    if let Action::ScaleFormation { process_type, .. } | Action::Resize { process_type, .. } =
        action
    {
        state.formation_changes.push(FormationChange {
            at: now,
            process_type: process_type.clone(),
        });
    }
}

fn current_size(state: &PolicyState, observed: &ObservedState, ty: &str) -> String {
    state
        .formations
        .get(ty)
        .map(|f| f.size.clone())
        .unwrap_or_else(|| {
            observed
                .process_types
                .get(ty)
                .and_then(|pt| pt.formation.as_ref())
                .map_or_else(String::new, |f| f.size.clone())
        })
}

fn current_quantity(state: &PolicyState, observed: &ObservedState, ty: &str) -> u32 {
    observed
        .process_types
        .get(ty)
        .and_then(|pt| pt.formation.as_ref())
        .map(|f| f.quantity)
        .or_else(|| state.formations.get(ty).map(|f| f.quantity))
        .unwrap_or(0)
}

/// Drops what no policy can look at any more, so persisted state stays small.
fn prune(config: &Config, state: &mut PolicyState, now: Timestamp) {
    let escalation_ms = config
        .process_types
        .values()
        .filter_map(|pt| pt.escalation.as_ref())
        .map(|e| e.window.as_millis())
        .max()
        .unwrap_or(0);
    let keep_restarts = now.as_millis() - HOUR_MS.max(escalation_ms);
    state.restarts.retain(|r| r.at.as_millis() > keep_restarts);
    state.cooldowns.retain(|_, until| *until > now);
    state.overrides.retain(|_, until| *until > now);
    let week = now.as_millis() - 7 * DAY_MS;
    state.last_restart.retain(|_, at| at.as_millis() > week);
    state.counter_reset.retain(|_, at| at.as_millis() > week);
}

/// A formation that changed after dynopilot's last change and differs from what dynopilot
/// set was changed by someone else: leave that process type alone until the override expires,
/// and say so (one `manual-override` alert per change, naming the expiry).
fn detect_manual_changes(
    config: &Config,
    observed: &ObservedState,
    state: &mut PolicyState,
    now: Timestamp,
) -> Vec<(Action, Reason)> {
    let mut announcements = Vec::new();
    let hands_off = config.guardrails.manual_override;
    if hands_off.as_millis() <= 0 {
        return announcements;
    }
    for (name, pt) in &observed.process_types {
        let Some(f) = &pt.formation else { continue };
        let Some(set) = state.formations.get(name) else {
            // First sight: this is the baseline, not a change.
            state.formations.insert(
                name.clone(),
                SetFormation {
                    at: f.updated_at,
                    quantity: f.quantity,
                    size: f.size.clone(),
                },
            );
            continue;
        };
        let differs = f.quantity != set.quantity || !f.size.eq_ignore_ascii_case(&set.size);
        if f.updated_at > set.at && differs {
            // The autoscaler's cooldowns count manual changes too.
            if f.quantity > set.quantity {
                state.scaled_up_at.insert(name.clone(), f.updated_at);
            } else if f.quantity < set.quantity {
                state.scaled_down_at.insert(name.clone(), f.updated_at);
            }
            let until = f.updated_at.plus(hands_off.get());
            if until > now {
                state.overrides.insert(name.clone(), until);
                announcements.push(notify::manual_override(name, set, f, until));
            }
            // Adopt the new formation so the same change is not detected again.
            state.formations.insert(
                name.clone(),
                SetFormation {
                    at: f.updated_at,
                    quantity: f.quantity,
                    size: f.size.clone(),
                },
            );
        }
    }
    announcements
}
