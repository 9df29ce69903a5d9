//! Guardrails, applied last to every proposed decision, whatever policy produced it: deploy
//! freeze, manual-change override, min/max bounds, max size, cost budget, restart budget,
//! per-process-type restart budget, formation-change budget, restart-storm pacing, per-dyno
//! restart cooldown and never restarting the last healthy dyno of a process type.
//! A proposal is either let through, trimmed (a scale limited to a bound) or blocked.

use std::collections::{BTreeMap, BTreeSet};

use crate::size::DynoSize;
use crate::time::Timestamp;

use super::config::Config;
use super::decision::{Action, Blocked, Guardrail, clock};
use super::schedule::Bounds;
use super::state::{DynoLifecycle, ObservedState, PolicyState};

const HOUR_MS: i64 = 3_600_000;

/// What the guardrails did to one proposal.
#[derive(Debug, Default)]
pub struct Outcome {
    pub blocked: Vec<Blocked>,
    /// The action went through in a reduced form (e.g. scale capped at max).
    pub limited: Vec<Blocked>,
}

/// Guardrail state for one evaluation: the projected formation and restarts already let
/// through, so that several decisions together cannot exceed a budget either.
pub struct Guardrails<'a> {
    config: &'a Config,
    observed: &'a ObservedState,
    now: Timestamp,
    bounds: &'a BTreeMap<String, Bounds>,
    formation: BTreeMap<String, (u32, &'static DynoSize)>,
    restarts_in_hour: usize,
    /// Restarts per process type within the last hour (including those let through now).
    type_restarts_in_hour: BTreeMap<String, usize>,
    formation_changes_in_hour: usize,
    /// Process types in restart-storm mode (`storm.rs`), and the last restart of each.
    storms: BTreeSet<String>,
    last_type_restart: BTreeMap<String, Timestamp>,
    restarted_now: BTreeSet<String>,
    /// Per process type: dynos `up` and not restarted within the dyno cooldown.
    healthy: BTreeMap<String, usize>,
    /// Dynos restarted by dynopilot within the dyno cooldown (they may still look `up`).
    recently_restarted: BTreeSet<String>,
}

impl<'a> Guardrails<'a> {
    pub fn new(
        config: &'a Config,
        observed: &'a ObservedState,
        state: &PolicyState,
        bounds: &'a BTreeMap<String, Bounds>,
        now: Timestamp,
    ) -> Self {
        let formation = observed
            .process_types
            .iter()
            .filter_map(|(name, pt)| {
                let f = pt.formation.as_ref()?;
                Some((name.clone(), (f.quantity, DynoSize::lookup(&f.size).ok()?)))
            })
            .collect();
        let horizon = config.guardrails.dyno_restart_cooldown.get();
        let recently_restarted: BTreeSet<String> = state
            .last_restart
            .iter()
            .filter(|(_, at)| now < at.plus(horizon))
            .map(|(name, _)| name.clone())
            .collect();
        let healthy = observed
            .process_types
            .iter()
            .map(|(name, pt)| {
                let n = pt
                    .dynos
                    .iter()
                    .filter(|(d, s)| {
                        s.lifecycle == DynoLifecycle::Up && !recently_restarted.contains(*d)
                    })
                    .count();
                (name.clone(), n)
            })
            .collect();
        let hour_ago = Timestamp::from_millis(now.as_millis() - HOUR_MS);
        let mut type_restarts_in_hour: BTreeMap<String, usize> = BTreeMap::new();
        for r in state.restarts.iter().filter(|r| r.at > hour_ago) {
            *type_restarts_in_hour
                .entry(target_type(&r.target).to_owned())
                .or_default() += 1;
        }
        let mut last_type_restart: BTreeMap<String, Timestamp> = BTreeMap::new();
        for (dyno, at) in &state.last_restart {
            let entry = last_type_restart
                .entry(target_type(dyno).to_owned())
                .or_insert(*at);
            *entry = (*entry).max(*at);
        }
        Guardrails {
            config,
            observed,
            now,
            bounds,
            formation,
            healthy,
            recently_restarted,
            restarts_in_hour: state.restarts_since(hour_ago),
            type_restarts_in_hour,
            formation_changes_in_hour: state
                .formation_changes
                .iter()
                .filter(|c| c.at > hour_ago)
                .count(),
            storms: BTreeSet::new(),
            last_type_restart,
            restarted_now: BTreeSet::new(),
        }
    }

    /// Process types whose dyno restarts are paced as a restart storm in this evaluation.
    pub fn set_storms(&mut self, storms: BTreeSet<String>) {
        self.storms = storms;
    }

    /// Checks `action` against every guardrail, trimming it in place where that is allowed.
    pub fn check(&self, state: &PolicyState, action: &mut Action) -> Outcome {
        let mut out = Outcome::default();
        self.deploy_freeze(action, &mut out);
        self.manual_override(state, action, &mut out);
        self.bounds(action, &mut out);
        self.max_size(action, &mut out);
        self.cost_budget(action, &mut out);
        self.restart_budget(action, &mut out);
        self.type_restart_budget(action, &mut out);
        self.formation_budget(action, &mut out);
        self.restart_storm(action, &mut out);
        self.dyno_cooldown(state, action, &mut out);
        self.last_healthy(action, &mut out);
        self.dependency_gate(action, &mut out);
        out
    }

    fn dependency_gate(&self, action: &Action, out: &mut Outcome) {
        let Action::ScaleFormation {
            process_type,
            from,
            to,
        } = action
        else {
            return;
        };
        if to <= from {
            return;
        }
        for detail in self
            .config
            .guardrails
            .gates
            .holds(process_type, self.observed)
        {
            out.blocked.push(Blocked {
                guardrail: Guardrail::DependencyGate,
                detail,
            });
        }
    }

    /// Records an action that was let through.
    pub fn commit(&mut self, action: &Action) {
        if action.is_restart() {
            self.restarts_in_hour += 1;
            if let Some(ty) = action.process_type() {
                *self.type_restarts_in_hour.entry(ty.to_owned()).or_default() += 1;
                self.last_type_restart.insert(ty.to_owned(), self.now);
            }
        }
        if is_formation_change(action) {
            self.formation_changes_in_hour += 1;
        }
        match action {
            Action::ScaleFormation {
                process_type, to, ..
            } => {
                if let Some(entry) = self.formation.get_mut(process_type) {
                    entry.0 = *to;
                }
            }
            Action::Resize {
                process_type, to, ..
            } => {
                if let (Some(entry), Ok(size)) =
                    (self.formation.get_mut(process_type), DynoSize::lookup(to))
                {
                    entry.1 = size;
                }
            }
            Action::RestartDyno { dyno, .. } => {
                if self.counts_as_healthy(dyno)
                    && let Some(ty) = action.process_type()
                    && let Some(n) = self.healthy.get_mut(ty)
                {
                    *n = n.saturating_sub(1);
                }
                self.restarted_now.insert(dyno.clone());
            }
            _ => {}
        }
    }

    fn counts_as_healthy(&self, dyno: &str) -> bool {
        let is_up = self
            .observed
            .dyno(dyno)
            .is_some_and(|d| d.lifecycle == DynoLifecycle::Up);
        is_up && !self.recently_restarted.contains(dyno) && !self.restarted_now.contains(dyno)
    }

    fn deploy_freeze(&self, action: &Action, out: &mut Outcome) {
        let freeze = self.config.guardrails.deploy_freeze;
        let changes_formation = matches!(
            action,
            Action::ScaleFormation { .. }
                | Action::Resize { .. }
                | Action::RestartProcessType { .. }
                | Action::RestartApp
        );
        if !changes_formation || freeze.as_millis() <= 0 {
            return;
        }
        // A release from before dynopilot started watching is history, not a deploy.
        if let Some(release) = self.observed.latest_watched_release() {
            let until = release.at.plus(freeze.get());
            if self.now < until {
                out.blocked.push(Blocked {
                    guardrail: Guardrail::DeployFreeze,
                    detail: format!("until {} (release v{})", clock(until), release.version),
                });
            }
        }
    }

    fn manual_override(&self, state: &PolicyState, action: &Action, out: &mut Outcome) {
        if !matches!(
            action,
            Action::ScaleFormation { .. } | Action::Resize { .. }
        ) {
            return;
        }
        let Some(ty) = action.process_type() else {
            return;
        };
        if let Some(until) = state.overrides.get(ty)
            && self.now < *until
        {
            out.blocked.push(Blocked {
                guardrail: Guardrail::ManualOverride,
                detail: format!(
                    "until {} ({ty} was changed outside dynopilot)",
                    clock(*until)
                ),
            });
        }
    }

    fn bounds(&self, action: &mut Action, out: &mut Outcome) {
        let Action::ScaleFormation {
            process_type,
            from,
            to,
        } = action
        else {
            return;
        };
        let Some(b) = self.bounds.get(process_type.as_str()) else {
            return;
        };
        let clamped = (*to).clamp(b.min, b.max.max(b.min));
        if clamped == *to {
            return;
        }
        let note = Blocked {
            guardrail: Guardrail::Bounds,
            detail: format!("(wanted {to}, allowed {}..={}, {})", b.min, b.max, b.source),
        };
        if clamped == *from {
            out.blocked.push(note);
        } else {
            *to = clamped;
            out.limited.push(note);
        }
    }

    fn max_size(&self, action: &Action, out: &mut Outcome) {
        let Action::Resize {
            process_type, to, ..
        } = action
        else {
            return;
        };
        let Some(max_name) = self
            .config
            .process_types
            .get(process_type.as_str())
            .and_then(|pt| pt.max_size.as_deref())
        else {
            return;
        };
        let (Ok(max), Ok(target)) = (DynoSize::lookup(max_name), DynoSize::lookup(to)) else {
            out.blocked.push(Blocked {
                guardrail: Guardrail::MaxSize,
                detail: format!("(cannot compare `{to}` with max size `{max_name}`)"),
            });
            return;
        };
        // By position on the ladder (memory, compute, price), never by name.
        if target.ladder_key() > max.ladder_key() {
            out.blocked.push(Blocked {
                guardrail: Guardrail::MaxSize,
                detail: format!("({} is larger than {})", target.name, max.name),
            });
        }
    }

    fn cost(&self) -> f64 {
        self.formation
            .values()
            .map(|(q, s)| f64::from(*q) * s.dollars_per_hour())
            .sum()
    }

    fn cost_budget(&self, action: &mut Action, out: &mut Outcome) {
        let Some(budget) = self.config.guardrails.cost_budget_per_hour else {
            return;
        };
        let now_cost = self.cost();
        let fits = |cost: f64| cost <= budget + 1e-9;
        match action {
            Action::ScaleFormation {
                process_type,
                from,
                to,
            } if *to > *from => {
                let Some((q, size)) = self.formation.get(process_type.as_str()) else {
                    return;
                };
                let price = size.dollars_per_hour();
                let base = now_cost - f64::from(*q) * price;
                if fits(base + f64::from(*to) * price) {
                    return;
                }
                let affordable = (*from..=*to)
                    .rev()
                    .find(|n| fits(base + f64::from(*n) * price));
                let note = Blocked {
                    guardrail: Guardrail::CostBudget,
                    detail: format!(
                        "(${budget:.2}/h; {to} × {} would cost ${:.2}/h)",
                        size.name,
                        base + f64::from(*to) * price
                    ),
                };
                match affordable {
                    Some(n) if n > *from => {
                        *to = n;
                        out.limited.push(note);
                    }
                    _ => out.blocked.push(note),
                }
            }
            Action::Resize {
                process_type, to, ..
            } => {
                let (Some((q, size)), Ok(target)) = (
                    self.formation.get(process_type.as_str()),
                    DynoSize::lookup(to),
                ) else {
                    return;
                };
                let after = now_cost
                    + f64::from(*q) * (target.dollars_per_hour() - size.dollars_per_hour());
                if after > now_cost && !fits(after) {
                    out.blocked.push(Blocked {
                        guardrail: Guardrail::CostBudget,
                        detail: format!(
                            "(${budget:.2}/h; {q} × {} would cost ${after:.2}/h)",
                            target.name
                        ),
                    });
                }
            }
            _ => {}
        }
    }

    fn restart_budget(&self, action: &Action, out: &mut Outcome) {
        let budget = self.config.guardrails.restart_budget_per_hour;
        if action.is_restart() && self.restarts_in_hour >= budget as usize {
            out.blocked.push(Blocked {
                guardrail: Guardrail::RestartBudget,
                detail: format!(
                    "spent ({} restarts in the last hour, budget {budget})",
                    self.restarts_in_hour
                ),
            });
        }
    }

    fn type_restart_budget(&self, action: &Action, out: &mut Outcome) {
        let budget = self.config.guardrails.process_type_restart_budget_per_hour as usize;
        let Some(ty) = action.process_type().filter(|_| action.is_restart()) else {
            return;
        };
        let used = self.type_restarts_in_hour.get(ty).copied().unwrap_or(0);
        if used >= budget {
            out.blocked.push(Blocked {
                guardrail: Guardrail::RestartBudget,
                detail: format!(
                    "spent ({used} {ty} restarts in the last hour, per-process-type budget {budget})"
                ),
            });
        }
    }

    fn formation_budget(&self, action: &Action, out: &mut Outcome) {
        let budget = self.config.guardrails.formation_change_budget_per_hour as usize;
        if is_formation_change(action) && self.formation_changes_in_hour >= budget {
            out.blocked.push(Blocked {
                guardrail: Guardrail::FormationBudget,
                detail: format!(
                    "spent ({} formation changes in the last hour, budget {budget})",
                    self.formation_changes_in_hour
                ),
            });
        }
    }

    /// In a restart storm, one dyno of the type per gap.
    fn restart_storm(&self, action: &Action, out: &mut Outcome) {
        let Action::RestartDyno { .. } = action else {
            return;
        };
        let Some(ty) = action.process_type().filter(|ty| self.storms.contains(*ty)) else {
            return;
        };
        let gap = self.config.guardrails.restart_storm_gap;
        if let Some(last) = self.last_type_restart.get(ty)
            && self.now < last.plus(gap.get())
        {
            out.blocked.push(Blocked {
                guardrail: Guardrail::RestartStorm,
                detail: format!(
                    "until {} ({ty} dynos are restarted one at a time, {gap} apart)",
                    clock(last.plus(gap.get()))
                ),
            });
        }
    }

    fn dyno_cooldown(&self, state: &PolicyState, action: &Action, out: &mut Outcome) {
        let Action::RestartDyno { dyno, .. } = action else {
            return;
        };
        let cooldown = self.config.guardrails.dyno_restart_cooldown.get();
        let last = state.last_restart.get(dyno).copied();
        let recent = last.filter(|at| self.now < at.plus(cooldown));
        if let Some(at) = recent {
            out.blocked.push(Blocked {
                guardrail: Guardrail::DynoCooldown,
                detail: format!(
                    "until {} ({dyno} was restarted at {})",
                    clock(at.plus(cooldown)),
                    clock(at)
                ),
            });
        } else if self.restarted_now.contains(dyno) {
            out.blocked.push(Blocked {
                guardrail: Guardrail::DynoCooldown,
                detail: format!("({dyno} is already being restarted)"),
            });
        }
    }

    fn last_healthy(&self, action: &Action, out: &mut Outcome) {
        let Action::RestartDyno { dyno, .. } = action else {
            return;
        };
        if !self.config.guardrails.protect_last_healthy {
            return;
        }
        let Some(ty) = action.process_type() else {
            return;
        };
        let is_up = self
            .observed
            .dyno(dyno)
            .is_some_and(|d| d.lifecycle == DynoLifecycle::Up);
        if !is_up {
            // Restarting a dyno that is not serving takes no capacity away.
            return;
        }
        let healthy = self.healthy.get(ty).copied().unwrap_or(0);
        let healthy_others = healthy.saturating_sub(usize::from(self.counts_as_healthy(dyno)));
        if healthy_others == 0 {
            out.blocked.push(Blocked {
                guardrail: Guardrail::LastHealthyDyno,
                detail: format!("({dyno} is the only healthy {ty} dyno left)"),
            });
        }
    }
}

fn is_formation_change(action: &Action) -> bool {
    matches!(
        action,
        Action::ScaleFormation { .. } | Action::Resize { .. }
    )
}

/// The process type of a restart target (`web.2` → `web`, `web` → `web`).
fn target_type(target: &str) -> &str {
    crate::names::split_dyno_name(target).map_or(target, |(ty, _)| ty)
}
