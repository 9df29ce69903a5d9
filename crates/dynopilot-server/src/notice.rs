//! Notices about the daemon's own watch (an app discovered or retired, an app's polls failing
//! and recovering), raised outside the runner's tick: each is a journaled decision like any
//! alert, handed to the alert dispatcher and to the executor, which records it as an alert event.

use std::sync::Arc;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::{Action, Decision, Reason, Severity};
use dynopilot_store::{DecisionRecord, Store};
use tokio::sync::mpsc;

/// Where notices go; cheap to clone.
#[derive(Clone)]
pub struct Notices {
    pub store: Arc<dyn Store>,
    pub alerts: crate::alerts::AlertSender,
    /// The executor's queue (it journals the alert event and the action's outcome).
    pub executor: mpsc::Sender<Decision>,
}

impl Notices {
    /// Journals `topic` (a core alert topic such as `app-discovered` or `api_failure:poll`) for
    /// `app`, then alerts and records it. `None` when the journal refused it (logged).
    pub async fn raise(
        &self,
        app: &str,
        topic: &str,
        severity: Severity,
        message: String,
        now: Timestamp,
    ) -> Option<Decision> {
        let decision = notice(app, topic, severity, message, now);
        let record = DecisionRecord::from_decision(&decision)
            .map_err(|e| tracing::error!(app, error = %e, "notice not serialisable"))
            .ok()?;
        if let Err(e) = self.store.insert_decision(&record).await {
            tracing::error!(app, topic, error = %e, "cannot journal the notice; not alerted");
            return None;
        }
        self.alerts.decision(&decision);
        if self.executor.send(decision.clone()).await.is_err() {
            tracing::warn!(app, topic, "executor has stopped; notice journaled only");
        }
        Some(decision)
    }
}

/// The decision a notice is journaled as; its id is stable for the same app, topic and time.
pub fn notice(
    app: &str,
    topic: &str,
    severity: Severity,
    message: String,
    now: Timestamp,
) -> Decision {
    Decision {
        id: dynopilot_notify::topic::stable_id(&[
            "notice",
            app,
            topic,
            &now.as_millis().to_string(),
        ]),
        app: app.to_owned(),
        at: now,
        action: Action::Alert {
            topic: topic.to_owned(),
            severity,
            message: message.clone(),
        },
        reason: Reason::Notify { event: message },
        executed: true,
        dry_run: false,
        blocked: Vec::new(),
        limited_by: Vec::new(),
    }
}
