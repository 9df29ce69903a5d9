//! `StoreHealth`: whether the store answers, as seen by the parts that use it (decision
//! journal, policy state, the recorder's writer, dashboard reads). An outage starts when one
//! part fails and ends when every part that failed has succeeded again; each start and end is
//! logged once and raised as an `alert:store-error` event per app (queued in the batch writer,
//! which holds it until the store takes it). `/healthz` and the API read it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use dynopilot_core::{Clock, Timestamp};
use dynopilot_store::{BatchWriter, Event, Store, TimeRange, WriterStats};
use tokio_util::sync::CancellationToken;

/// The alert topic of a store outage.
pub const TOPIC: &str = "store-error";

/// A store outage in progress.
#[derive(Clone, Debug, PartialEq)]
pub struct Outage {
    pub since: Timestamp,
    /// The parts that saw the store fail and have not seen it work since.
    pub components: Vec<&'static str>,
    pub last_error: String,
}

#[derive(Debug, Default)]
pub struct StoreHealth {
    state: Mutex<State>,
    alerts: OnceLock<AlertSink>,
}

#[derive(Debug, Default)]
struct State {
    failing: BTreeSet<&'static str>,
    since: Option<Timestamp>,
    last_error: String,
    outages: u64,
}

/// Where outage alerts go: one event per watched app.
#[derive(Debug)]
struct AlertSink {
    writer: BatchWriter,
    apps: Vec<String>,
}

impl StoreHealth {
    /// Raises alerts as events of `apps` through `writer`; without this, outages are only
    /// logged and reported. Set once, by the daemon.
    pub fn alert_through(&self, writer: BatchWriter, apps: Vec<String>) {
        let _ = self.alerts.set(AlertSink { writer, apps });
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `component` could not read or write the store.
    pub fn failed(&self, component: &'static str, error: &dyn std::fmt::Display, now: Timestamp) {
        let message = crate::config::redact_urls_in(&error.to_string());
        let started = {
            let mut state = self.state();
            state.last_error.clone_from(&message);
            state.failing.insert(component);
            let started = state.since.is_none();
            if started {
                state.since = Some(now);
                state.outages += 1;
            }
            started
        };
        if started {
            tracing::error!(component, error = %message, "the store is failing: actions are held back, observations are kept in memory, /healthz reports degraded");
            self.alert(
                now,
                format!("the store is failing ({component}): {message}"),
                "failing",
            );
        }
    }

    /// `component` read or wrote the store successfully.
    pub fn succeeded(&self, component: &'static str, now: Timestamp) {
        let ended = {
            let mut state = self.state();
            if !state.failing.remove(component) || !state.failing.is_empty() {
                return;
            }
            state.since.take()
        };
        if let Some(since) = ended {
            let secs = now.since(since).as_secs();
            tracing::warn!(
                outage_seconds = secs,
                "the store is answering again; acting again"
            );
            self.alert(
                now,
                format!("the store is answering again after {secs} s"),
                "recovered",
            );
        }
    }

    /// The outage in progress, if any.
    pub fn outage(&self) -> Option<Outage> {
        let state = self.state();
        state.since.map(|since| Outage {
            since,
            components: state.failing.iter().copied().collect(),
            last_error: state.last_error.clone(),
        })
    }

    /// Outages started since the daemon started.
    pub fn outages(&self) -> u64 {
        self.state().outages
    }

    fn alert(&self, now: Timestamp, message: String, phase: &str) {
        let Some(sink) = self.alerts.get() else {
            return;
        };
        for app in &sink.apps {
            sink.writer.event(Event {
                app: app.clone(),
                at: now,
                kind: format!("alert:{TOPIC}"),
                message: message.clone(),
                detail: serde_json::json!({ "topic": TOPIC, "phase": phase }),
            });
        }
    }
}

/// What `watch` looks at.
pub struct Watch {
    pub health: Arc<StoreHealth>,
    pub writer: Arc<WriterStats>,
    pub store: Arc<dyn Store>,
    /// An app whose rows the read probe asks for.
    pub app: Option<String>,
    pub clock: Arc<dyn Clock>,
    pub every: Duration,
}

/// Every `every` until cancelled: the recorder's writer as a part of the store (a failed
/// write starts or continues an outage, items written with no new failure end it), and, while
/// dashboard reads are failing, one small read of each journal table to see them work again.
pub async fn watch(w: Watch, cancel: CancellationToken) {
    let (mut failed, mut written) = (w.writer.failed_writes(), w.writer.written());
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = w.clock.sleep(w.every) => {}
        }
        let (now_failed, now_written) = (w.writer.failed_writes(), w.writer.written());
        let now = w.clock.now();
        if now_failed > failed {
            w.health
                .failed(RECORDER, &"batch writes of samples and events fail", now);
        } else if now_written > written {
            w.health.succeeded(RECORDER, now);
        }
        (failed, written) = (now_failed, now_written);
        let reads_failing = w
            .health
            .outage()
            .is_some_and(|o| o.components.contains(&DASHBOARD_READS));
        if let (true, Some(app)) = (reads_failing, &w.app)
            && probe_reads(w.store.as_ref(), app, now).await
        {
            w.health.succeeded(DASHBOARD_READS, now);
        }
    }
}

/// Reads one row of the decisions, actions and events of the last day.
async fn probe_reads(store: &dyn Store, app: &str, now: Timestamp) -> bool {
    let span = TimeRange::new(now.minus(Duration::from_secs(86_400)), now);
    store.decisions(app, span, 1).await.is_ok()
        && store.actions(app, span, 1).await.is_ok()
        && store.events(app, span, 1).await.is_ok()
}

/// The batch writer, as `StoreHealth` names it.
pub const RECORDER: &str = "recorder";
/// The dashboard's and the API's reads.
pub const DASHBOARD_READS: &str = "dashboard reads";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_starts_once_and_ends_when_every_failing_part_works_again() {
        let h = StoreHealth::default();
        let t = |s: i64| Timestamp::from_secs(1_700_000_000 + s);
        assert_eq!(h.outage(), None);
        h.failed("journal", &"disk I/O error", t(0));
        h.failed("recorder", &"disk I/O error", t(1));
        h.failed("journal", &"disk I/O error", t(2));
        let outage = h.outage().unwrap();
        assert_eq!(outage.since, t(0));
        assert_eq!(outage.components, ["journal", "recorder"]);
        h.succeeded("journal", t(3));
        assert!(h.outage().is_some(), "the recorder still fails");
        h.succeeded("api", t(4));
        assert!(
            h.outage().is_some(),
            "a part that never failed ends nothing"
        );
        h.succeeded("recorder", t(5));
        assert_eq!(h.outage(), None);
        assert_eq!(h.outages(), 1);
    }

    #[test]
    fn passwords_in_store_errors_are_masked() {
        let h = StoreHealth::default();
        h.failed(
            "journal",
            &"cannot reach postgres://u:hunter2@db/x",
            Timestamp::from_secs(1),
        );
        assert_eq!(
            h.outage().unwrap().last_error,
            "cannot reach postgres://u:***@db/x"
        );
    }
}
