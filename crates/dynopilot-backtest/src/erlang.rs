//! Erlang C for one dyno as an M/M/c queue (c = threads): the probability that a request waits,
//! and the tail of the wait, `P(wait > t) = C(c, a) · e^{−(cμ − λ)t}`.

/// One dyno's queue at a moment: `c` threads, arrivals `lambda` per second, service rate `mu`
/// per second per thread.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MMc {
    pub c: u32,
    pub lambda: f64,
    pub mu: f64,
}

impl MMc {
    /// Offered load in threads, `a = λ / μ`.
    pub fn offered(&self) -> f64 {
        self.lambda / self.mu
    }

    /// True when arrivals meet or exceed what the threads can serve: no steady state.
    pub fn saturated(&self) -> bool {
        self.offered() >= f64::from(self.c)
    }

    /// Probability that an arrival waits at all (Erlang C), through the stable Erlang B
    /// recursion; 1 when saturated.
    pub fn wait_probability(&self) -> f64 {
        if self.lambda <= 0.0 {
            return 0.0;
        }
        if self.saturated() {
            return 1.0;
        }
        let a = self.offered();
        let mut b = 1.0;
        for k in 1..=self.c {
            b = a * b / (f64::from(k) + a * b);
        }
        let c = f64::from(self.c);
        (c * b / (c - a * (1.0 - b))).clamp(0.0, 1.0)
    }

    /// Decay rate of the wait tail per second, `cμ − λ`.
    pub fn tail_rate(&self) -> f64 {
        f64::from(self.c) * self.mu - self.lambda
    }

    /// `P(wait > t_s)`.
    pub fn wait_exceeds(&self, t_s: f64) -> f64 {
        if self.saturated() {
            return 1.0;
        }
        self.wait_probability() * (-self.tail_rate() * t_s).exp()
    }

    /// The `q` quantile of the wait in seconds (0 for the share that never waits).
    pub fn wait_quantile(&self, q: f64) -> f64 {
        let pw = self.wait_probability();
        if q <= 1.0 - pw || self.saturated() {
            return 0.0;
        }
        ((pw / (1.0 - q)).ln() / self.tail_rate()).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_matches_a_textbook_value() {
        // c = 2, a = 1 (ρ = 0.5): C = 1/3.
        let q = MMc {
            c: 2,
            lambda: 1.0,
            mu: 1.0,
        };
        assert!((q.wait_probability() - 1.0 / 3.0).abs() < 1e-12);
        // c = 1 is M/M/1: C = ρ.
        let q = MMc {
            c: 1,
            lambda: 0.7,
            mu: 1.0,
        };
        assert!((q.wait_probability() - 0.7).abs() < 1e-12);
        assert!((q.wait_exceeds(0.0) - 0.7).abs() < 1e-12);
        let median_wait = q.wait_quantile(0.5);
        assert!((q.wait_exceeds(median_wait) - 0.5).abs() < 1e-9);
    }
}
