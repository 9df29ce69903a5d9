//! Router aggregation: request counts, status classes and latency sketches (service, connect,
//! app-reported queue time) per process type over fixed windows, closed into `ObservedState`
//! as time passes.

use std::collections::BTreeMap;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::{ObservedState, RouterWindow};

use super::{ROUTER_WINDOW_MS, ROUTER_WINDOWS_KEPT};

#[derive(Debug, Default)]
pub struct OpenWindows {
    open: BTreeMap<String, RouterWindow>,
}

/// One router line's contribution.
#[derive(Debug, Clone, Copy)]
pub struct RequestSample {
    pub at: Timestamp,
    pub status: Option<u16>,
    pub service_ms: Option<f64>,
    pub connect_ms: Option<f64>,
}

fn window_start(at: Timestamp) -> Timestamp {
    Timestamp::from_millis(at.as_millis().div_euclid(ROUTER_WINDOW_MS) * ROUTER_WINDOW_MS)
}

impl OpenWindows {
    /// The open window of `process_type` for a line written at `at`. A line older than the
    /// open window counts in it rather than being lost (logplex batches can arrive late).
    fn window(
        &mut self,
        process_type: &str,
        at: Timestamp,
        observed: &mut ObservedState,
    ) -> &mut RouterWindow {
        let start = window_start(at);
        if self
            .open
            .get(process_type)
            .is_some_and(|open| open.start < start)
        {
            self.close(process_type, observed);
        }
        if !self.open.contains_key(process_type) {
            let window = RouterWindow {
                start,
                end: Timestamp::from_millis(start.as_millis() + ROUTER_WINDOW_MS),
                ..RouterWindow::default()
            };
            self.open.insert(process_type.to_owned(), window);
        }
        self.open
            .get_mut(process_type)
            .unwrap_or_else(|| unreachable!("inserted above"))
    }

    /// Queue time reported by the app itself (router lines carry none).
    pub fn add_queue_time(
        &mut self,
        process_type: &str,
        at: Timestamp,
        ms: f64,
        observed: &mut ObservedState,
    ) {
        self.window(process_type, at, observed).queue_ms.add(ms);
    }

    pub fn add(&mut self, process_type: &str, sample: RequestSample, observed: &mut ObservedState) {
        let window = self.window(process_type, sample.at, observed);
        window.count += 1;
        match sample.status.map(|s| s / 100) {
            Some(2) => window.status_2xx += 1,
            Some(3) => window.status_3xx += 1,
            Some(4) => window.status_4xx += 1,
            Some(5) => window.status_5xx += 1,
            _ => {}
        }
        if let Some(ms) = sample.service_ms {
            window.service_ms.add(ms);
        }
        if let Some(ms) = sample.connect_ms {
            window.connect_ms.add(ms);
        }
    }

    /// Closes every window that ended at or before `now`.
    pub fn close_before(&mut self, now: Timestamp, observed: &mut ObservedState) {
        let due: Vec<String> = self
            .open
            .iter()
            .filter(|(_, w)| w.end <= now)
            .map(|(t, _)| t.clone())
            .collect();
        for process_type in due {
            self.close(&process_type, observed);
        }
    }

    fn close(&mut self, process_type: &str, observed: &mut ObservedState) {
        let Some(window) = self.open.remove(process_type) else {
            return;
        };
        let state = observed
            .process_types
            .entry(process_type.to_owned())
            .or_default();
        state.router.push(window);
        let excess = state.router.len().saturating_sub(ROUTER_WINDOWS_KEPT);
        state.router.drain(..excess);
    }
}
