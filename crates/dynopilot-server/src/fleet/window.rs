//! Router aggregation: request counts, status classes and latency sketches (service, connect,
//! app-reported queue time) per process type over fixed windows, closed into `ObservedState`
//! as time passes.

use std::collections::BTreeMap;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::{ObservedState, RouterWindow};

use super::{ROUTER_WINDOW_MS, ROUTER_WINDOWS_KEPT};

/// Windows still collecting lines, by process type and start. Several can be open at once:
/// the previous window stays open through the grace period while the next one fills.
#[derive(Debug, Default)]
pub struct OpenWindows {
    open: BTreeMap<(String, Timestamp), RouterWindow>,
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

/// Where the closed window of `process_type` starting at `start` is, if it is still kept.
fn closed_position(
    observed: &ObservedState,
    process_type: &str,
    start: Timestamp,
) -> Option<usize> {
    observed
        .process_types
        .get(process_type)?
        .router
        .iter()
        .rposition(|w| w.start == start)
}

impl OpenWindows {
    /// The window of `process_type` for a line written at `at`. A line that arrives after its
    /// window was closed (a late drain batch) is merged into that closed window, so no second
    /// window of the same period appears.
    fn window<'a>(
        &'a mut self,
        process_type: &str,
        at: Timestamp,
        observed: &'a mut ObservedState,
    ) -> &'a mut RouterWindow {
        let start = window_start(at);
        let key = (process_type.to_owned(), start);
        if !self.open.contains_key(&key)
            && let Some(i) = closed_position(observed, process_type, start)
        {
            let state = observed
                .process_types
                .get_mut(process_type)
                .unwrap_or_else(|| unreachable!("found above"));
            return &mut state.router[i];
        }
        self.open.entry(key).or_insert_with(|| RouterWindow {
            start,
            end: Timestamp::from_millis(start.as_millis() + ROUTER_WINDOW_MS),
            ..RouterWindow::default()
        })
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

    /// Closes every window that ended at or before `now`, oldest first.
    pub fn close_before(&mut self, now: Timestamp, observed: &mut ObservedState) {
        let due: Vec<(String, Timestamp)> = self
            .open
            .iter()
            .filter(|(_, w)| w.end <= now)
            .map(|(key, _)| key.clone())
            .collect();
        let mut due: Vec<_> = due
            .into_iter()
            .filter_map(|key| self.open.remove(&key).map(|w| (key.0, w)))
            .collect();
        due.sort_by_key(|(_, w)| w.start);
        for (process_type, window) in due {
            close(&process_type, window, observed);
        }
    }
}

fn close(process_type: &str, window: RouterWindow, observed: &mut ObservedState) {
    let state = observed
        .process_types
        .entry(process_type.to_owned())
        .or_default();
    state.router.push(window);
    let excess = state.router.len().saturating_sub(ROUTER_WINDOWS_KEPT);
    state.router.drain(..excess);
}
