//! Signals reported by agents inside the app (`crate::agents`): request queue time goes into the
//! same router windows as app-logged queue time, job queues become queue samples of a process
//! type, as `[[apps.queues]]` reads do.

use dynopilot_core::Timestamp;
use dynopilot_core::policy::QueueSample;

use super::AppState;

/// Queue samples kept per process type (an hour at one per 10 s).
const AGENT_QUEUE_SAMPLES_KEPT: usize = 360;

impl AppState {
    /// One web request's queue time (ms) as an agent measured it at `at`.
    pub fn add_agent_queue_time(&mut self, process_type: &str, at: Timestamp, ms: f64) {
        self.windows
            .add_queue_time(process_type, at, ms, &mut self.observed);
    }

    /// One reading of `process_type`'s job queue.
    pub fn add_agent_queue_sample(&mut self, process_type: &str, sample: QueueSample) {
        let queue = &mut self
            .observed
            .process_types
            .entry(process_type.to_owned())
            .or_default()
            .queue;
        queue.push(sample);
        let excess = queue.len().saturating_sub(AGENT_QUEUE_SAMPLES_KEPT);
        queue.drain(..excess);
    }
}
