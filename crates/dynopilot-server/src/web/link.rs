//! The runner's side of the controls: receives `ControlRequest`s, applies mode changes,
//! turns manual actions into guarded, journaled decisions and hands them to the executor.

use std::sync::Arc;

use dynopilot_core::policy::state::RestartRecord;
use dynopilot_core::policy::{Action, Decision};
use dynopilot_store::{Batch, Event};
use tokio::sync::mpsc;

use super::control::{self, ControlReply, ControlRequest, Modes, RunnerStats};
use crate::runner::Runner;

/// What the runner shares with the web side.
#[derive(Default)]
pub struct RunnerLink {
    pub modes: Arc<Modes>,
    pub stats: Arc<RunnerStats>,
    pub controls: Option<mpsc::Receiver<ControlRequest>>,
    /// Store outages as the runner and the web side see them (`/healthz`, alerts).
    pub store_health: Arc<crate::store_health::StoreHealth>,
    /// Decisions the executor (or reconciliation) did not carry out, to take out of the policy
    /// state so cooldowns and budgets count only what was done.
    pub not_carried_out: Arc<crate::reconcile::NotCarriedOut>,
    /// Every journaled decision is handed over here for alerting, never awaited.
    pub alerts: crate::alerts::AlertSender,
}

impl RunnerLink {
    /// The next control; never completes when there is no control channel.
    pub async fn next_control(&mut self) -> Option<ControlRequest> {
        match self.controls.as_mut() {
            Some(rx) => rx.recv().await,
            None => std::future::pending().await,
        }
    }
}

impl Runner {
    /// Carries out one control and replies; the reply channel may be gone (client left).
    pub async fn handle_control(&mut self, request: ControlRequest) {
        let reply = self.control_reply(&request).await;
        if request.reply.send(reply).is_err() {
            tracing::debug!(app = %request.app, "control requester left before the reply");
        }
    }

    async fn control_reply(&mut self, request: &ControlRequest) -> ControlReply {
        let ControlRequest {
            app,
            command,
            who,
            preview,
            ..
        } = request;
        let Some(config) = self.policies.get(app).cloned() else {
            return ControlReply::Rejected {
                message: format!("no app named {app}"),
            };
        };
        if *preview && let Some(message) = control::mode_preview(command) {
            return ControlReply::Applied { message };
        }
        if let Some(message) = self.web.modes.apply(app, command, who, self.clock.now()) {
            tracing::info!(app, who, "{message}");
            self.record_control_event(app, &format!("{message} by {who}"))
                .await;
            return ControlReply::Applied { message };
        }
        let now = self.clock.now();
        let observed = match self.ingest.fleet.lock() {
            Ok(fleet) => fleet
                .app(app)
                .map(|a| a.observed.clone())
                .unwrap_or_default(),
            Err(_) => {
                return ControlReply::Rejected {
                    message: "fleet state unavailable".to_owned(),
                };
            }
        };
        let state = self.states.get(app).cloned().unwrap_or_default();
        let dry_run = self.web.modes.dry_run(app, &config);
        let decision = match control::manual_decision(
            &config, &observed, &state, command, who, dry_run, now,
        ) {
            Ok(d) => d,
            Err(message) => return ControlReply::Rejected { message },
        };
        // A preview goes through the same guardrails with the same state, and stops here.
        if *preview {
            return ControlReply::Decided {
                decision: Box::new(decision),
            };
        }
        // Journaled before the answer says it was accepted: a crash from here on leaves a
        // queued decision that reconciliation carries out (or abandons with a reason).
        if !self.journal(std::slice::from_ref(&decision)).await {
            return ControlReply::Rejected {
                message: "the decision could not be journaled; nothing was done".to_owned(),
            };
        }
        crate::reconcile::test_pause("decision-journaled").await;
        self.web.stats.count_decision(&decision);
        if decision.blocked.is_empty() {
            self.remember_restart(app, &decision);
        }
        tracing::info!(app, who, action = %decision.action, executed = decision.executed, "manual decision");
        if decision.executed && self.executor.send(decision.clone()).await.is_err() {
            return ControlReply::Rejected {
                message: "the executor has stopped".to_owned(),
            };
        }
        ControlReply::Decided {
            decision: Box::new(decision),
        }
    }

    /// Manual restarts count in the restart budget and dyno cooldown like automatic ones. A
    /// manual scale is deliberately not recorded as dynopilot's own: the engine then sees a
    /// change made by a person and keeps its hands off for the manual-override period.
    fn remember_restart(&mut self, app: &str, decision: &Decision) {
        let Action::RestartDyno { dyno, .. } = &decision.action else {
            return;
        };
        let state = self.states.entry(app.to_owned()).or_default();
        state.last_restart.insert(dyno.clone(), decision.at);
        state.restarts.push(RestartRecord {
            at: decision.at,
            target: dyno.clone(),
            policy: "manual".to_owned(),
        });
    }

    /// Ends timed pauses that are over, each announced in the log and as a control event.
    pub(crate) async fn expire_pauses(&self, app: &str, now: dynopilot_core::Timestamp) {
        for message in self.web.modes.expire(app, now) {
            tracing::info!(app, "{message}");
            self.record_control_event(app, &message).await;
        }
    }

    async fn record_control_event(&self, app: &str, message: &str) {
        let batch = Batch {
            events: vec![Event {
                app: app.to_owned(),
                at: self.clock.now(),
                kind: "control".to_owned(),
                message: message.to_owned(),
                detail: serde_json::Value::Null,
            }],
            ..Batch::default()
        };
        if let Err(e) = self.store.write_batch(&batch).await {
            tracing::error!(app, error = %e, "cannot record control event");
        }
    }
}
