//! Seeded randomness and the few distributions the world draws from (exponential, lognormal,
//! uniform), plus ids derived from random bits (request ids, instance ids, client IPs).

use std::fmt::Write as _;

use rand::rngs::SmallRng;
use rand::{Rng as _, SeedableRng};

/// The world's single random stream: every draw happens in event order, so the same seed gives
/// the same world however `advance_to` is chunked.
pub(crate) struct Rng(SmallRng);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(SmallRng::seed_from_u64(seed))
    }

    /// Uniform in [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        self.0.random::<f64>()
    }

    pub(crate) fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.uniform()
    }

    /// Uniform index below `n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0.random_range(0..n)
    }

    pub(crate) fn bits(&mut self) -> u64 {
        self.0.random::<u64>()
    }

    /// Exponential with the given mean.
    pub(crate) fn exp(&mut self, mean: f64) -> f64 {
        // 1 − U is in (0, 1], so the log is finite.
        -mean * (1.0 - self.uniform()).ln()
    }

    /// Standard normal (Box–Muller; one value per call keeps the stream simple).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Lognormal with the given median and σ of the log.
    pub(crate) fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        if sigma == 0.0 {
            return median;
        }
        median * (sigma * self.normal()).exp()
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.uniform() < p
    }
}

/// SplitMix64 step: spreads a per-request seed into independent-looking bits without touching
/// the world's stream (ids are only computed for lines a sink wants).
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A version-4 UUID in the usual hyphenated form.
pub(crate) fn uuid(seed: u64) -> String {
    let hi = mix(seed);
    let lo = mix(hi ^ 0x5851_F42D_4C95_7F2D);
    let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    let mut s = String::with_capacity(36);
    let _ = write!(
        s,
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    );
    s
}

/// A plausible public client address.
pub(crate) fn client_ip(seed: u64) -> String {
    let b = mix(seed.rotate_left(17)).to_be_bytes();
    format!("{}.{}.{}.{}", 11 + b[0] % 200, b[1], b[2], 1 + b[3] % 254)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape_is_version_4() {
        let id = uuid(7);
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert!(matches!(id.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(uuid(7), uuid(8));
    }

    #[test]
    fn exponential_mean_is_close() {
        let mut rng = Rng::new(1);
        let n = 200_000;
        let mean = (0..n).map(|_| rng.exp(2.0)).sum::<f64>() / f64::from(n);
        assert!((mean - 2.0).abs() < 0.03, "{mean}");
    }

    #[test]
    fn lognormal_median_is_close() {
        let mut rng = Rng::new(2);
        let mut v: Vec<f64> = (0..100_001).map(|_| rng.lognormal(50.0, 0.8)).collect();
        v.sort_by(f64::total_cmp);
        let median = v[50_000];
        assert!((median - 50.0).abs() < 1.5, "{median}");
    }
}
