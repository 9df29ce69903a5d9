//! Small helpers over sample series: freshness, windows, sustained conditions and the
//! least-squares slope used by the `trend` algorithm.

use super::Sample;
use crate::Timestamp;

/// The newest usable sample at or before `now`, if it is no older than `oldest`.
pub(crate) fn latest_fresh(
    samples: &[Sample],
    now: Timestamp,
    oldest: Timestamp,
) -> Option<Sample> {
    samples
        .iter()
        .filter(|s| s.at <= now && !s.value.is_nan())
        .max_by_key(|s| s.at)
        .copied()
        .filter(|s| s.at >= oldest)
}

/// Usable samples with `from ≤ at ≤ now`, in time order.
pub(crate) fn window(samples: &[Sample], from: Timestamp, now: Timestamp) -> Vec<Sample> {
    let mut w: Vec<Sample> = samples
        .iter()
        .filter(|s| s.at >= from && s.at <= now && !s.value.is_nan())
        .copied()
        .collect();
    w.sort_by_key(|s| s.at);
    w
}

/// How long `holds` has been true of every sample in an unbroken run ending at the newest
/// sample after `after`: newest.at − oldest-in-run.at. `None` when the newest sample fails.
pub(crate) fn sustained(
    samples: &[Sample],
    after: Option<Timestamp>,
    now: Timestamp,
    holds: impl Fn(f64) -> bool,
) -> Option<(i64, Sample)> {
    let mut usable: Vec<Sample> = samples
        .iter()
        .filter(|s| s.at <= now && after.is_none_or(|a| s.at > a) && !s.value.is_nan())
        .copied()
        .collect();
    usable.sort_by_key(|s| s.at);
    let newest = *usable.last()?;
    if !holds(newest.value) {
        return None;
    }
    let start = usable
        .iter()
        .rev()
        .take_while(|s| holds(s.value))
        .last()
        .map_or(newest.at, |s| s.at);
    Some((newest.at.as_millis() - start.as_millis(), newest))
}

/// Mean and least-squares slope (value units per second) of `points`; `None` when fewer than
/// two samples or all share one timestamp (the Pingdom autoscaler divided by zero there).
pub(crate) fn mean_and_slope(points: &[(Timestamp, f64)]) -> Option<(f64, f64)> {
    let first = points.first()?.0;
    let n = points.len() as f64;
    let xs: Vec<f64> = points
        .iter()
        .map(|(t, _)| (t.as_millis() - first.as_millis()) as f64 / 1000.0)
        .collect();
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_y = points.iter().map(|(_, y)| y).sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mean_x).powi(2)).sum();
    if points.len() < 2 || sxx == 0.0 {
        return None;
    }
    let sxy: f64 = xs
        .iter()
        .zip(points)
        .map(|(x, (_, y))| (x - mean_x) * (y - mean_y))
        .sum();
    Some((mean_y, sxy / sxx))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: i64, v: f64) -> Sample {
        Sample::new(Timestamp::from_secs(secs), v)
    }

    #[test]
    fn slope_of_a_line_is_exact_and_degenerate_inputs_give_none() {
        let pts: Vec<_> = (0..5)
            .map(|i| (Timestamp::from_secs(i * 20), 100.0 + 40.0 * i as f64))
            .collect();
        let (mean, slope) = mean_and_slope(&pts).unwrap();
        assert!((mean - 180.0).abs() < 1e-9);
        assert!((slope - 2.0).abs() < 1e-9);
        let same_time = [
            (Timestamp::from_secs(1), 1.0),
            (Timestamp::from_secs(1), 9.0),
        ];
        assert_eq!(mean_and_slope(&same_time), None);
        assert_eq!(mean_and_slope(&pts[..1]), None);
        assert_eq!(mean_and_slope(&[]), None);
    }

    #[test]
    fn sustained_measures_the_unbroken_run_ending_at_the_newest_sample() {
        let samples = [
            s(0, 95.0),
            s(20, 50.0),
            s(40, 91.0),
            s(60, 92.0),
            s(80, 99.0),
        ];
        let now = Timestamp::from_secs(90);
        let (ms, newest) = sustained(&samples, None, now, |v| v > 90.0).unwrap();
        assert_eq!(ms, 40_000);
        assert_eq!(newest.at, Timestamp::from_secs(80));
        assert!(sustained(&samples, None, now, |v| v < 60.0).is_none());
        let after = Some(Timestamp::from_secs(60));
        assert_eq!(sustained(&samples, after, now, |v| v > 90.0).unwrap().0, 0);
    }

    #[test]
    fn latest_fresh_ignores_future_and_stale_samples() {
        let samples = [s(0, 1.0), s(50, 2.0), s(100, 3.0)];
        let now = Timestamp::from_secs(60);
        assert_eq!(
            latest_fresh(&samples, now, Timestamp::from_secs(30))
                .unwrap()
                .value,
            2.0
        );
        assert!(latest_fresh(&samples, now, Timestamp::from_secs(55)).is_none());
    }
}
