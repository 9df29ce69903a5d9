//! Ingest: Logplex HTTPS drains, log-session tails and stdin, all folded into the fleet state
//! through one path (`Ingest::apply_entries`), with every drop counted.

pub mod dedupe;
pub mod drain;
pub mod metrics;
pub mod tail;

use std::sync::{Arc, Mutex};

use dynopilot_core::Clock;
use dynopilot_logplex::{parse_message_checked, timestamp};
use tokio::sync::Notify;

use crate::fleet::{Fleet, Urgency};
pub use metrics::IngestMetrics;

/// Shared by every ingest path.
#[derive(Clone)]
pub struct Ingest {
    pub fleet: Arc<Mutex<Fleet>>,
    pub metrics: Arc<IngestMetrics>,
    /// Woken when an observation is urgent (R14/R15, a crash, memory over quota).
    pub urgent: Arc<Notify>,
    pub clock: Arc<dyn Clock>,
}

/// One log entry from any source, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub timestamp: &'a str,
    pub source: &'a str,
    pub process: &'a str,
    pub message: &'a [u8],
    /// The message as text when the source already checked it is UTF-8 (drain frames).
    pub text: Option<&'a str>,
}

impl Ingest {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Ingest {
            fleet: Arc::new(Mutex::new(Fleet::default())),
            metrics: Arc::new(IngestMetrics::default()),
            urgent: Arc::new(Notify::new()),
            clock,
        }
    }

    /// `app` gets a log source now (e.g. stdin): silence counts from here. An app already
    /// listening keeps its start.
    pub fn start_listening(&self, app: &str) {
        let now = self.clock.now();
        if let Ok(mut fleet) = self.fleet.lock() {
            let state = fleet.app_mut(app);
            if state.observed.log_source.listening_since.is_none() {
                state.start_listening(now);
            }
        }
    }

    /// `app`'s log source delivers again now (a new log session after the old one broke):
    /// lines of the gap may be lost, so silence before now proves nothing. A source that was
    /// never disconnected keeps its observation window.
    pub fn source_reconnected(&self, app: &str) {
        let now = self.clock.now();
        if let Ok(mut fleet) = self.fleet.lock() {
            let source = &mut fleet.app_mut(app).observed.log_source;
            if source.disconnected_since.take().is_some() {
                source.last_reconnect = Some(now);
            }
        }
    }

    /// `app`'s log source broke at `now` and is being reconnected: its log-reading policies are
    /// blind until a line arrives again (the first break of an outage counts).
    pub fn source_disconnected(&self, app: &str) {
        let now = self.clock.now();
        if let Ok(mut fleet) = self.fleet.lock() {
            let source = &mut fleet.app_mut(app).observed.log_source;
            source.disconnected_since.get_or_insert(now);
        }
    }

    /// Applies one `heroku logs` line (`TIMESTAMP SOURCE[PROCESS]: MESSAGE`, from a log session
    /// or stdin) to `app`; false when it is not one, for the caller to count under its reason.
    pub fn apply_log_line(&self, app: &str, line: &[u8]) -> bool {
        let Some(l) = dynopilot_logplex::parse_line(line) else {
            return false;
        };
        let entry = Entry {
            timestamp: l.timestamp,
            source: l.source,
            process: l.process,
            message: l.message,
            text: None,
        };
        self.apply_entries(app, [entry]);
        true
    }

    /// Applies entries of one app under one lock. Entries whose timestamp cannot be read are
    /// taken as happening now (and counted); entries too far from now, or about dynos the API
    /// does not list, update history only (`AppState::apply_line`).
    pub fn apply_entries<'a>(
        &self,
        app: &str,
        entries: impl IntoIterator<Item = Entry<'a>>,
    ) -> usize {
        let now = self.clock.now();
        let mut urgency = Urgency::Routine;
        let mut applied = 0;
        {
            let Ok(mut fleet) = self.fleet.lock() else {
                self.metrics.count_dropped("state_poisoned", 1);
                return 0;
            };
            let state = fleet.app_mut(app);
            for entry in entries {
                let at = timestamp::parse(entry.timestamp).unwrap_or_else(|| {
                    self.metrics.count_dropped("bad_timestamp_used_now", 1);
                    now
                });
                let message =
                    parse_message_checked(entry.source, entry.process, entry.text, entry.message);
                urgency = urgency.max(state.apply_line(at, now, entry.process, &message));
                applied += 1;
            }
        }
        self.metrics.add_lines(applied as u64);
        if urgency == Urgency::Urgent {
            self.urgent.notify_one();
        }
        applied
    }
}
