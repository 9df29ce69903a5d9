//! Traffic traces: `t_seconds,requests_per_second` rows read from CSV, held piecewise-constant
//! between rows (each rate lasts until the next row; the last lasts one more step), rescaled to
//! a peak and cut to a time range.

use crate::error::BacktestError;

/// Arrival rate over time, starting at second 0.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// `(t_seconds, rps)`, times strictly increasing, rates finite and ≥ 0.
    points: Vec<(f64, f64)>,
    /// Seconds covered: from 0 to `end_s`.
    end_s: f64,
}

impl Trace {
    /// A trace from points; times must increase and rates be finite and ≥ 0.
    pub fn from_points(points: Vec<(f64, f64)>) -> Result<Self, BacktestError> {
        let Some(&(first, _)) = points.first() else {
            return Err(BacktestError::Trace("no data rows".into()));
        };
        for w in points.windows(2) {
            if w[1].0 <= w[0].0 {
                return Err(BacktestError::Trace(format!(
                    "times must increase ({} after {})",
                    w[1].0, w[0].0
                )));
            }
        }
        if let Some(bad) = points.iter().find(|p| !(p.1.is_finite() && p.1 >= 0.0)) {
            return Err(BacktestError::Trace(format!(
                "rate at t={} is {}: rates must be finite and ≥ 0",
                bad.0, bad.1
            )));
        }
        let step = match points.len() {
            1 => 60.0,
            n => points[n - 1].0 - points[n - 2].0,
        };
        let end_s = points[points.len() - 1].0 + step;
        let shifted = points.into_iter().map(|(t, r)| (t - first, r)).collect();
        Ok(Trace {
            points: shifted,
            end_s: end_s - first,
        })
    }

    /// Reads CSV text. A header row, blank lines and `#` comments are skipped; any other row
    /// that is not two numbers, has a negative or missing rate, or goes back in time is an
    /// error naming its line.
    pub fn from_csv(text: &str) -> Result<Self, BacktestError> {
        let mut points: Vec<(f64, f64)> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let row = raw.trim();
            if row.is_empty() || row.starts_with('#') {
                continue;
            }
            let bad = |message: String| BacktestError::TraceLine { line, message };
            let mut fields = row.split(',').map(str::trim);
            let (t, rps) = (fields.next().unwrap_or(""), fields.next());
            let Ok(t) = t.parse::<f64>() else {
                if points.is_empty() && t.chars().any(char::is_alphabetic) {
                    continue; // the header, e.g. `t_seconds,requests_per_second`
                }
                return Err(bad(format!("`{t}` is not a time in seconds")));
            };
            let rps = match rps {
                None | Some("") => return Err(bad("the rate is missing".into())),
                Some(r) => r
                    .parse::<f64>()
                    .map_err(|_| bad(format!("`{r}` is not a number of requests per second")))?,
            };
            if !t.is_finite() {
                return Err(bad(format!("time {t} is not finite")));
            }
            if !rps.is_finite() || rps < 0.0 {
                return Err(bad(format!("rate {rps} must be a finite number ≥ 0")));
            }
            if points.last().is_some_and(|(prev, _)| t <= *prev) {
                return Err(bad(format!(
                    "time {t} does not come after the previous row"
                )));
            }
            points.push((t, rps));
        }
        Self::from_points(points)
    }

    /// Length in seconds.
    pub fn duration_s(&self) -> f64 {
        self.end_s
    }

    pub fn points(&self) -> &[(f64, f64)] {
        &self.points
    }

    /// The rate in force at `t_s` (the row at or before it).
    pub fn rate_at(&self, t_s: f64) -> f64 {
        let i = self.points.partition_point(|p| p.0 <= t_s);
        i.checked_sub(1)
            .and_then(|i| self.points.get(i))
            .map_or(0.0, |p| p.1)
    }

    pub fn peak(&self) -> f64 {
        self.points.iter().map(|p| p.1).fold(0.0, f64::max)
    }

    /// Multiplies every rate so the peak becomes `peak_rps`.
    pub fn rescaled_to_peak(mut self, peak_rps: f64) -> Result<Self, BacktestError> {
        let peak = self.peak();
        if !(peak_rps.is_finite() && peak_rps > 0.0) {
            return Err(BacktestError::Trace(format!(
                "peak {peak_rps} must be a positive number"
            )));
        }
        if peak <= 0.0 {
            return Err(BacktestError::Trace(
                "every rate is 0: nothing to rescale".into(),
            ));
        }
        let factor = peak_rps / peak;
        for p in &mut self.points {
            p.1 *= factor;
        }
        Ok(self)
    }

    /// The part of the trace in `[from_s, to_s)`, starting again at second 0.
    pub fn range(&self, from_s: f64, to_s: Option<f64>) -> Result<Self, BacktestError> {
        let to_s = to_s.unwrap_or(self.end_s).min(self.end_s);
        if !(from_s >= 0.0 && from_s < to_s) {
            return Err(BacktestError::Trace(format!(
                "range {from_s}..{to_s} s is empty or outside the trace (0..{} s)",
                self.end_s
            )));
        }
        let mut points = vec![(0.0, self.rate_at(from_s))];
        points.extend(
            self.points
                .iter()
                .filter(|p| p.0 > from_s && p.0 < to_s)
                .map(|p| (p.0 - from_s, p.1)),
        );
        Ok(Trace {
            points,
            end_s: to_s - from_s,
        })
    }
}
