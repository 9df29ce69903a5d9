//! Reconciliation at start: before the runner's first decision, every journaled action that
//! has no outcome (the process died mid-call, or the answer was lost) and every decision that
//! was journaled as executable but never attempted is settled, so nothing decided is lost or
//! done twice:
//!
//! * Heroku shows it landed → the attempt is recorded ok, "reconciled after restart";
//! * it did not land and is still wanted (manual or automatic, decided less than the deadline
//!   ago, default 5 min) → carried out now under the same decision id, as the next attempt;
//! * otherwise → recorded abandoned with the reason, and an `action-abandoned` alert event.
//!
//! A scheduled clean (`crate::clean::schedule`) found unfinished is abandoned, never re-run.
//! An attempt in an outcome this version does not know is reported (error log and a
//! `journal-unreadable` event), never acted on. Abandoned and failed decisions are handed to
//! the runner through [`NotCarriedOut`], which takes them out of the policy state (see
//! [`forget`]) so cooldowns and budgets count only what was carried out.
//!
//! Also the test-only pause points (`DYNOPILOT_TEST_PAUSE_AT`), which let process-level tests
//! SIGKILL the daemon at a known point of an action's life.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::{Action, Decision, PolicyState, Reason};
use dynopilot_heroku::wire::FormationUpdate;
use dynopilot_heroku::{HerokuError, WriteCheck};
use dynopilot_store::{ActionOutcome, ActionRecord, Batch, DecisionRecord, Event, Store};

use crate::executor::{Executor, Outcome};

/// How old a decision may be and still be carried out after a restart.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5 * 60);

/// What the ok record of a landed attempt says.
pub const RECONCILED: &str = "reconciled after restart";

/// Decisions that were not carried out (failed for certain, or abandoned): the runner removes
/// them from the policy state on its next tick.
#[derive(Debug, Default)]
pub struct NotCarriedOut(Mutex<Vec<Decision>>);

impl NotCarriedOut {
    pub fn push(&self, decision: Decision) {
        if let Ok(mut list) = self.0.lock() {
            list.push(decision);
        }
    }

    pub fn take(&self) -> Vec<Decision> {
        self.0
            .lock()
            .map(|mut list| std::mem::take(&mut *list))
            .unwrap_or_default()
    }
}

/// Takes a decision that was not carried out out of the policy state: its restart record, the
/// dyno's last-restart time and restart-counter reset (back to the previous restart, if any),
/// and for formation changes what dynopilot believes it set and the scale-direction time, so
/// the engine re-learns the formation from Heroku and may decide again at once.
pub fn forget(state: &mut PolicyState, decision: &Decision) {
    let at = decision.at;
    let target = match &decision.action {
        Action::RestartDyno { dyno, .. } => dyno.clone(),
        Action::RestartProcessType { process_type } => process_type.clone(),
        Action::RestartApp => "*".to_owned(),
        Action::ScaleFormation { process_type, .. } | Action::Resize { process_type, .. } => {
            forget_formation(state, process_type, at);
            return;
        }
        Action::Alert { .. } | Action::RunHook { .. } => return,
    };
    state
        .restarts
        .retain(|r| !(r.at == at && r.target == target));
    if let Action::RestartDyno { dyno, .. } = &decision.action {
        let previous = state
            .restarts
            .iter()
            .filter(|r| &r.target == dyno)
            .map(|r| r.at)
            .max();
        if state.last_restart.get(dyno) == Some(&at) {
            match previous {
                Some(p) => state.last_restart.insert(dyno.clone(), p),
                None => state.last_restart.remove(dyno),
            };
        }
        if state.counter_reset.get(dyno) == Some(&at) {
            state.counter_reset.remove(dyno);
        }
    }
}

fn forget_formation(state: &mut PolicyState, process_type: &str, at: Timestamp) {
    if state
        .formations
        .get(process_type)
        .is_some_and(|f| f.at == at)
    {
        state.formations.remove(process_type);
    }
    for times in [&mut state.scaled_up_at, &mut state.scaled_down_at] {
        if times.get(process_type) == Some(&at) {
            times.remove(process_type);
        }
    }
}

/// What reconciliation did, by decision id (for the log, tests and the demo).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    pub confirmed: Vec<String>,
    pub carried_out: Vec<String>,
    /// With the reason.
    pub abandoned: Vec<(String, String)>,
    /// Still open: Heroku could not be read; left for the next start.
    pub unknown: Vec<String>,
    /// Journal rows this version cannot read.
    pub unreadable: Vec<String>,
}

/// Settles every unfinished action of `apps` (see the module doc). Uses the executor to carry
/// out what is still wanted; decisions not carried out go to `executor.not_carried_out`.
pub async fn reconcile(executor: &mut Executor, apps: &[String], deadline: Duration) -> Report {
    let mut report = Report::default();
    for app in apps {
        reconcile_app(executor, app, deadline, &mut report).await;
    }
    let settled = report.confirmed.len()
        + report.carried_out.len()
        + report.abandoned.len()
        + report.unknown.len()
        + report.unreadable.len();
    if settled > 0 {
        tracing::warn!(
            confirmed = report.confirmed.len(),
            carried_out = report.carried_out.len(),
            abandoned = report.abandoned.len(),
            unknown = report.unknown.len(),
            unreadable = report.unreadable.len(),
            "reconciled unfinished actions from before the restart"
        );
    }
    report
}

async fn reconcile_app(
    executor: &mut Executor,
    app: &str,
    deadline: Duration,
    report: &mut Report,
) {
    let store = Arc::clone(&executor.store);
    match store.unfinished_actions(app).await {
        Ok(unfinished) => {
            for u in unfinished {
                if u.decision.kind == crate::clean::schedule::KIND {
                    let now = executor.clock.now();
                    crate::clean::schedule::settle_unfinished(&*store, &u.decision, u.attempt, now)
                        .await;
                    report
                        .abandoned
                        .push((u.decision.id.clone(), "clean interrupted".to_owned()));
                    continue;
                }
                let Some(decision) = readable(
                    &*store,
                    executor.clock.now(),
                    &u.decision,
                    Some(&u.outcome),
                    report,
                )
                .await
                else {
                    continue;
                };
                let started = Started {
                    attempt: u.attempt,
                    at: u.started_at,
                };
                settle_started(executor, &decision, started, deadline, report).await;
            }
        }
        Err(e) => {
            tracing::error!(app, error = %e, "cannot read unfinished actions; they stay unsettled")
        }
    }
    match store.unattempted_decisions(app).await {
        Ok(queued) => {
            for record in queued {
                if record.kind == crate::clean::schedule::KIND {
                    let now = executor.clock.now();
                    crate::clean::schedule::settle_unfinished(&*store, &record, 1, now).await;
                    report
                        .abandoned
                        .push((record.id.clone(), "clean interrupted".to_owned()));
                    continue;
                }
                let Some(decision) =
                    readable(&*store, executor.clock.now(), &record, None, report).await
                else {
                    continue;
                };
                let why = "dynopilot stopped before sending it";
                carry_out_or_abandon(executor, &decision, 1, why, deadline, report).await;
            }
        }
        Err(e) => {
            tracing::error!(app, error = %e, "cannot read queued decisions; they stay unsettled")
        }
    }
}

/// The journaled attempt that has no outcome.
#[derive(Clone, Copy)]
struct Started {
    attempt: u32,
    at: Timestamp,
}

/// The decision behind a journal row, or `None` (reported) when this version cannot read it
/// or its outcome word.
async fn readable(
    store: &dyn Store,
    now: Timestamp,
    record: &DecisionRecord,
    outcome: Option<&str>,
    report: &mut Report,
) -> Option<Decision> {
    let problem = match outcome {
        Some(word) if ActionOutcome::parse(word).is_none() => Some(format!(
            "its last attempt is in state {word:?}, which this version does not know"
        )),
        _ => None,
    };
    let problem = match (
        problem,
        serde_json::from_value::<Decision>(record.decision.clone()),
    ) {
        (Some(p), _) => p,
        (None, Ok(decision)) => return Some(decision),
        (None, Err(e)) => format!("its decision cannot be read: {e}"),
    };
    let message = format!("journaled action {} not acted on: {problem}", record.id);
    tracing::error!(app = %record.app, decision = %record.id, "{message}");
    event(
        store,
        now,
        &record.app,
        "journal-unreadable",
        &message,
        &record.id,
    )
    .await;
    report.unreadable.push(record.id.clone());
    None
}

async fn settle_started(
    executor: &mut Executor,
    decision: &Decision,
    started: Started,
    deadline: Duration,
    report: &mut Report,
) {
    let landed = match heroku_check(decision) {
        Some(check) => {
            let check = check.as_check();
            executor
                .client(&decision.app)
                .write_landed(&decision.app, &check, started.at)
                .await
        }
        // Alerts and hooks are not Heroku writes: re-run them if still wanted.
        None => Ok(false),
    };
    match landed {
        Ok(true) => {
            let record = ActionRecord {
                decision_id: decision.id.clone(),
                attempt: started.attempt,
                started_at: started.at,
                finished_at: Some(executor.clock.now()),
                outcome: ActionOutcome::Ok,
                error: Some(RECONCILED.to_owned()),
            };
            if let Err(e) = executor.store.record_action(&record).await {
                tracing::error!(decision = %decision.id, error = %e, "cannot record a reconciled action");
            }
            tracing::info!(app = %decision.app, action = %decision.action, "{RECONCILED}: Heroku shows it was done");
            report.confirmed.push(decision.id.clone());
        }
        Ok(false) => {
            let why = "dynopilot stopped before Heroku acted on it";
            // Heroku's state proves this attempt did not land: it failed, and says why.
            let record = ActionRecord {
                decision_id: decision.id.clone(),
                attempt: started.attempt,
                started_at: started.at,
                finished_at: Some(executor.clock.now()),
                outcome: ActionOutcome::Failed,
                error: Some(format!("{why} (checked after restart)")),
            };
            if let Err(e) = executor.store.record_action(&record).await {
                tracing::error!(decision = %decision.id, error = %e, "cannot record a failed attempt");
            }
            let next = started.attempt + 1;
            carry_out_or_abandon(executor, decision, next, why, deadline, report).await;
        }
        Err(e) => still_unknown(executor, decision, started, &e, report).await,
    }
}

/// Heroku could not be read: the attempt stays open (journaled unknown) and is reported.
async fn still_unknown(
    executor: &Executor,
    decision: &Decision,
    started: Started,
    error: &HerokuError,
    report: &mut Report,
) {
    let message = format!(
        "{} (decision {}): whether Heroku acted is unknown; could not read Heroku's state: {error}",
        decision.action, decision.id
    );
    let record = ActionRecord {
        decision_id: decision.id.clone(),
        attempt: started.attempt,
        started_at: started.at,
        finished_at: None,
        outcome: ActionOutcome::Unknown,
        error: Some(message.clone()),
    };
    if let Err(e) = executor.store.record_action(&record).await {
        tracing::error!(decision = %decision.id, error = %e, "cannot record an unknown outcome");
    }
    tracing::error!(app = %decision.app, "{message}");
    let now = executor.clock.now();
    event(
        &*executor.store,
        now,
        &decision.app,
        "alert:action-unknown",
        &message,
        &decision.id,
    )
    .await;
    report.unknown.push(decision.id.clone());
}

async fn carry_out_or_abandon(
    executor: &mut Executor,
    decision: &Decision,
    attempt: u32,
    why: &str,
    deadline: Duration,
    report: &mut Report,
) {
    let now = executor.clock.now();
    let age = now.since(decision.at);
    if age <= deadline {
        tracing::info!(app = %decision.app, action = %decision.action, attempt, "carrying out a decision from before the restart ({why})");
        match executor.execute_attempt(decision, attempt).await {
            Outcome::Done | Outcome::AlreadyDone | Outcome::Skipped(_) => {
                report.carried_out.push(decision.id.clone());
            }
            Outcome::Failed { .. } | Outcome::Unknown { .. } => {
                report.unknown.push(decision.id.clone());
            }
        }
        return;
    }
    let who = match &decision.reason {
        Reason::Manual { who, .. } => format!(" (asked by {who})"),
        _ => String::new(),
    };
    let reason = format!(
        "{why}, and it was decided {} s ago, past the {} s deadline",
        age.as_secs(),
        deadline.as_secs()
    );
    let record = ActionRecord {
        decision_id: decision.id.clone(),
        attempt,
        started_at: now,
        finished_at: Some(now),
        outcome: ActionOutcome::Abandoned,
        error: Some(reason.clone()),
    };
    if let Err(e) = executor.store.record_action(&record).await {
        tracing::error!(decision = %decision.id, error = %e, "cannot record an abandoned action");
    }
    let message = format!("abandoned {}{who}: {reason}", decision.action);
    tracing::error!(app = %decision.app, decision = %decision.id, "{message}");
    event(
        &*executor.store,
        now,
        &decision.app,
        "alert:action-abandoned",
        &message,
        &decision.id,
    )
    .await;
    executor.not_carried_out.push(decision.clone());
    report.abandoned.push((decision.id.clone(), reason));
}

/// The Heroku write a decision makes, owned so a `WriteCheck` can borrow from it.
enum HerokuWrite<'a> {
    Restart(WriteCheck<'a>),
    Formation(&'a str, FormationUpdate),
}

impl HerokuWrite<'_> {
    fn as_check(&self) -> WriteCheck<'_> {
        match self {
            HerokuWrite::Restart(check) => check.clone(),
            HerokuWrite::Formation(process_type, update) => WriteCheck::Formation {
                process_type,
                update,
            },
        }
    }
}

fn heroku_check(decision: &Decision) -> Option<HerokuWrite<'_>> {
    Some(match &decision.action {
        Action::ScaleFormation {
            process_type, to, ..
        } => HerokuWrite::Formation(process_type, FormationUpdate::quantity(*to)),
        Action::Resize {
            process_type, to, ..
        } => HerokuWrite::Formation(process_type, FormationUpdate::size(to.clone())),
        Action::RestartDyno { dyno, .. } => HerokuWrite::Restart(WriteCheck::RestartDyno { dyno }),
        Action::RestartProcessType { process_type } => {
            HerokuWrite::Restart(WriteCheck::RestartProcessType { process_type })
        }
        Action::RestartApp => HerokuWrite::Restart(WriteCheck::RestartAll),
        Action::Alert { .. } | Action::RunHook { .. } => return None,
    })
}

async fn event(
    store: &dyn Store,
    at: Timestamp,
    app: &str,
    kind: &str,
    message: &str,
    decision: &str,
) {
    let batch = Batch {
        events: vec![Event {
            app: app.to_owned(),
            at,
            kind: kind.to_owned(),
            message: message.to_owned(),
            detail: serde_json::json!({ "decision": decision }),
        }],
        ..Batch::default()
    };
    if let Err(e) = store.write_batch(&batch).await {
        tracing::error!(app, error = %e, "cannot record a reconciliation event");
    }
}

/// Test-only pause points: when `DYNOPILOT_TEST_PAUSE_AT` names `point`, the task prints
/// `dynopilot test pause at <point>` to stderr and never continues, so a test can SIGKILL the
/// process exactly there. Unset (always, outside tests) it costs one cached env lookup.
pub async fn test_pause(point: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    let at = AT.get_or_init(|| std::env::var("DYNOPILOT_TEST_PAUSE_AT").ok());
    if at.as_deref() == Some(point) {
        tracing::warn!("dynopilot test pause at {point}");
        #[allow(
            clippy::print_stderr,
            reason = "the marker a test waits for before SIGKILL"
        )]
        {
            eprintln!("dynopilot test pause at {point}");
        }
        std::future::pending::<()>().await;
    }
}
