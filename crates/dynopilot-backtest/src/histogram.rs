//! A weighted latency histogram (1 % relative bins from 0.1 ms to about 17 minutes, plus a zero
//! bin) for percentiles over fractional request counts, which the fast model produces.

const MIN_MS: f64 = 0.1;
const GROWTH: f64 = 1.01;
const BINS: usize = 1_640;

#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    zero: f64,
    bins: Vec<f64>,
    total: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            zero: 0.0,
            bins: vec![0.0; BINS],
            total: 0.0,
        }
    }
}

impl Histogram {
    pub fn add(&mut self, ms: f64, weight: f64) {
        // NaN weights are skipped with the non-positive ones.
        if weight.is_nan() || weight <= 0.0 {
            return;
        }
        self.total += weight;
        if ms.is_nan() || ms < MIN_MS {
            self.zero += weight;
            return;
        }
        let i = ((ms / MIN_MS).ln() / GROWTH.ln()) as usize;
        self.bins[i.min(BINS - 1)] += weight;
    }

    pub fn total(&self) -> f64 {
        self.total
    }

    /// The value below which a share `q` of the weight lies (bin midpoint), `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.total <= 0.0 {
            return None;
        }
        let wanted = q.clamp(0.0, 1.0) * self.total;
        let mut seen = self.zero;
        if seen >= wanted {
            return Some(0.0);
        }
        for (i, w) in self.bins.iter().enumerate() {
            seen += w;
            if seen >= wanted {
                return Some(MIN_MS * GROWTH.powf(i as f64 + 0.5));
            }
        }
        Some(MIN_MS * GROWTH.powf(BINS as f64))
    }
}
