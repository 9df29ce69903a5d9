//! What the guardrails still allow an app right now, for people (`dynopilot status`, the JSON
//! app view): each hourly budget with what is used and left, the cost ceiling against the
//! current formation, and every hold in force (deploy freeze, manual override, dyno restart
//! cooldowns, policy cooldowns) with its end. Pure: read from the config, what was observed and
//! the policy state, at `now`; it decides nothing.

use std::collections::BTreeMap;

use crate::size::DynoSize;
use crate::time::Timestamp;

use super::config::Config;
use super::state::{ObservedState, PolicyState};

const HOUR_MS: i64 = 3_600_000;

/// One rolling-hour budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    pub limit: u32,
    pub used: u32,
    pub left: u32,
}

impl Budget {
    fn new(limit: u32, used: usize) -> Self {
        let used = u32::try_from(used).unwrap_or(u32::MAX);
        Budget {
            limit,
            used,
            left: limit.saturating_sub(used),
        }
    }
}

/// The cost ceiling against the formation as observed.
#[derive(Clone, Debug, PartialEq)]
pub struct CostAllowance {
    pub limit_dollars_per_hour: f64,
    pub dollars_per_hour: f64,
    /// Never negative: a formation over the ceiling has nothing left.
    pub left_dollars_per_hour: f64,
}

/// Why something is held, in the guardrails' words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum HoldKind {
    DeployFreeze,
    ManualOverride,
    DynoRestartCooldown,
    Cooldown,
}

impl HoldKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldKind::DeployFreeze => "deploy_freeze",
            HoldKind::ManualOverride => "manual_override",
            HoldKind::DynoRestartCooldown => "dyno_restart_cooldown",
            HoldKind::Cooldown => "cooldown",
        }
    }
}

/// Something held until `until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    pub kind: HoldKind,
    /// The app (`app`), a process type, a dyno, or a cooldown's key (`rule:H12:web`).
    pub target: String,
    pub until: Timestamp,
    pub detail: String,
}

/// Budgets left and holds in force for one app.
#[derive(Clone, Debug, PartialEq)]
pub struct Allowance {
    pub restarts: Budget,
    /// Per process type the app runs or configures.
    pub process_type_restarts: BTreeMap<String, Budget>,
    pub formation_changes: Budget,
    /// `None` without `cost_budget_per_hour`.
    pub cost: Option<CostAllowance>,
    /// Soonest end first.
    pub holds: Vec<Hold>,
}

/// The allowance of `config`'s app at `now`.
pub fn allowance(
    config: &Config,
    observed: &ObservedState,
    state: &PolicyState,
    now: Timestamp,
) -> Allowance {
    let g = &config.guardrails;
    let hour_ago = Timestamp::from_millis(now.as_millis() - HOUR_MS);
    let recent: Vec<&str> = state
        .restarts
        .iter()
        .filter(|r| r.at > hour_ago)
        .map(|r| process_type_of(&r.target))
        .collect();
    let mut types: Vec<&String> = observed.process_types.keys().collect();
    types.extend(config.process_types.keys());
    types.sort();
    types.dedup();
    let process_type_restarts = types
        .into_iter()
        .map(|ty| {
            let used = recent.iter().filter(|t| **t == ty.as_str()).count();
            (
                ty.clone(),
                Budget::new(g.process_type_restart_budget_per_hour, used),
            )
        })
        .collect();
    let formation_changes = state
        .formation_changes
        .iter()
        .filter(|c| c.at > hour_ago)
        .count();
    Allowance {
        restarts: Budget::new(g.restart_budget_per_hour, recent.len()),
        process_type_restarts,
        formation_changes: Budget::new(g.formation_change_budget_per_hour, formation_changes),
        cost: g.cost_budget_per_hour.map(|limit| cost(limit, observed)),
        holds: holds(config, observed, state, now),
    }
}

fn cost(limit: f64, observed: &ObservedState) -> CostAllowance {
    let dollars_per_hour: f64 = observed
        .process_types
        .values()
        .filter_map(|pt| {
            let f = pt.formation.as_ref()?;
            let size = DynoSize::lookup(&f.size).ok()?;
            Some(f64::from(f.quantity) * size.dollars_per_hour())
        })
        .sum();
    CostAllowance {
        limit_dollars_per_hour: limit,
        dollars_per_hour,
        left_dollars_per_hour: (limit - dollars_per_hour).max(0.0),
    }
}

fn holds(
    config: &Config,
    observed: &ObservedState,
    state: &PolicyState,
    now: Timestamp,
) -> Vec<Hold> {
    let g = &config.guardrails;
    let mut holds = Vec::new();
    if g.deploy_freeze.as_millis() > 0
        && let Some(release) = observed.latest_watched_release()
    {
        let until = release.at.plus(g.deploy_freeze.get());
        if now < until {
            holds.push(Hold {
                kind: HoldKind::DeployFreeze,
                target: "app".to_owned(),
                until,
                detail: format!("no formation changes after release v{}", release.version),
            });
        }
    }
    for (ty, until) in state.overrides.iter().filter(|(_, u)| now < **u) {
        holds.push(Hold {
            kind: HoldKind::ManualOverride,
            target: ty.clone(),
            until: *until,
            detail: format!("{ty} was changed outside dynopilot"),
        });
    }
    let cooldown = g.dyno_restart_cooldown.get();
    for (dyno, at) in &state.last_restart {
        let until = at.plus(cooldown);
        if now < until {
            holds.push(Hold {
                kind: HoldKind::DynoRestartCooldown,
                target: dyno.clone(),
                until,
                detail: format!("{dyno} was restarted; not again before the cooldown ends"),
            });
        }
    }
    for (key, until) in state.cooldowns.iter().filter(|(_, u)| now < **u) {
        holds.push(Hold {
            kind: HoldKind::Cooldown,
            target: key.clone(),
            until: *until,
            detail: format!("{key} acts again after its cooldown"),
        });
    }
    holds.sort_by_key(|h| (h.until, h.kind));
    holds
}

/// `web.2` → `web`; a process type stays as it is.
fn process_type_of(target: &str) -> &str {
    crate::names::split_dyno_name(target).map_or(target, |(ty, _)| ty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::state::{FormationChange, ProcessTypeState, Release, RestartRecord};
    use crate::policy::{ConfigDuration, Formation};

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_millis(1_700_000_000_000 + secs * 1000)
    }

    #[test]
    fn budgets_count_the_last_hour_and_holds_end_in_order() {
        let mut config = Config::new("shop");
        config.guardrails.cost_budget_per_hour = Some(1.0);
        config.guardrails.deploy_freeze = ConfigDuration::from_mins(5);
        let now = at(7200);
        let mut observed = ObservedState {
            watching_since: Some(at(0)),
            ..ObservedState::default()
        };
        observed.releases.push(Release {
            at: now.plus(std::time::Duration::from_secs(0)),
            version: 7,
        });
        observed.process_types.insert(
            "web".to_owned(),
            ProcessTypeState {
                formation: Some(Formation {
                    quantity: 2,
                    size: "Standard-1X".to_owned(),
                    updated_at: at(0),
                }),
                ..ProcessTypeState::default()
            },
        );
        let mut state = PolicyState::default();
        for (secs, target) in [(100, "web.1"), (5000, "web.2"), (7000, "web.1")] {
            state.restarts.push(RestartRecord {
                at: at(secs),
                target: target.to_owned(),
                policy: "memory_guard".to_owned(),
            });
        }
        state.last_restart.insert("web.1".to_owned(), at(7000));
        state.formation_changes.push(FormationChange {
            at: at(6000),
            process_type: "web".to_owned(),
        });
        let a = allowance(&config, &observed, &state, now);
        assert_eq!(
            a.restarts,
            Budget {
                limit: 10,
                used: 2,
                left: 8
            }
        );
        assert_eq!(a.process_type_restarts["web"].left, 4);
        assert_eq!(a.formation_changes.used, 1);
        let cost = a.cost.unwrap();
        assert!((cost.dollars_per_hour - 0.0694).abs() < 0.01, "{cost:?}");
        let kinds: Vec<HoldKind> = a.holds.iter().map(|h| h.kind).collect();
        assert_eq!(
            kinds,
            vec![HoldKind::DynoRestartCooldown, HoldKind::DeployFreeze]
        );
        assert_eq!(
            a.holds[1].until,
            now.plus(std::time::Duration::from_secs(300))
        );
    }
}
