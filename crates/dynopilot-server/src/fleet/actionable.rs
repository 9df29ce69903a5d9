//! Which log lines may drive an action. A line about a dyno not in the app's current dyno list
//! (from the API poll), or stamped far from now (a replayed or delayed batch, or a clock in the
//! future), updates history only and is counted by reason; and the log source's own state
//! (listening since, first line, gaps) that silence is measured against.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::{Availability, LogSourceState};
use dynopilot_logplex::Message;

use super::AppState;
use super::observe::Urgency;

/// Lines older than this are history: every policy window that acts is shorter.
pub const STALE_AFTER: Duration = Duration::from_secs(5 * 60);
/// Lines stamped further in the future than this are not trusted (clock skew allowance).
pub const FUTURE_SKEW: Duration = Duration::from_secs(2 * 60);
/// A source silent this long and then delivering again is treated as reconnected: lines of the
/// gap may be lost, so silence before it proves nothing.
pub const SOURCE_GAP: Duration = Duration::from_secs(60);
/// Lines a little ahead of our clock are taken as written now, so they cannot extend cooldowns.
const SMALL_SKEW: Duration = Duration::from_secs(5);

/// Why a line updated history but may not drive an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NotActionable {
    Stale,
    Future,
    UnknownDyno,
}

impl NotActionable {
    pub const ALL: [NotActionable; 3] = [
        NotActionable::Stale,
        NotActionable::Future,
        NotActionable::UnknownDyno,
    ];

    /// The `reason` label on `/metrics`.
    pub fn key(self) -> &'static str {
        match self {
            NotActionable::Stale => "stale",
            NotActionable::Future => "future",
            NotActionable::UnknownDyno => "unknown_dyno",
        }
    }

    /// Why, in words, for the dashboard.
    pub fn describe(self) -> &'static str {
        match self {
            NotActionable::Stale => "older than 5 minutes (replayed or delayed)",
            NotActionable::Future => "more than 2 minutes in the future",
            NotActionable::UnknownDyno => "about a dyno not in the app's dyno list",
        }
    }
}

/// Whether a line written at `at` and received at `now` is too far from now to act on.
pub fn timing(at: Timestamp, now: Timestamp) -> Option<NotActionable> {
    if at < now.minus(STALE_AFTER) {
        Some(NotActionable::Stale)
    } else if at > now.plus(FUTURE_SKEW) {
        Some(NotActionable::Future)
    } else {
        None
    }
}

/// Per app: the dyno list and the lines counted as not actionable.
#[derive(Debug, Default)]
pub struct Actionability {
    /// Names in the app's current dyno list; `None` when dynopilot does not track it (tests,
    /// offline analysis): then every dyno name is accepted.
    known_dynos: Option<BTreeSet<String>>,
    pub counts: BTreeMap<NotActionable, u64>,
    /// Set while one line is applied when it named an unknown dyno.
    pub(super) unknown_dyno_in_line: bool,
    last_received: Option<Timestamp>,
}

impl Actionability {
    pub fn knows(&self, dyno: &str) -> bool {
        self.known_dynos.as_ref().is_none_or(|k| k.contains(dyno))
    }

    fn count(&mut self, reason: NotActionable) {
        *self.counts.entry(reason).or_default() += 1;
    }
}

impl AppState {
    /// dynopilot starts listening to this app's log source at `now`: silence counts from here,
    /// and no dyno is trusted before the API lists it.
    pub fn start_listening(&mut self, now: Timestamp) {
        let runtime_metrics = self.observed.log_source.runtime_metrics;
        self.observed.log_source = LogSourceState {
            runtime_metrics,
            ..LogSourceState::listening(now)
        };
        self.lines.known_dynos.get_or_insert_with(BTreeSet::new);
    }

    /// The app has no log source: every policy that needs log lines is blind.
    pub fn without_log_source(&mut self) {
        let runtime_metrics = self.observed.log_source.runtime_metrics;
        self.observed.log_source = LogSourceState {
            runtime_metrics,
            ..LogSourceState::none()
        };
        self.lines.known_dynos.get_or_insert_with(BTreeSet::new);
    }

    pub fn set_runtime_metrics(&mut self, on: Availability) {
        self.observed.log_source.runtime_metrics = on;
    }

    /// The app's current dyno list, from the Platform API.
    pub fn set_dyno_list(&mut self, names: impl IntoIterator<Item = String>) {
        self.lines.known_dynos = Some(names.into_iter().collect());
    }

    pub fn knows_dyno(&self, name: &str) -> bool {
        self.lines.knows(name)
    }

    /// Lines that updated history but drove nothing, by reason.
    pub fn not_actionable(&self) -> &BTreeMap<NotActionable, u64> {
        &self.lines.counts
    }

    /// Applies one log line written at `at`, received at `now`. Lines too far from now keep
    /// only their history (releases); lines about unknown dynos change no dyno.
    pub fn apply_line(
        &mut self,
        at: Timestamp,
        now: Timestamp,
        process: &str,
        message: &Message<'_>,
    ) -> Urgency {
        self.received(now);
        if let Some(reason) = timing(at, now) {
            self.lines.count(reason);
            if reason == NotActionable::Stale && matches!(message, Message::Release(_)) {
                self.observe(at, process, message);
            }
            return Urgency::Routine;
        }
        self.lines.unknown_dyno_in_line = false;
        let urgency = self.observe(at.min(now.plus(SMALL_SKEW)), process, message);
        if self.lines.unknown_dyno_in_line {
            self.lines.count(NotActionable::UnknownDyno);
            return Urgency::Routine;
        }
        urgency
    }

    /// The source delivered a line at `now`: proof that it works, and the end of any gap.
    fn received(&mut self, now: Timestamp) {
        let source = &mut self.observed.log_source;
        if source.listening_since.is_some()
            && self
                .lines
                .last_received
                .is_some_and(|last| now.since(last) > SOURCE_GAP)
        {
            source.last_reconnect = Some(now);
        }
        source.heard(now);
        self.lines.last_received = Some(now);
    }
}
