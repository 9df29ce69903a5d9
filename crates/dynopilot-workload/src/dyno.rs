//! One dyno's internal state: lifecycle bookkeeping, its threads (when each frees up), and the
//! memory and load-average figures its runtime metrics report.

use dynopilot_core::DynoSize;

use crate::config::MemoryModel;
use crate::model::DynoState;

pub(crate) const US: i64 = 1_000_000;

/// A job being worked by one worker thread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Job {
    pub arrival_us: i64,
    pub service_us: i64,
}

pub(crate) struct Dyno {
    /// Index into the world's process types.
    pub kind: usize,
    pub number: u32,
    pub name: String,
    pub size: &'static DynoSize,
    pub state: DynoState,
    pub state_since_us: i64,
    pub created_us: i64,
    /// Counts processes started in this dyno; timers carry it so stale ones are ignored.
    pub boot: u32,
    pub instance_id: String,
    /// Removed from the formation (scaled away) once its process has exited.
    pub removed: bool,
    /// Scaled away, waiting for the process to exit.
    pub retiring: bool,
    /// When each web thread is next free (Kiefer–Wolfowitz recursion for a FIFO c-server queue).
    pub free_us: Vec<i64>,
    /// Job being worked per worker thread.
    pub jobs: Vec<Option<Job>>,
    pub release: u32,
    pub memory: Memory,
    pub load: [f64; 3],
    /// Consecutive crashes (drives the restart back-off); reset after a long healthy run.
    pub crashes: u32,
    pub up_since_us: i64,
    /// Metrics ticks since boot (lines every fourth).
    pub ticks: u32,
}

impl Dyno {
    /// Threads busy at `now`.
    pub fn busy(&self, now_us: i64) -> usize {
        self.free_us.iter().filter(|&&f| f > now_us).count()
            + self.jobs.iter().filter(|j| j.is_some()).count()
    }

    /// Resets threads and memory for a new process starting at `now`.
    pub fn fresh_process(&mut self, now_us: i64, concurrency: usize, is_web: bool) {
        self.free_us.clear();
        self.jobs.clear();
        if is_web {
            self.free_us.resize(concurrency, now_us);
        } else {
            self.jobs.resize(concurrency, None);
        }
        self.memory = Memory {
            started_us: now_us,
            ..Memory::default()
        };
        self.load = [0.0; 3];
        self.ticks = 0;
    }
}

/// Memory of the running process.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Memory {
    pub started_us: i64,
    /// Heap growth from requests served (above base).
    pub grown_mb: f64,
    pub pgpgin: u64,
    pub pgpgout: u64,
    /// Set once an R14 has been written for the current excursion over quota.
    pub over_quota: bool,
}

/// One runtime-metrics reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MemoryReading {
    pub total_mb: f64,
    pub rss_mb: f64,
    pub cache_mb: f64,
    pub swap_mb: f64,
}

impl Memory {
    /// A request (or job) served: the heap grows, ever more slowly near the plateau.
    pub fn on_request(&mut self, model: &MemoryModel) {
        let room = if model.plateau_mb > 0.0 {
            (1.0 - self.grown_mb / model.plateau_mb).max(0.0)
        } else {
            1.0
        };
        self.grown_mb += model.per_request_mb * room;
        // Page traffic roughly follows work done.
        self.pgpgin += 3;
        self.pgpgout += 2;
    }

    /// Memory at `now`: rss fills the quota first, the rest goes to swap.
    pub fn reading(&self, model: &MemoryModel, quota_mb: f64, now_us: i64) -> MemoryReading {
        let hours = (now_us - self.started_us).max(0) as f64 / (3_600.0 * US as f64);
        let used = model.base_mb + self.grown_mb + model.leak_mb_per_hour * hours;
        let rss = used.min(quota_mb);
        let swap = (used - rss).max(0.0);
        MemoryReading {
            total_mb: rss + swap + model.cache_mb,
            rss_mb: rss,
            cache_mb: model.cache_mb,
            swap_mb: swap,
        }
    }
}

/// Exponential decay factors of the 1, 5 and 15 minute load averages for one step of `dt_s`.
pub(crate) fn load_decay(dt_s: f64) -> [f64; 3] {
    [60.0, 300.0, 900.0].map(|period| (-dt_s / period).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leak_grows_linearly_and_spills_into_swap() {
        let model = MemoryModel {
            base_mb: 100.0,
            per_request_mb: 0.0,
            leak_mb_per_hour: 100.0,
            cache_mb: 0.0,
            ..MemoryModel::default()
        };
        let m = Memory::default();
        let r = m.reading(&model, 512.0, 2 * 3_600 * US);
        assert!((r.total_mb - 300.0).abs() < 1e-9);
        let r = m.reading(&model, 512.0, 6 * 3_600 * US);
        assert_eq!((r.rss_mb, r.swap_mb), (512.0, 188.0));
    }

    #[test]
    fn growth_levels_off_at_plateau() {
        let model = MemoryModel {
            per_request_mb: 1.0,
            plateau_mb: 50.0,
            ..MemoryModel::default()
        };
        let mut m = Memory::default();
        for _ in 0..10_000 {
            m.on_request(&model);
        }
        assert!(m.grown_mb <= 50.0 && m.grown_mb > 49.0, "{}", m.grown_mb);
    }
}
