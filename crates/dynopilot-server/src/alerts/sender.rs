//! The runner's side: hands journaled decisions (and dynopilot's own events) to the dispatcher
//! over a bounded channel with `try_send`, so a slow or dead channel can never hold a decision
//! or an action back. A full channel drops the hand-off, counts it and logs it.

use std::sync::Arc;

use dynopilot_core::policy::Decision;
use dynopilot_notify::AlertEvent;
use tokio::sync::mpsc;

use super::stats::AlertStats;

/// What the dispatcher is handed.
#[derive(Clone, Debug)]
pub enum Handoff {
    /// A journaled decision; the dispatcher decides whether it is an alert.
    Decision(Box<Decision>),
    /// An event built elsewhere (`dynopilot-started`, `dynopilot-stopped`).
    Event(Box<AlertEvent>),
}

/// Cheap to clone; the default sends nowhere (no alerts configured).
#[derive(Clone, Default)]
pub struct AlertSender {
    tx: Option<mpsc::Sender<Handoff>>,
    stats: Arc<AlertStats>,
}

impl AlertSender {
    pub fn new(tx: mpsc::Sender<Handoff>, stats: Arc<AlertStats>) -> Self {
        AlertSender {
            tx: Some(tx),
            stats,
        }
    }

    pub fn is_connected(&self) -> bool {
        self.tx.is_some()
    }

    pub fn decision(&self, decision: &Decision) {
        self.offer(Handoff::Decision(Box::new(decision.clone())));
    }

    pub fn event(&self, event: AlertEvent) {
        self.offer(Handoff::Event(Box::new(event)));
    }

    fn offer(&self, handoff: Handoff) {
        let Some(tx) = &self.tx else { return };
        if let Err(e) = tx.try_send(handoff) {
            self.stats.count_handoff_dropped();
            let why = match e {
                mpsc::error::TrySendError::Full(_) => "the alert queue is full",
                mpsc::error::TrySendError::Closed(_) => "the alert dispatcher has stopped",
            };
            tracing::warn!("alert not queued: {why}");
        }
    }
}

impl std::fmt::Debug for AlertSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertSender")
            .field("connected", &self.tx.is_some())
            .finish_non_exhaustive()
    }
}
