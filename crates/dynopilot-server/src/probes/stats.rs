//! Counters per probe target (runs, failures, timeouts, runs in flight) and the last problem
//! worth showing (a Pingdom token refused, a rate limit), for tests, logs and the dashboard.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
pub struct TargetStats {
    pub runs: AtomicU64,
    pub failures: AtomicU64,
    pub timeouts: AtomicU64,
    pub in_flight: AtomicU64,
    /// Most runs ever in flight at once (1 by construction).
    pub max_in_flight: AtomicU64,
    problem: Mutex<Option<String>>,
}

impl TargetStats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn problem(&self) -> Option<String> {
        self.problem.lock().ok().and_then(|p| p.clone())
    }

    pub fn set_problem(&self, problem: Option<String>) {
        if let Ok(mut p) = self.problem.lock() {
            *p = problem;
        }
    }

    /// Marks a run in flight until the guard drops.
    pub fn start(self: &Arc<Self>) -> InFlight {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self::count(&self.runs);
        InFlight(Arc::clone(self))
    }
}

pub struct InFlight(Arc<TargetStats>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Every target's counters, keyed `app/target`.
#[derive(Debug, Default)]
pub struct ProbeStats {
    targets: Mutex<BTreeMap<String, Arc<TargetStats>>>,
}

impl ProbeStats {
    pub fn target(&self, app: &str, target: &str) -> Arc<TargetStats> {
        let key = format!("{app}/{target}");
        match self.targets.lock() {
            Ok(mut map) => Arc::clone(map.entry(key).or_default()),
            Err(_) => Arc::default(),
        }
    }

    pub fn targets(&self) -> Vec<(String, Arc<TargetStats>)> {
        self.targets
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), Arc::clone(v))).collect())
            .unwrap_or_default()
    }
}
