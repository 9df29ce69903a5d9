//! The executor: carries out decisions on Heroku through the client, one at a time per app, and
//! journals every attempt. A decision whose action already completed is never carried out again,
//! even after a crash mid-action. Non-repeatable writes (restarts) go through the client's
//! checked path, so a lost answer is settled by reading Heroku's state, never by resending
//! blindly; what stays open is journaled `unknown` for reconciliation at the next start.
//! Failures are reported back to the fleet state, where the core turns them into alerts, and to
//! the runner, which stops counting them in cooldowns and budgets.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::Clock;
use dynopilot_core::policy::{Action, ApiFailure, Decision};
use dynopilot_heroku::wire::FormationUpdate;
use dynopilot_heroku::{HerokuClient, HerokuError, Landed, WriteCheck, WriteOutcome};
use dynopilot_store::{ActionOutcome, ActionRecord, Event, Store, StoreError};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ingest::Ingest;
use crate::outcomes::{Caller, Ended, Outcomes};
use crate::reconcile::NotCarriedOut;
use crate::web::control::action_kind;

/// How long an action waits for the store to journal it before it is given up (and reported).
const JOURNAL_PATIENCE: Duration = Duration::from_secs(600);

pub struct Executor {
    /// The client of each app (its own key, else the daemon's).
    pub clients: crate::clients::AppClients,
    pub store: Arc<dyn Store>,
    pub ingest: Ingest,
    pub clock: Arc<dyn Clock>,
    /// Outcome and API error counters for `/metrics`; share the web state's.
    pub stats: Arc<Outcomes>,
    /// Decisions that failed for certain: the runner takes them out of the policy state.
    pub not_carried_out: Arc<NotCarriedOut>,
    completed: BTreeMap<String, HashSet<String>>,
    /// Set by `run`: a shutdown stops waiting for the store.
    stop: CancellationToken,
    /// True when an alert dispatcher runs: a rule's `webhook` action is its delivery (to the
    /// channel the rule names), journaled in the delivery journal.
    pub hooks_are_alerts: bool,
}

/// What happened to one decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    AlreadyDone,
    Skipped(String),
    /// `kind` names the failure for metrics (`HerokuError::kind`, `journal`).
    Failed {
        kind: &'static str,
        message: String,
    },
    /// The request left but its answer was lost, and Heroku's state could not settle whether
    /// it landed: journaled `unknown`, settled at the next start.
    Unknown {
        kind: &'static str,
        message: String,
    },
}

impl Outcome {
    fn failed(kind: &'static str, message: impl Into<String>) -> Self {
        Outcome::Failed {
            kind,
            message: message.into(),
        }
    }

    /// How the metrics count it; `None` for a decision that was already done.
    fn ended(&self) -> Option<Ended> {
        match self {
            Outcome::Done => Some(Ended::Succeeded),
            Outcome::AlreadyDone => None,
            Outcome::Skipped(_) => Some(Ended::Skipped),
            Outcome::Failed { kind, .. } | Outcome::Unknown { kind, .. } => {
                Some(Ended::Failed(kind))
            }
        }
    }
}

impl Executor {
    pub fn new(
        client: HerokuClient,
        store: Arc<dyn Store>,
        ingest: Ingest,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Executor {
            clients: crate::clients::AppClients::single(client),
            store,
            ingest,
            clock,
            stats: Arc::default(),
            not_carried_out: Arc::default(),
            completed: BTreeMap::new(),
            stop: CancellationToken::new(),
            hooks_are_alerts: false,
        }
    }

    /// Carries out decisions until the channel closes or `cancel` fires; the decision in hand
    /// is always finished first.
    pub async fn run(mut self, mut decisions: mpsc::Receiver<Decision>, cancel: CancellationToken) {
        self.stop = cancel.clone();
        loop {
            let decision = tokio::select! {
                biased;
                next = decisions.recv() => match next {
                    Some(d) => d,
                    None => return,
                },
                () = cancel.cancelled() => return,
            };
            self.execute(&decision).await;
        }
    }

    /// The client acting for `app`.
    pub fn client(&self, app: &str) -> &HerokuClient {
        self.clients.for_app(app)
    }

    pub async fn execute(&mut self, decision: &Decision) -> Outcome {
        self.execute_attempt(decision, 1).await
    }

    /// Carries out `decision` as attempt number `attempt` (reconciliation resumes a decision
    /// under its own id with the next attempt number).
    pub async fn execute_attempt(&mut self, decision: &Decision, attempt: u32) -> Outcome {
        let outcome = self.execute_once(decision, attempt).await;
        if let Some(ended) = outcome.ended() {
            self.stats
                .count_action(action_kind(&decision.action), ended);
        }
        outcome
    }

    async fn execute_once(&mut self, decision: &Decision, attempt: u32) -> Outcome {
        if self.is_completed(decision).await {
            return Outcome::AlreadyDone;
        }
        let started_at = self.clock.now();
        let mut record = ActionRecord {
            decision_id: decision.id.clone(),
            attempt,
            started_at,
            finished_at: None,
            outcome: ActionOutcome::Started,
            error: None,
        };
        // The decision is journaled and its cooldown already counts, so giving up here would
        // lose the action for good: wait for the store instead (nothing else can be journaled
        // meanwhile either).
        if let Err(e) = self.journal_until_done(&record).await {
            return Outcome::failed("journal", format!("journal: {e}"));
        }
        crate::reconcile::test_pause("attempt-journaled").await;
        let outcome = self.apply(decision).await;
        crate::reconcile::test_pause("answered").await;
        record.finished_at = Some(self.clock.now());
        (record.outcome, record.error) = match &outcome {
            Outcome::Done | Outcome::AlreadyDone => (ActionOutcome::Ok, None),
            Outcome::Skipped(why) => (ActionOutcome::Skipped, Some(why.clone())),
            Outcome::Failed { message, .. } => (ActionOutcome::Failed, Some(message.clone())),
            Outcome::Unknown { message, .. } => (ActionOutcome::Unknown, Some(message.clone())),
        };
        if let Err(e) = self.journal_until_done(&record).await {
            tracing::error!(error = %e, decision = %decision.id, "cannot journal action outcome");
        }
        match &outcome {
            Outcome::Done | Outcome::Skipped(_) => {
                self.completed
                    .entry(decision.app.clone())
                    .or_default()
                    .insert(decision.id.clone());
            }
            Outcome::Failed { message, .. } => {
                self.report_failure(decision, message);
                self.not_carried_out.push(decision.clone());
            }
            // It may have landed: it keeps counting in cooldowns and budgets.
            Outcome::Unknown { message, .. } => self.report_failure(decision, message),
            Outcome::AlreadyDone => {}
        }
        outcome
    }

    /// Writes an action record, retrying with growing pauses (1 s up to 30 s) while the store
    /// fails, for at most `JOURNAL_PATIENCE`; logs the outage at error level once.
    async fn journal_until_done(&self, record: &ActionRecord) -> Result<(), StoreError> {
        let give_up = self.clock.now().plus(JOURNAL_PATIENCE);
        let mut pause = Duration::from_secs(1);
        let mut logged = false;
        loop {
            let error = match self.store.record_action(record).await {
                Ok(()) => {
                    if logged {
                        tracing::warn!(decision = %record.decision_id, "action journaled after the store came back");
                    }
                    return Ok(());
                }
                Err(e) => e,
            };
            if self.clock.now().plus(pause) > give_up {
                return Err(error);
            }
            if !logged {
                tracing::error!(error = %error, decision = %record.decision_id, "cannot journal action; waiting for the store before acting");
                logged = true;
            }
            tokio::select! {
                () = self.clock.sleep(pause) => {}
                () = self.stop.cancelled() => return Err(error),
            }
            pause = (pause * 2).min(Duration::from_secs(30));
        }
    }

    async fn is_completed(&mut self, decision: &Decision) -> bool {
        if !self.completed.contains_key(&decision.app) {
            match self.store.completed_decision_ids(&decision.app).await {
                Ok(ids) => {
                    self.completed.insert(decision.app.clone(), ids);
                }
                Err(e) => tracing::error!(error = %e, "cannot read completed actions"),
            }
        }
        self.completed
            .get(&decision.app)
            .is_some_and(|ids| ids.contains(&decision.id))
    }

    async fn apply(&self, decision: &Decision) -> Outcome {
        let app = decision.app.as_str();
        let update;
        let check = match &decision.action {
            Action::ScaleFormation {
                process_type, to, ..
            } => {
                update = FormationUpdate::quantity(*to);
                WriteCheck::Formation {
                    process_type,
                    update: &update,
                }
            }
            Action::Resize {
                process_type, to, ..
            } => {
                update = FormationUpdate::size(to.clone());
                WriteCheck::Formation {
                    process_type,
                    update: &update,
                }
            }
            Action::RestartDyno { dyno, .. } => WriteCheck::RestartDyno { dyno },
            Action::RestartProcessType { process_type } => {
                WriteCheck::RestartProcessType { process_type }
            }
            Action::RestartApp => WriteCheck::RestartAll,
            // The runner already logged the alert with its reason; here it is journaled.
            Action::Alert { topic, message, .. } => {
                return self.alert(decision, topic, message).await;
            }
            Action::RunHook { name } if self.hooks_are_alerts => {
                tracing::info!(app, channel = %name, "webhook action handed to the alert channel");
                return Outcome::Done;
            }
            Action::RunHook { name } => {
                return Outcome::Skipped(format!("no hook named {name} is configured"));
            }
        };
        match self.client(app).write_checked(app, &check).await {
            Ok(Landed::Answered) => {
                tracing::info!(app, action = %decision.action, "done");
                Outcome::Done
            }
            Ok(Landed::Confirmed) => {
                tracing::info!(app, action = %decision.action, "done (answer lost; Heroku's state confirms it)");
                Outcome::Done
            }
            Err(e) => self.failed_write(&e),
        }
    }

    fn failed_write(&self, e: &HerokuError) -> Outcome {
        self.stats.count_api_error(Caller::Executor, e);
        match e.write_outcome() {
            WriteOutcome::NotApplied => Outcome::failed(e.kind(), e.to_string()),
            WriteOutcome::Unknown => Outcome::Unknown {
                kind: e.kind(),
                message: format!("{e}; whether Heroku acted is unknown"),
            },
        }
    }

    async fn alert(&self, decision: &Decision, topic: &str, message: &str) -> Outcome {
        let event = Event {
            app: decision.app.clone(),
            at: decision.at,
            kind: format!("alert:{topic}"),
            message: message.to_owned(),
            detail: serde_json::json!({ "decision": decision.id }),
        };
        let batch = dynopilot_store::Batch {
            events: vec![event],
            ..Default::default()
        };
        match self.store.write_batch(&batch).await {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::failed("journal", format!("journal alert: {e}")),
        }
    }

    fn report_failure(&self, decision: &Decision, why: &str) {
        tracing::error!(app = %decision.app, action = %decision.action, error = why, "Heroku call failed");
        if let Ok(mut fleet) = self.ingest.fleet.lock() {
            let failures = &mut fleet.app_mut(&decision.app).observed.api_failures;
            failures.push(ApiFailure {
                at: self.clock.now(),
                operation: decision.action.to_string(),
                message: why.to_owned(),
            });
            let excess = failures.len().saturating_sub(50);
            failures.drain(..excess);
        }
    }
}
