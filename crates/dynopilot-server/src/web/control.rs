//! Controls from people: pause/resume autoscaling, dry-run on/off, scale now, restart a dyno.
//! The web side sends a `ControlRequest` to the runner, which owns policy state; manual actions
//! become `Decision`s with `Reason::Manual`, pass the same guardrails and executor as automatic
//! ones and are journaled with who asked. Also the runner's counters shown on `/metrics`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use dynopilot_core::DynoSize;
use dynopilot_core::Timestamp;
use dynopilot_core::policy::guardrails::Guardrails;
use dynopilot_core::policy::{
    self, Action, Blocked, Decision, Guardrail, ObservedState, PolicyState, Reason, schedule,
};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// What a person asked for, for one app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Stop executing formation changes (scale, resize) for the app or one process type;
    /// with `seconds`, autoscaling resumes by itself once that long has passed.
    Pause {
        process_type: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seconds: Option<u64>,
    },
    Resume {
        process_type: Option<String>,
    },
    DryRun {
        on: bool,
    },
    /// `force` carries the action out past the guardrails that would block or limit it; the
    /// decision is journaled as forced, with what it overrode.
    Scale {
        process_type: String,
        quantity: u32,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        force: bool,
    },
    RestartDyno {
        dyno: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        force: bool,
    },
    /// Restart every dyno of a process type (`heroku ps:restart web`).
    RestartProcessType {
        process_type: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        force: bool,
    },
    /// Restart every dyno of the app (`heroku ps:restart`).
    RestartApp {
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        force: bool,
    },
}

impl Command {
    /// True when the person asked to override the guardrails.
    pub fn forced(&self) -> bool {
        match self {
            Command::Scale { force, .. }
            | Command::RestartDyno { force, .. }
            | Command::RestartProcessType { force, .. }
            | Command::RestartApp { force } => *force,
            _ => false,
        }
    }
}

pub struct ControlRequest {
    pub app: String,
    pub command: Command,
    /// The signed-in user (or `anonymous` on an unauthenticated loopback dashboard).
    pub who: String,
    /// Only say what would happen: a mode is described, not changed; an action is decided
    /// through the same guardrails but neither journaled nor executed.
    pub preview: bool,
    pub reply: oneshot::Sender<ControlReply>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ControlReply {
    /// A mode change (pause, resume, dry-run) took effect.
    Applied {
        message: String,
    },
    /// A manual action was decided; `decision.executed` says whether it goes to Heroku.
    Decided {
        decision: Box<Decision>,
    },
    Rejected {
        message: String,
    },
}

/// Per-app modes set by people; shared by the runner (which enforces them) and the pages.
#[derive(Debug, Default)]
pub struct Modes {
    apps: RwLock<BTreeMap<String, AppMode>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AppMode {
    /// Who paused the whole app.
    pub paused_by: Option<String>,
    /// Paused process types and who paused them.
    pub paused_types: BTreeMap<String, String>,
    /// Dry-run set from the dashboard, overriding the config's `dry_run`.
    pub dry_run: Option<bool>,
    /// When a timed pause of the whole app ends.
    #[serde(serialize_with = "super::api::rfc3339_opt")]
    pub paused_until: Option<Timestamp>,
    /// When timed pauses of process types end.
    #[serde(serialize_with = "serialize_until_map")]
    pub types_paused_until: BTreeMap<String, Timestamp>,
}

impl Modes {
    pub fn get(&self, app: &str) -> AppMode {
        self.apps
            .read()
            .ok()
            .and_then(|m| m.get(app).cloned())
            .unwrap_or_default()
    }

    fn update(&self, app: &str, f: impl FnOnce(&mut AppMode)) {
        if let Ok(mut apps) = self.apps.write() {
            f(apps.entry(app.to_owned()).or_default());
        }
    }

    /// Who paused autoscaling of this process type (or the whole app), if anyone.
    pub fn paused(&self, app: &str, process_type: &str) -> Option<String> {
        let mode = self.get(app);
        mode.paused_by
            .or_else(|| mode.paused_types.get(process_type).cloned())
    }

    /// The dry-run flag in force: the dashboard's override, else the config's.
    pub fn dry_run(&self, app: &str, config: &policy::Config) -> bool {
        self.get(app).dry_run.unwrap_or(config.guardrails.dry_run)
    }

    /// `paused`, `dry-run` or `active`, as the fleet page shows it.
    pub fn label(&self, app: &str, config: &policy::Config) -> &'static str {
        if self.get(app).paused_by.is_some() {
            "paused"
        } else if self.dry_run(app, config) {
            "dry-run"
        } else {
            "active"
        }
    }

    /// Applies a mode command at `now`; `None` for commands that are actions, not modes.
    pub fn apply(&self, app: &str, command: &Command, who: &str, now: Timestamp) -> Option<String> {
        let who = who.to_owned();
        let message = match command {
            Command::Pause {
                process_type: None,
                seconds,
            } => {
                let until = seconds.map(|s| now.plus(std::time::Duration::from_secs(s)));
                self.update(app, |m| {
                    m.paused_by = Some(who);
                    m.paused_until = until;
                });
                format!("autoscaling paused{}", until_words(until))
            }
            Command::Pause {
                process_type: Some(ty),
                seconds,
            } => {
                let until = seconds.map(|s| now.plus(std::time::Duration::from_secs(s)));
                self.update(app, |m| {
                    m.paused_types.insert(ty.clone(), who);
                    match until {
                        Some(t) => m.types_paused_until.insert(ty.clone(), t),
                        None => m.types_paused_until.remove(ty),
                    };
                });
                format!("autoscaling of {ty} paused{}", until_words(until))
            }
            Command::Resume { process_type: None } => {
                self.update(app, |m| {
                    m.paused_by = None;
                    m.paused_until = None;
                    m.paused_types.clear();
                    m.types_paused_until.clear();
                });
                "autoscaling resumed".to_owned()
            }
            Command::Resume {
                process_type: Some(ty),
            } => {
                self.update(app, |m| {
                    m.paused_types.remove(ty);
                    m.types_paused_until.remove(ty);
                });
                format!("autoscaling of {ty} resumed")
            }
            Command::DryRun { on } => {
                self.update(app, |m| m.dry_run = Some(*on));
                format!("dry-run {}", if *on { "on" } else { "off" })
            }
            Command::Scale { .. }
            | Command::RestartDyno { .. }
            | Command::RestartProcessType { .. }
            | Command::RestartApp { .. } => return None,
        };
        Some(message)
    }

    /// Ends the timed pauses of `app` that are over at `now`; returns what resumed, in words.
    pub fn expire(&self, app: &str, now: Timestamp) -> Vec<String> {
        let mut resumed = Vec::new();
        self.update(app, |m| {
            if m.paused_until.is_some_and(|t| t <= now) {
                m.paused_by = None;
                m.paused_until = None;
                resumed.push("autoscaling resumed: the timed pause ended".to_owned());
            }
            let over: Vec<String> = m
                .types_paused_until
                .iter()
                .filter(|(_, t)| **t <= now)
                .map(|(ty, _)| ty.clone())
                .collect();
            for ty in over {
                m.types_paused_until.remove(&ty);
                m.paused_types.remove(&ty);
                resumed.push(format!(
                    "autoscaling of {ty} resumed: the timed pause ended"
                ));
            }
        });
        resumed
    }
}

/// What a mode command would do, in words, for the confirmation step; `None` for actions.
pub fn mode_preview(command: &Command) -> Option<String> {
    let held =
        "scale and resize decisions are journaled as held, not executed; restarts still happen";
    Some(match command {
        Command::Pause {
            process_type: None, ..
        } => format!("Autoscaling of every process type pauses until you resume: {held}."),
        Command::Pause {
            process_type: Some(ty),
            ..
        } => format!("Autoscaling of {ty} pauses until you resume: {held} for {ty}."),
        Command::Resume { process_type: None } => {
            "Autoscaling resumes for every process type: dynopilot's decisions are executed again."
                .to_owned()
        }
        Command::Resume {
            process_type: Some(ty),
        } => format!(
            "Autoscaling of {ty} resumes: dynopilot's decisions for {ty} are executed again."
        ),
        Command::DryRun { on: true } => {
            "Dry-run turns on: decisions are journaled but nothing is sent to Heroku.".to_owned()
        }
        Command::DryRun { on: false } => {
            "Dry-run turns off: decisions that pass the guardrails are sent to Heroku.".to_owned()
        }
        Command::Scale { .. }
        | Command::RestartDyno { .. }
        | Command::RestartProcessType { .. }
        | Command::RestartApp { .. } => return None,
    })
}

fn serialize_until_map<S: serde::Serializer>(
    map: &BTreeMap<String, Timestamp>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(map.iter().map(|(ty, t)| (ty, t.to_jiff().to_string())))
}

fn until_words(until: Option<Timestamp>) -> String {
    until.map_or_else(String::new, |t| format!(" until {}", t.to_jiff()))
}

/// Blocks formation changes of paused process types: they are journaled as blocked, not run.
pub fn block_paused(modes: &Modes, decisions: &mut [Decision]) {
    for d in decisions.iter_mut() {
        let formation_change = matches!(
            d.action,
            Action::ScaleFormation { .. } | Action::Resize { .. }
        );
        if !formation_change || matches!(d.reason, Reason::Manual { .. }) {
            continue;
        }
        let Some(ty) = d.action.process_type() else {
            continue;
        };
        if let Some(who) = modes.paused(&d.app, ty) {
            d.blocked.push(Blocked {
                guardrail: Guardrail::Paused,
                detail: format!("(autoscaling of {ty} paused by {who})"),
            });
            d.executed = false;
        }
    }
}

/// The decision for a manual scale or restart, checked by the app's guardrails.
pub fn manual_decision(
    config: &policy::Config,
    observed: &ObservedState,
    state: &PolicyState,
    command: &Command,
    who: &str,
    dry_run: bool,
    now: Timestamp,
) -> Result<Decision, String> {
    let requested = manual_action(observed, command)?;
    let mut action = requested.clone();
    let tz = schedule::time_zone(&config.time_zone);
    let bounds: BTreeMap<String, schedule::Bounds> = config
        .process_types
        .iter()
        .map(|(name, pt)| {
            let size = observed
                .process_types
                .get(name)
                .and_then(|p| p.formation.as_ref())
                .and_then(|f| DynoSize::lookup(&f.size).ok());
            (name.clone(), schedule::bounds_for(name, pt, &tz, size, now))
        })
        .collect();
    let guard = Guardrails::new(config, observed, state, &bounds, now);
    let mut outcome = guard.check(state, &mut action);
    // The manual-override guardrail keeps dynopilot off a person's change; it must not keep
    // the person off their own.
    outcome
        .blocked
        .retain(|b| b.guardrail != Guardrail::ManualOverride);
    let mut note = String::new();
    if command.forced() {
        note = forced_note(&outcome.blocked, &outcome.limited);
        outcome.blocked.clear();
        outcome.limited.clear();
        action = requested;
    }
    let reason = Reason::Manual {
        who: who.to_owned(),
        note,
    };
    let id = format!(
        "manual-{:x}-{}",
        now.as_millis(),
        MANUAL_SEQ.fetch_add(1, Ordering::Relaxed)
    );
    Ok(Decision {
        id,
        app: config.app.clone(),
        at: now,
        executed: outcome.blocked.is_empty() && !dry_run,
        dry_run,
        blocked: outcome.blocked,
        limited_by: outcome.limited,
        action,
        reason,
    })
}

/// What a forced decision overrode, for the journal: `forced past cooldown (…), max (…)`.
fn forced_note(blocked: &[Blocked], limited: &[Blocked]) -> String {
    let overridden: Vec<String> = blocked
        .iter()
        .chain(limited)
        .map(ToString::to_string)
        .collect();
    if overridden.is_empty() {
        "forced (no guardrail stood in the way)".to_owned()
    } else {
        format!("forced past {}", overridden.join(", "))
    }
}

/// Makes manual decision ids unique within a millisecond.
static MANUAL_SEQ: AtomicU64 = AtomicU64::new(0);

fn manual_action(observed: &ObservedState, command: &Command) -> Result<Action, String> {
    match command {
        Command::Scale {
            process_type,
            quantity,
            ..
        } => {
            let from = observed
                .process_types
                .get(process_type)
                .and_then(|p| p.formation.as_ref())
                .map(|f| f.quantity)
                .ok_or_else(|| format!("no formation known for {process_type}"))?;
            Ok(Action::ScaleFormation {
                process_type: process_type.clone(),
                from,
                to: *quantity,
            })
        }
        Command::RestartProcessType { process_type, .. } => {
            if !observed.process_types.contains_key(process_type) {
                return Err(format!("no process type named {process_type}"));
            }
            Ok(Action::RestartProcessType {
                process_type: process_type.clone(),
            })
        }
        Command::RestartApp { .. } => Ok(Action::RestartApp),
        Command::RestartDyno { dyno, .. } => {
            let state = observed
                .dyno(dyno)
                .ok_or_else(|| format!("no dyno named {dyno}"))?;
            Ok(Action::RestartDyno {
                dyno: dyno.clone(),
                instance_id: state.instance_id.clone(),
            })
        }
        _ => Err("not an action".to_owned()),
    }
}

/// Runner counters for `/metrics`.
#[derive(Debug, Default)]
pub struct RunnerStats {
    ticks: AtomicU64,
    last_tick_ms: AtomicU64,
    /// When the last tick started (ms since the epoch; 0 before the first).
    last_tick_at: std::sync::atomic::AtomicI64,
    /// The runner's tick interval, in ms (0 until it first ticks).
    tick_every_ms: AtomicU64,
    /// (action kind, mode) → decisions made.
    decisions: Mutex<BTreeMap<(String, &'static str), u64>>,
}

impl RunnerStats {
    pub fn record_tick(&self, took_ms: u64) {
        self.ticks.fetch_add(1, Ordering::Relaxed);
        self.last_tick_ms.store(took_ms, Ordering::Relaxed);
    }

    pub fn count_decision(&self, decision: &Decision) {
        let mode = if decision.executed {
            "executed"
        } else if decision.is_blocked() {
            "blocked"
        } else {
            "dry_run"
        };
        let kind = action_kind(&decision.action).to_owned();
        if let Ok(mut d) = self.decisions.lock() {
            *d.entry((kind, mode)).or_default() += 1;
        }
    }

    /// The runner evaluated its apps at `at`; it does so every `every`.
    pub fn ticked_at(&self, at: Timestamp, every: std::time::Duration) {
        self.last_tick_at.store(at.as_millis(), Ordering::Relaxed);
        let every = u64::try_from(every.as_millis()).unwrap_or(u64::MAX);
        self.tick_every_ms.store(every, Ordering::Relaxed);
    }

    /// When the runner last ticked, if it has.
    pub fn last_tick_at(&self) -> Option<Timestamp> {
        let ms = self.last_tick_at.load(Ordering::Relaxed);
        (ms != 0).then(|| Timestamp::from_millis(ms))
    }

    /// How long without a tick means the runner is stuck: three intervals, at least 30 s.
    pub fn stuck_after(&self) -> std::time::Duration {
        let every = std::time::Duration::from_millis(self.tick_every_ms.load(Ordering::Relaxed));
        (every * 3).max(std::time::Duration::from_secs(30))
    }

    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    pub fn last_tick_ms(&self) -> u64 {
        self.last_tick_ms.load(Ordering::Relaxed)
    }

    pub fn decisions(&self) -> BTreeMap<(String, &'static str), u64> {
        self.decisions.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

/// The action's snake_case kind, as in the journal's `kind` column.
pub fn action_kind(action: &Action) -> &'static str {
    match action {
        Action::ScaleFormation { .. } => "scale_formation",
        Action::Resize { .. } => "resize",
        Action::RestartDyno { .. } => "restart_dyno",
        Action::RestartProcessType { .. } => "restart_process_type",
        Action::RestartApp => "restart_app",
        Action::Alert { .. } => "alert",
        Action::RunHook { .. } => "run_hook",
    }
}
