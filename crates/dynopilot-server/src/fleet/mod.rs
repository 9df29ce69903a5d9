//! Fleet state: what dynopilot currently knows about every app, built from parsed log lines
//! and API polls, in the shape the decision core reads (`ObservedState`).

mod actionable;
mod agent;
mod observe;
pub mod restart_request;
mod window;

use std::collections::BTreeMap;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::ObservedState;
use dynopilot_logplex::Message;

pub use actionable::{FUTURE_SKEW, NotActionable, SOURCE_GAP, STALE_AFTER};
pub use observe::Urgency;
use window::OpenWindows;

/// Closed router windows kept per process type (an hour of 10 s windows).
pub const ROUTER_WINDOWS_KEPT: usize = 360;
/// Router lines are aggregated over windows of this many milliseconds.
pub const ROUTER_WINDOW_MS: i64 = 10_000;
/// A window is closed this long after its end: drain batches bring its last lines a moment
/// later, and a decision should see the window whole (later stragglers are still merged in).
pub const ROUTER_WINDOW_GRACE_MS: i64 = 2_000;

/// One app's live state.
#[derive(Debug, Default)]
pub struct AppState {
    pub observed: ObservedState,
    windows: OpenWindows,
    /// `dyno=` ids of runs that have been replaced, per dyno name: their late samples are
    /// ignored instead of flipping the dyno back to an old run.
    retired: BTreeMap<String, Vec<String>>,
    /// The dyno list lines are checked against, and what was counted as not actionable.
    lines: actionable::Actionability,
    /// Access errors and active overrides, for the dashboard (`crate::access`).
    pub status: crate::access::AppStatus,
    /// What the job-queue pollers read and failed to read (`crate::queue_poll`).
    pub queue_reads: crate::queue_poll::QueueReads,
}

/// Every app's state, keyed by app name.
#[derive(Debug, Default)]
pub struct Fleet {
    apps: BTreeMap<String, AppState>,
}

impl Fleet {
    pub fn app_mut(&mut self, app: &str) -> &mut AppState {
        if !self.apps.contains_key(app) {
            self.apps.insert(app.to_owned(), AppState::default());
        }
        self.apps
            .get_mut(app)
            .unwrap_or_else(|| unreachable!("inserted above"))
    }

    pub fn app(&self, app: &str) -> Option<&AppState> {
        self.apps.get(app)
    }

    pub fn apps(&self) -> impl Iterator<Item = (&String, &AppState)> {
        self.apps.iter()
    }

    /// Applies one log message of `app`, written at `at`, by `process`.
    pub fn observe(
        &mut self,
        app: &str,
        at: Timestamp,
        process: &str,
        message: &Message<'_>,
    ) -> Urgency {
        self.app_mut(app).observe(at, process, message)
    }

    /// Closes router windows that ended at least the grace period before `now`, so the core
    /// sees them.
    pub fn close_windows(&mut self, now: Timestamp) {
        let due = Timestamp::from_millis(now.as_millis().saturating_sub(ROUTER_WINDOW_GRACE_MS));
        for state in self.apps.values_mut() {
            state.windows.close_before(due, &mut state.observed);
        }
    }
}
