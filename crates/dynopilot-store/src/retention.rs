//! Retention: how long samples and rollups are kept, and the pure downsampling of old raw
//! samples into five-minute rows.
//!
//! `Store::prune(now, &retention)` does, in one transaction:
//! 1. deletes sample rows (raw or downsampled) older than `now - raw`;
//! 2. deletes rollups whose minute is older than `now - rollups`;
//! 3. replaces raw samples older than `now - downsample_after` (rounded down to a five-minute
//!    boundary, so a window is never split between two runs) by one row per
//!    (app, dyno, instance, five-minute window): memory fields keep the window's maximum,
//!    because memory trouble (R14/R15) is about peaks, and load keeps the mean.
//!
//! Decisions, actions, events and policy state are the audit trail and are never pruned here.

use std::collections::BTreeMap;
use std::time::Duration;

use dynopilot_core::Timestamp;

use crate::model::Sample;
use crate::rollup::align_down;

/// The width of a downsampled sample row.
pub const DOWNSAMPLE_WINDOW: Duration = Duration::from_secs(300);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Samples (raw and downsampled) older than this are deleted. Default 48 h.
    pub raw: Duration,
    /// Rollups older than this are deleted. Default 30 days.
    pub rollups: Duration,
    /// Raw samples older than this become five-minute rows; `None` keeps full resolution
    /// until `raw` deletes them. Default 6 h.
    pub downsample_after: Option<Duration>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            raw: Duration::from_secs(48 * 3600),
            rollups: Duration::from_secs(30 * 24 * 3600),
            downsample_after: Some(Duration::from_secs(6 * 3600)),
        }
    }
}

impl Retention {
    /// Raw samples strictly before this instant are downsampled, if downsampling is on.
    pub fn downsample_cutoff(&self, now: Timestamp) -> Option<Timestamp> {
        let after = self.downsample_after?;
        Some(align_down(now.minus(after), window_ms()))
    }
}

/// What one `prune` run changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub samples_deleted: u64,
    pub rollups_deleted: u64,
    /// Raw samples replaced by downsampled rows.
    pub samples_downsampled: u64,
    /// Downsampled rows written.
    pub downsampled_rows: u64,
    /// Settled alert deliveries (sent, failed, dropped) older than the rollup retention;
    /// pending ones are kept whatever their age.
    pub deliveries_deleted: u64,
}

fn window_ms() -> i64 {
    i64::try_from(DOWNSAMPLE_WINDOW.as_millis()).unwrap_or(300_000)
}

/// Groups raw samples into one row per (app, dyno, instance, five-minute window).
pub fn downsample(raw: &[Sample]) -> Vec<Sample> {
    type Key = (String, String, Option<String>, Timestamp);
    let mut groups: BTreeMap<Key, Acc> = BTreeMap::new();
    for s in raw {
        let window = align_down(s.at, window_ms());
        let key = (s.app.clone(), s.dyno.clone(), s.instance_id.clone(), window);
        groups.entry(key).or_default().add(s);
    }
    groups
        .into_iter()
        .map(|((app, dyno, instance_id, at), acc)| acc.finish(app, dyno, instance_id, at))
        .collect()
}

#[derive(Default)]
struct Acc {
    count: u32,
    memory_total_mb: Option<f64>,
    memory_rss_mb: Option<f64>,
    memory_swap_mb: Option<f64>,
    memory_quota_mb: Option<f64>,
    load_sum: f64,
    load_n: u32,
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

impl Acc {
    fn add(&mut self, s: &Sample) {
        self.count = self.count.saturating_add(s.count.max(1));
        self.memory_total_mb = max_opt(self.memory_total_mb, s.memory_total_mb);
        self.memory_rss_mb = max_opt(self.memory_rss_mb, s.memory_rss_mb);
        self.memory_swap_mb = max_opt(self.memory_swap_mb, s.memory_swap_mb);
        self.memory_quota_mb = max_opt(self.memory_quota_mb, s.memory_quota_mb);
        if let Some(load) = s.load_1m {
            self.load_sum += load;
            self.load_n += 1;
        }
    }

    fn finish(
        self,
        app: String,
        dyno: String,
        instance_id: Option<String>,
        at: Timestamp,
    ) -> Sample {
        Sample {
            app,
            dyno,
            instance_id,
            at,
            memory_total_mb: self.memory_total_mb,
            memory_rss_mb: self.memory_rss_mb,
            memory_swap_mb: self.memory_swap_mb,
            memory_quota_mb: self.memory_quota_mb,
            load_1m: (self.load_n > 0).then(|| self.load_sum / f64::from(self.load_n)),
            span: DOWNSAMPLE_WINDOW,
            count: self.count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dyno: &str, at_s: i64, total: f64, load: Option<f64>) -> Sample {
        Sample {
            memory_total_mb: Some(total),
            load_1m: load,
            ..Sample::new("app", dyno, Timestamp::from_secs(at_s))
        }
    }

    #[test]
    fn downsampling_keeps_memory_peaks_and_mean_load_per_dyno_and_window() {
        let raw = vec![
            sample("web.1", 0, 100.0, Some(1.0)),
            sample("web.1", 20, 300.0, Some(3.0)),
            sample("web.1", 299, 200.0, None),
            sample("web.1", 300, 50.0, Some(0.5)),
            sample("web.2", 10, 70.0, Some(2.0)),
        ];
        let rows = downsample(&raw);
        let summary: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.dyno.as_str(),
                    r.at.as_millis(),
                    r.count,
                    r.memory_total_mb,
                    r.load_1m,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("web.1", 0, 3, Some(300.0), Some(2.0)),
                ("web.1", 300_000, 1, Some(50.0), Some(0.5)),
                ("web.2", 0, 1, Some(70.0), Some(2.0)),
            ]
        );
        assert!(rows.iter().all(|r| r.span == DOWNSAMPLE_WINDOW));
    }

    #[test]
    fn the_cutoff_is_a_window_boundary() {
        let r = Retention::default();
        let now = Timestamp::from_secs(7 * 3600 + 123);
        assert_eq!(r.downsample_cutoff(now), Some(Timestamp::from_secs(3600)));
        let off = Retention {
            downsample_after: None,
            ..r
        };
        assert_eq!(off.downsample_cutoff(now), None);
    }
}
