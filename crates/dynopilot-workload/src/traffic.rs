//! Traffic patterns: the request rate (requests per second) as a function of time, and the CSV
//! trace loader. Arrivals are Poisson within each second at the rate the pattern gives for it.

use serde::Deserialize;

use crate::config::ConfigError;

const SECONDS_PER_DAY: f64 = 86_400.0;

/// How many requests (or jobs) per second arrive over time. `*_s` fields count seconds from the
/// start of the model; `peak_hour` is an hour of the UTC day.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TrafficPattern {
    Constant {
        rps: f64,
    },
    /// A daily sine wave between `min_rps` (12 h from the peak) and `max_rps` (at `peak_hour`).
    Diurnal {
        min_rps: f64,
        max_rps: f64,
        peak_hour: f64,
    },
    /// `before` rps until `at_s`, then `after`.
    Step {
        before: f64,
        after: f64,
        at_s: f64,
    },
    /// A flash crowd: `peak` rps from `start_s` for `duration_s`, `base` otherwise.
    Spike {
        base: f64,
        peak: f64,
        start_s: f64,
        duration_s: f64,
    },
    /// Measured `(t_seconds, rps)` points, linearly interpolated and held flat past both ends.
    Trace {
        points: Vec<(f64, f64)>,
    },
}

impl TrafficPattern {
    /// The rate at `t_s` seconds after the model start; `day_offset_s` is the UTC second of the
    /// day at which the model started (the diurnal pattern follows the wall clock).
    pub fn rate_at(&self, t_s: f64, day_offset_s: f64) -> f64 {
        let rate = match self {
            Self::Constant { rps } => *rps,
            Self::Diurnal {
                min_rps,
                max_rps,
                peak_hour,
            } => {
                let hour = ((t_s + day_offset_s) % SECONDS_PER_DAY) / 3_600.0;
                let phase = (hour - peak_hour) / 24.0 * std::f64::consts::TAU;
                min_rps + (max_rps - min_rps) * (1.0 + phase.cos()) / 2.0
            }
            Self::Step {
                before,
                after,
                at_s,
            } => {
                if t_s < *at_s {
                    *before
                } else {
                    *after
                }
            }
            Self::Spike {
                base,
                peak,
                start_s,
                duration_s,
            } => {
                if t_s >= *start_s && t_s < start_s + duration_s {
                    *peak
                } else {
                    *base
                }
            }
            Self::Trace { points } => interpolate(points, t_s),
        };
        rate.max(0.0)
    }

    /// Reads a `t_seconds,requests_per_second` trace. A header line, blank lines and `#`
    /// comments are skipped; times must increase.
    pub fn from_csv(text: &str) -> Result<Self, ConfigError> {
        let mut points: Vec<(f64, f64)> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key = format!("trace line {}", index + 1);
            let Some((t, rps)) = line.split_once(',') else {
                return Err(ConfigError::single(key, "expected `t_seconds,rps`"));
            };
            let (Ok(t), Ok(rps)) = (t.trim().parse::<f64>(), rps.trim().parse::<f64>()) else {
                if points.is_empty() && index == 0 {
                    continue; // a header such as `t_seconds,rps`
                }
                return Err(ConfigError::single(key, "values must be numbers"));
            };
            if points.last().is_some_and(|(prev, _)| t <= *prev) {
                return Err(ConfigError::single(key, "times must increase"));
            }
            if !(rps.is_finite() && rps >= 0.0 && t.is_finite()) {
                return Err(ConfigError::single(key, "rps must be a finite number ≥ 0"));
            }
            points.push((t, rps));
        }
        if points.is_empty() {
            return Err(ConfigError::single("trace", "no data points"));
        }
        Ok(Self::Trace { points })
    }

    /// Problems with the pattern's numbers, reported under `key`.
    pub(crate) fn check(&self, key: &str, v: &mut dynopilot_core::validate::Validation) {
        let rates: Vec<f64> = match self {
            Self::Constant { rps } => vec![*rps],
            Self::Diurnal {
                min_rps, max_rps, ..
            } => vec![*min_rps, *max_rps],
            Self::Step { before, after, .. } => vec![*before, *after],
            Self::Spike { base, peak, .. } => vec![*base, *peak],
            Self::Trace { points } => points.iter().map(|p| p.1).collect(),
        };
        v.check(
            rates.iter().all(|r| r.is_finite() && *r >= 0.0),
            key,
            "rates must be finite and ≥ 0",
        );
        if let Self::Trace { points } = self {
            v.check(!points.is_empty(), key, "a trace needs at least one point");
        }
    }
}

fn interpolate(points: &[(f64, f64)], t: f64) -> f64 {
    let after = points.partition_point(|p| p.0 <= t);
    match (
        after.checked_sub(1).and_then(|i| points.get(i)),
        points.get(after),
    ) {
        (Some(a), Some(b)) => a.1 + (b.1 - a.1) * (t - a.0) / (b.0 - a.0),
        (Some(a), None) => a.1,
        (None, Some(b)) => b.1,
        (None, None) => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diurnal_peaks_at_peak_hour_and_bottoms_twelve_hours_later() {
        let p = TrafficPattern::Diurnal {
            min_rps: 10.0,
            max_rps: 90.0,
            peak_hour: 14.0,
        };
        assert!((p.rate_at(14.0 * 3600.0, 0.0) - 90.0).abs() < 1e-9);
        assert!((p.rate_at(2.0 * 3600.0, 0.0) - 10.0).abs() < 1e-9);
        // Starting the model at 13:00 UTC puts the peak one hour in.
        assert!((p.rate_at(3600.0, 13.0 * 3600.0) - 90.0).abs() < 1e-9);
    }

    #[test]
    fn csv_trace_interpolates_and_holds_ends() {
        let p = TrafficPattern::from_csv("t_seconds,rps\n0,10\n# note\n100,30\n").unwrap();
        assert_eq!(p.rate_at(50.0, 0.0), 20.0);
        assert_eq!(p.rate_at(-5.0, 0.0), 10.0);
        assert_eq!(p.rate_at(500.0, 0.0), 30.0);
        assert!(TrafficPattern::from_csv("0,1\n0,2\n").is_err());
        assert!(TrafficPattern::from_csv("0,1\nx,2\n").is_err());
        assert!(TrafficPattern::from_csv("").is_err());
    }

    #[test]
    fn step_and_spike() {
        let s = TrafficPattern::Step {
            before: 1.0,
            after: 5.0,
            at_s: 10.0,
        };
        assert_eq!((s.rate_at(9.9, 0.0), s.rate_at(10.0, 0.0)), (1.0, 5.0));
        let k = TrafficPattern::Spike {
            base: 2.0,
            peak: 20.0,
            start_s: 60.0,
            duration_s: 30.0,
        };
        let rates = [
            k.rate_at(59.0, 0.0),
            k.rate_at(60.0, 0.0),
            k.rate_at(90.0, 0.0),
        ];
        assert_eq!(rates, [2.0, 20.0, 2.0]);
    }
}
