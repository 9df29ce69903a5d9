//! The learned traffic pattern of the `capacity` algorithm: the request rate of every minute
//! over the last `pattern_history`, kept in the algorithm's persisted state, and a forecast
//! from it when the traffic repeats itself with a period (hourly or daily batches, a daily
//! cycle). A period counts only when the newest minutes matched the same minutes one period
//! earlier much better than a flat line does, so a plateau or a one-off crowd forecasts nothing.

use serde::{Deserialize, Serialize};

use super::horizontal::RouterLoad;
use super::ts_serde;
use crate::Timestamp;

const MINUTE_MS: i64 = 60_000;
/// Periods tried, in minutes: the usual spacings of cron-like batches, and the day.
const PERIODS: [usize; 8] = [60, 120, 180, 240, 360, 480, 720, 1440];
/// Minutes compared to decide whether a period holds (at most one period).
const MATCH_MINUTES: usize = 180;
/// A period holds when the newest minutes differ from one period earlier by at most this
/// share of the traffic …
const MAX_MISMATCH: f64 = 0.15;
/// … and by less than this share of how much they differ from their own mean.
const MAX_MISMATCH_OF_FLAT: f64 = 0.5;
/// Minutes compared to scale last period's rates to this period's level.
const LEVEL_MINUTES: usize = 10;
/// A minute with no router window is unknown (never read as zero traffic).
const UNKNOWN: f32 = -1.0;

/// Per-minute request rates, oldest first. Persisted with the algorithm's state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateHistory {
    /// Epoch minute of the minute still filling (the entry after the last of `rps`).
    pub open_minute: Option<i64>,
    /// Mean rps of each closed minute, the last one being `open_minute − 1`; −1 when unknown.
    pub rps: Vec<f32>,
    /// Sum of the rates of the router windows seen so far in the open minute, and their count
    /// (the daemon's windows are all 10 s long, so the minute's rate is their mean).
    pub open_sum: f64,
    pub open_windows: u32,
    /// End of the newest router window already counted.
    #[serde(with = "ts_serde::opt")]
    pub counted_until: Option<Timestamp>,
}

/// A forecast from a period that held.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Forecast {
    pub period_minutes: usize,
    /// The highest rate expected from now to `now + lead`.
    pub rps: f64,
    /// How much the newest minutes differed from one period earlier (share of traffic).
    pub mismatch: f64,
}

impl RateHistory {
    /// Counts the router windows not counted yet; keeps at most `keep_minutes` closed minutes.
    pub fn record(&mut self, windows: &[RouterLoad], keep_minutes: usize) {
        let mut fresh: Vec<&RouterLoad> = windows
            .iter()
            .filter(|w| self.counted_until.is_none_or(|c| w.at > c))
            .filter(|w| w.rps.is_finite() && w.rps >= 0.0)
            .collect();
        fresh.sort_by_key(|w| w.at);
        for w in fresh {
            // A window ending on a minute boundary belongs to the minute before it.
            let minute = (w.at.as_millis() - 1).div_euclid(MINUTE_MS);
            self.roll_to(minute, keep_minutes);
            if self.open_minute == Some(minute) {
                self.open_sum += w.rps;
                self.open_windows += 1;
            }
            self.counted_until = Some(w.at);
        }
    }

    /// Closes the open minute (and marks skipped ones unknown) until `minute` is open.
    fn roll_to(&mut self, minute: i64, keep_minutes: usize) {
        let Some(open) = self.open_minute else {
            self.open_minute = Some(minute);
            return;
        };
        if minute <= open {
            return;
        }
        let closed = if self.open_windows > 0 {
            (self.open_sum / f64::from(self.open_windows)) as f32
        } else {
            UNKNOWN
        };
        self.rps.push(closed);
        let gap = usize::try_from(minute - open - 1).unwrap_or(usize::MAX);
        let gap = gap.min(keep_minutes);
        self.rps.extend(std::iter::repeat_n(UNKNOWN, gap));
        if self.rps.len() > keep_minutes {
            let drop = self.rps.len() - keep_minutes;
            self.rps.drain(..drop);
        }
        self.open_minute = Some(minute);
        self.open_sum = 0.0;
        self.open_windows = 0;
    }

    /// The highest rate the best holding period expects between `now` and `now + lead`.
    pub fn forecast(&self, now: Timestamp, lead_ms: i64) -> Option<Forecast> {
        let open = self.open_minute?;
        let now_minute = now.as_millis().div_euclid(MINUTE_MS);
        let until_minute = (now.as_millis() + lead_ms.max(0)).div_euclid(MINUTE_MS);
        // Closed minutes are indexed back from the open one: `back(1)` is the newest.
        let len = self.rps.len();
        let back = |k: i64| -> Option<f64> {
            let k = usize::try_from(k).ok()?;
            (1..=len)
                .contains(&k)
                .then(|| f64::from(self.rps[len - k]))
                .filter(|v| *v >= 0.0)
        };
        let mut best: Option<(f64, usize)> = None;
        for period in PERIODS {
            let Some(mismatch) = mismatch(&back, period) else {
                continue;
            };
            if best.is_none_or(|(m, _)| mismatch < m) {
                best = Some((mismatch, period));
            }
        }
        let (mismatch, period) = best?;
        let p = i64::try_from(period).ok()?;
        let level = level_ratio(&back, p)?;
        let ahead = (now_minute..=until_minute)
            .filter_map(|m| back(open - m + p))
            .reduce(f64::max)?;
        Some(Forecast {
            period_minutes: period,
            rps: ahead * level,
            mismatch,
        })
    }
}

/// How much the newest `MATCH_MINUTES` (at most one period) differ from one period earlier,
/// as a share of their traffic; `None` when the period does not hold or history is short.
fn mismatch(back: &impl Fn(i64) -> Option<f64>, period: usize) -> Option<f64> {
    let p = i64::try_from(period).ok()?;
    let n = i64::try_from(period.min(MATCH_MINUTES)).ok()?;
    let (mut diff, mut total, mut values) = (0.0, 0.0, Vec::new());
    for k in 1..=n {
        if let (Some(now), Some(then)) = (back(k), back(k + p)) {
            diff += (now - then).abs();
            total += now;
            values.push(now);
        }
    }
    // Most of the compared minutes must be known.
    if (values.len() as i64) * 10 < n * 9 || total <= 0.0 {
        return None;
    }
    let mean = total / values.len() as f64;
    let flat: f64 = values.iter().map(|v| (v - mean).abs()).sum();
    let share = diff / total;
    (share <= MAX_MISMATCH && diff < MAX_MISMATCH_OF_FLAT * flat).then_some(share)
}

/// This period's level against the last one's over the newest minutes (a quieter weekend day
/// scales a weekday's shape down), bounded to [0.5, 2].
fn level_ratio(back: &impl Fn(i64) -> Option<f64>, p: i64) -> Option<f64> {
    let (mut now, mut then) = (0.0, 0.0);
    for k in 1..=i64::try_from(LEVEL_MINUTES).ok()? {
        if let (Some(a), Some(b)) = (back(k), back(k + p)) {
            now += a;
            then += b;
        }
    }
    (then > 0.0).then(|| (now / then).clamp(0.5, 2.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(minute: i64, second: i64, rps: f64) -> RouterLoad {
        RouterLoad {
            at: Timestamp::from_millis((minute * 60 + second) * 1000),
            rps,
            service_mean_ms: 100.0,
            queue_mean_ms: 0.0,
            answered: 1,
        }
    }

    fn history(minutes: i64, rate: impl Fn(i64) -> f64) -> RateHistory {
        let mut h = RateHistory::default();
        for m in 0..minutes {
            let ws: Vec<RouterLoad> = (1..=6).map(|i| window(m, i * 10, rate(m))).collect();
            h.record(&ws, 2_000);
        }
        h
    }

    #[test]
    fn minutes_are_means_of_their_windows_and_counted_once() {
        let mut h = RateHistory::default();
        let ws = [window(0, 10, 10.0), window(0, 20, 20.0), window(1, 10, 5.0)];
        h.record(&ws, 100);
        h.record(&ws, 100);
        assert_eq!(h.rps, vec![15.0]);
        assert_eq!(h.open_minute, Some(1));
        h.record(&[window(4, 10, 1.0)], 100);
        assert_eq!(h.rps, vec![15.0, 5.0, UNKNOWN, UNKNOWN]);
    }

    #[test]
    fn a_two_hour_batch_is_forecast_before_it_starts() {
        let batch = |m: i64| if m % 120 < 30 { 1000.0 } else { 200.0 };
        let h = history(4 * 60 - 2, batch);
        // 238 minutes in: the next batch starts at minute 240.
        let now = Timestamp::from_millis((238 * 60 + 10) * 1000);
        let soon = h.forecast(now, 60_000).map(|f| f.rps).unwrap_or(0.0);
        assert!(soon < 250.0, "{soon}");
        let next = Timestamp::from_millis((239 * 60 + 10) * 1000);
        let h = history(4 * 60 - 1, batch);
        let f = h.forecast(next, 60_000).unwrap();
        assert_eq!(f.period_minutes, 120);
        assert!((f.rps - 1000.0).abs() < 1.0, "{f:?}");
    }

    #[test]
    fn a_plateau_or_a_one_off_has_no_period() {
        let noisy = |m: i64| 500.0 + ((m * 7919) % 13) as f64 * 10.0;
        let h = history(1600, noisy);
        assert_eq!(
            h.forecast(Timestamp::from_millis(1600 * 60_000), 60_000),
            None
        );
        let crowd = |m: i64| {
            if (300..330).contains(&m) {
                1000.0
            } else {
                200.0
            }
        };
        let h = history(600, crowd);
        assert_eq!(
            h.forecast(Timestamp::from_millis(600 * 60_000), 60_000),
            None
        );
    }
}
