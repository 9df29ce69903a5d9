//! The dispatcher task: turns hand-offs into alert events, routes and cools them, journals one
//! row per (event, channel) before any channel is called, then delivers due rows, each in its
//! own task so one hanging channel holds up nothing else. Rows are claimed from the store with
//! a lease, which is also how pending rows of an earlier run are resumed. A row marked sent is
//! never claimed again; a crash between the receiver's answer and that mark can repeat one
//! message, with the same event id, so receivers can tell.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::{Clock, Timestamp};
use dynopilot_notify::topic::hook_event;
use dynopilot_notify::{
    AlertEvent, Cooling, Deliver, DeliveryError, EventSettings, Receipt, Routes, Verdict, event_for,
};
use dynopilot_store::{DeliveryRecord, DeliveryState, DeliveryUpdate, Store};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::retry::RetryPolicy;
use super::sender::{AlertSender, Handoff};
use super::stats::{AlertStats, DeliveryOutcome};

/// Rows claimed per store round trip.
const CLAIM_BATCH: u32 = 32;
/// Even with nothing known to be due, the store is looked at this often: leases of a run that
/// died expire, and a store outage may have hidden rows.
const SAFETY_POLL: Duration = Duration::from_secs(30);
/// How long shutdown waits for deliveries in flight (the `dynopilot-stopped` message among
/// them) before leaving them pending for the next start.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Routing, cooling, event and retry settings (the `[alerts]` section).
#[derive(Clone, Debug)]
pub struct AlertSettings {
    pub routes: Routes,
    pub events: EventSettings,
    pub retry: RetryPolicy,
    /// Hand-offs queued for the dispatcher before new ones are dropped (and counted).
    pub queue: usize,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            routes: Routes::none(),
            events: EventSettings::default(),
            retry: RetryPolicy::default(),
            queue: 1024,
        }
    }
}

pub struct Dispatcher {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    deliver: Arc<dyn Deliver>,
    settings: AlertSettings,
    stats: Arc<AlertStats>,
    cooling: Cooling,
    /// The earliest time a row this process knows of is due.
    next_due: Option<Timestamp>,
    /// Deliveries in flight; each yields when its row is due again, if it is.
    in_flight: JoinSet<Option<Timestamp>>,
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        deliver: Arc<dyn Deliver>,
        settings: AlertSettings,
    ) -> Self {
        Dispatcher {
            store,
            clock,
            deliver,
            settings,
            stats: Arc::default(),
            cooling: Cooling::new(),
            next_due: None,
            in_flight: JoinSet::new(),
        }
    }

    /// Shares `stats` (e.g. with `/metrics`) instead of the dispatcher's own.
    pub fn with_stats(mut self, stats: Arc<AlertStats>) -> Self {
        self.stats = stats;
        self
    }

    pub fn stats(&self) -> Arc<AlertStats> {
        Arc::clone(&self.stats)
    }

    /// The sender to hand to the runner, and the receiver `run` consumes.
    pub fn channel(&self) -> (AlertSender, mpsc::Receiver<Handoff>) {
        let (tx, rx) = mpsc::channel(self.settings.queue.max(1));
        (AlertSender::new(tx, Arc::clone(&self.stats)), rx)
    }

    /// Delivers until `cancel` fires or every sender is gone; first resumes what an earlier
    /// run left pending. On the way out, takes what is still queued and waits a little for
    /// deliveries in flight.
    pub async fn run(mut self, mut rx: mpsc::Receiver<Handoff>, cancel: CancellationToken) {
        self.deliver_due().await;
        loop {
            let wait = self.wait();
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                next = rx.recv() => match next {
                    Some(handoff) => {
                        self.accept(handoff).await;
                        self.deliver_due().await;
                    }
                    None => break,
                },
                Some(done) = self.in_flight.join_next(), if !self.in_flight.is_empty() => {
                    if let Ok(Some(due)) = done {
                        self.due_at(due);
                    }
                }
                () = self.clock.sleep(wait) => {
                    self.cooling.forget_idle(self.clock.now());
                    self.deliver_due().await;
                }
            }
        }
        while let Ok(handoff) = rx.try_recv() {
            self.accept(handoff).await;
        }
        self.deliver_due().await;
        self.finish_in_flight().await;
    }

    fn wait(&self) -> Duration {
        let now = self.clock.now();
        match self.next_due {
            Some(due) => due.since(now).min(SAFETY_POLL),
            None => SAFETY_POLL,
        }
    }

    fn due_at(&mut self, due: Timestamp) {
        self.next_due = Some(self.next_due.map_or(due, |d| d.min(due)));
    }

    async fn finish_in_flight(&mut self) {
        let grace = self.clock.sleep(SHUTDOWN_GRACE);
        tokio::pin!(grace);
        while !self.in_flight.is_empty() {
            tokio::select! {
                _ = self.in_flight.join_next() => {}
                () = &mut grace => {
                    tracing::warn!(
                        pending = self.in_flight.len(),
                        "alert deliveries still in flight at shutdown; they stay pending for the next start"
                    );
                    self.in_flight.abort_all();
                    return;
                }
            }
        }
    }

    /// Journals the deliveries of one hand-off: pending rows for the channels it is routed
    /// to, or `dropped_by_cooling` rows when its condition is cooling.
    async fn accept(&mut self, handoff: Handoff) {
        if let Handoff::Decision(d) = &handoff
            && let Some((event, channel)) = hook_event(d, &self.settings.events)
        {
            let channels = std::iter::once(channel).collect();
            self.journal(&event, channels, DeliveryState::Pending).await;
            return;
        }
        let mut event = match handoff {
            Handoff::Decision(d) => match event_for(&d, &self.settings.events) {
                Some(event) => event,
                None => return,
            },
            Handoff::Event(event) => *event,
        };
        let routed = self
            .settings
            .routes
            .route(&event.topic, event.severity, &event.app);
        if routed.channels.is_empty() {
            tracing::debug!(topic = %event.topic, app = %event.app, "no route takes this alert");
            return;
        }
        let verdict = self.cooling.offer(&event, routed.cooling);
        let state = match verdict {
            Verdict::Send(digest) => {
                event.digest = digest;
                DeliveryState::Pending
            }
            Verdict::Dropped => DeliveryState::DroppedByCooling,
        };
        self.journal(&event, routed.channels, state).await;
    }

    /// One row per channel for `event`, in `state`.
    async fn journal(
        &mut self,
        event: &AlertEvent,
        channels: BTreeSet<String>,
        state: DeliveryState,
    ) {
        let now = self.clock.now();
        let json = match serde_json::to_value(event) {
            Ok(json) => json,
            Err(e) => {
                tracing::error!(error = %e, event = %event.id, "alert event not serialisable");
                return;
            }
        };
        for channel in channels {
            let row = DeliveryRecord {
                event_id: event.id.clone(),
                channel,
                app: event.app.clone(),
                topic: event.topic.clone(),
                decision_id: event.decision_id.clone(),
                state,
                attempts: 0,
                next_attempt_at: (state == DeliveryState::Pending).then_some(now),
                last_error: None,
                receipt: None,
                created_at: now,
                updated_at: now,
                event: json.clone(),
            };
            match self.store.insert_delivery(&row).await {
                Ok(true) if state == DeliveryState::DroppedByCooling => {
                    self.stats
                        .count(&row.channel, DeliveryOutcome::DroppedByCooling);
                }
                Ok(true) => self.due_at(now),
                Ok(false) => {
                    tracing::debug!(event = %row.event_id, channel = %row.channel, "alert already journaled");
                }
                Err(e) => {
                    tracing::error!(error = %e, event = %row.event_id, channel = %row.channel, "cannot journal an alert delivery; it is not sent")
                }
            }
        }
    }

    /// Claims the rows due now and starts one delivery task per row.
    async fn deliver_due(&mut self) {
        let now = self.clock.now();
        if self.next_due.is_some_and(|due| due <= now) {
            self.next_due = None;
        }
        let lease = self.settings.retry.lease();
        let rows = match self
            .store
            .claim_due_deliveries(now, lease, CLAIM_BATCH)
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "cannot read due alert deliveries; trying again shortly");
                self.due_at(now.plus(Duration::from_secs(5)));
                return;
            }
        };
        if rows.len() == CLAIM_BATCH as usize {
            self.due_at(now);
        }
        for row in rows {
            self.start(row);
        }
    }

    fn start(&mut self, row: DeliveryRecord) {
        let attempt = Attempt {
            store: Arc::clone(&self.store),
            clock: Arc::clone(&self.clock),
            deliver: Arc::clone(&self.deliver),
            stats: Arc::clone(&self.stats),
            retry: self.settings.retry.clone(),
        };
        self.in_flight.spawn(attempt.run(row));
    }
}

/// One call to one channel for one claimed row, and the row's new state.
struct Attempt {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    deliver: Arc<dyn Deliver>,
    stats: Arc<AlertStats>,
    retry: RetryPolicy,
}

impl Attempt {
    /// Returns when the row is due again (a retry), if it is.
    async fn run(self, row: DeliveryRecord) -> Option<Timestamp> {
        let attempts = row.attempts.saturating_add(1);
        let result = match serde_json::from_value::<AlertEvent>(row.event.clone()) {
            Ok(event) => self.call(&row.channel, &event).await,
            Err(e) => Err(DeliveryError::permanent(format!(
                "the journaled event cannot be read: {e}"
            ))),
        };
        let now = self.clock.now();
        let (state, next, outcome) = match &result {
            Ok(_) => (DeliveryState::Sent, None, DeliveryOutcome::Sent),
            Err(e) if e.transient && attempts < self.retry.max_attempts => (
                DeliveryState::Pending,
                Some(now.plus(self.retry.backoff(attempts))),
                DeliveryOutcome::Retried,
            ),
            Err(_) => (DeliveryState::Failed, None, DeliveryOutcome::Failed),
        };
        let update = DeliveryUpdate {
            event_id: row.event_id.clone(),
            channel: row.channel.clone(),
            state,
            attempts,
            next_attempt_at: next,
            last_error: result.as_ref().err().map(|e| e.reason.clone()),
            receipt: result.as_ref().ok().map(|r| r.detail.clone()),
            updated_at: now,
        };
        self.log(&row, &result, outcome, attempts);
        self.stats.count(&row.channel, outcome);
        match self.store.update_delivery(&update).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(event = %row.event_id, channel = %row.channel, "alert delivery was settled elsewhere meanwhile")
            }
            Err(e) => {
                tracing::error!(error = %e, event = %row.event_id, channel = %row.channel, "cannot journal the delivery's outcome; it is tried again after its lease")
            }
        }
        next
    }

    /// The channel's answer, or a transient "timed out" after `attempt_timeout` (on the
    /// injected clock).
    async fn call(&self, channel: &str, event: &AlertEvent) -> Result<Receipt, DeliveryError> {
        let timeout = self.retry.attempt_timeout;
        tokio::select! {
            result = self.deliver.deliver(channel, event) => result,
            () = self.clock.sleep(timeout) => Err(DeliveryError::transient(format!(
                "timed out after {} s", timeout.as_secs_f64()
            ))),
        }
    }

    fn log(
        &self,
        row: &DeliveryRecord,
        result: &Result<Receipt, DeliveryError>,
        outcome: DeliveryOutcome,
        attempts: u32,
    ) {
        let (app, channel, topic) = (&row.app, &row.channel, &row.topic);
        match (result, outcome) {
            (Ok(receipt), _) => {
                tracing::info!(app, channel, topic, attempts, receipt = %receipt.detail, "alert sent")
            }
            (Err(e), DeliveryOutcome::Retried) => {
                tracing::warn!(app, channel, topic, attempts, error = %e, "alert not delivered; retrying")
            }
            (Err(e), _) => {
                tracing::error!(app, channel, topic, attempts, error = %e, "alert delivery failed")
            }
        }
    }
}
