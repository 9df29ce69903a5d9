//! `LatencySketch`: a mergeable, fixed-relative-error histogram for latencies and other positive
//! quantities, so p50/p95/p99 come from bounded memory instead of keeping every value.

/// Relative accuracy of quantiles: any reported quantile is within 1% of a true sample value.
pub const RELATIVE_ACCURACY: f64 = 0.01;
/// Values below this (in the caller's unit, normally ms) fall into the zero bucket.
const MIN_VALUE: f64 = 1e-3;

/// A log-bucketed histogram (DDSketch-style): bucket `i` holds values in `(γ^(i-1), γ^i]`
/// with `γ = (1+α)/(1-α)`, so reporting a bucket's midpoint errs by at most `α`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencySketch {
    /// Counts of dense buckets starting at index `offset`.
    buckets: Vec<u64>,
    offset: i32,
    zero_count: u64,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

fn gamma_ln() -> f64 {
    ((1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)).ln()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SketchDecodeError {
    #[error("sketch encoding is truncated")]
    Truncated,
    #[error("sketch encoding has an unknown version {0}")]
    Version(u8),
    #[error("sketch encoding has {0} buckets, more than any real sketch")]
    TooManyBuckets(u64),
}

impl LatencySketch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }

    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// Records one value; negative and NaN values count as zero.
    pub fn add(&mut self, value: f64) {
        self.add_n(value, 1);
    }

    /// Records `n` occurrences of `value`.
    pub fn add_n(&mut self, value: f64, n: u64) {
        if n == 0 {
            return;
        }
        let value = if value.is_finite() && value > 0.0 {
            value
        } else {
            0.0
        };
        if self.count == 0 {
            self.min = value;
            self.max = value;
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.count += n;
        self.sum += value * n as f64;
        if value < MIN_VALUE {
            self.zero_count += n;
            return;
        }
        let index = (value.ln() / gamma_ln()).ceil() as i32;
        *self.bucket_mut(index) += n;
    }

    fn bucket_mut(&mut self, index: i32) -> &mut u64 {
        if self.buckets.is_empty() {
            self.offset = index;
            self.buckets.push(0);
        } else if index < self.offset {
            let grow = (self.offset - index) as usize;
            self.buckets.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = index;
        } else if index >= self.offset + self.buckets.len() as i32 {
            self.buckets.resize((index - self.offset) as usize + 1, 0);
        }
        &mut self.buckets[(index - self.offset) as usize]
    }

    /// Adds every value recorded in `other` to this sketch.
    pub fn merge(&mut self, other: &LatencySketch) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            self.min = other.min;
            self.max = other.max;
        } else {
            self.min = self.min.min(other.min);
            self.max = self.max.max(other.max);
        }
        self.count += other.count;
        self.sum += other.sum;
        self.zero_count += other.zero_count;
        for (i, &c) in other.buckets.iter().enumerate() {
            if c > 0 {
                *self.bucket_mut(other.offset + i as i32) += c;
            }
        }
    }

    /// The value at quantile `q` in `[0, 1]` (0.95 for p95), within 1% relative error.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = (q * (self.count - 1) as f64).floor() as u64;
        if rank < self.zero_count {
            return Some(self.min.min(MIN_VALUE));
        }
        let mut seen = self.zero_count;
        for (i, &c) in self.buckets.iter().enumerate() {
            seen += c;
            if seen > rank {
                let index = self.offset + i as i32;
                let upper = (f64::from(index) * gamma_ln()).exp();
                let estimate =
                    upper * 2.0 / (1.0 + (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY));
                return Some(estimate.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    /// A compact byte encoding for storage (version byte, then varints).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.buckets.len() * 2);
        out.push(1);
        put_varint(&mut out, self.count);
        put_varint(&mut out, self.zero_count);
        out.extend_from_slice(&self.sum.to_le_bytes());
        out.extend_from_slice(&self.min.to_le_bytes());
        out.extend_from_slice(&self.max.to_le_bytes());
        put_varint(&mut out, zigzag(self.offset));
        put_varint(&mut out, self.buckets.len() as u64);
        for &c in &self.buckets {
            put_varint(&mut out, c);
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SketchDecodeError> {
        let mut r = Reader { bytes, pos: 0 };
        let version = r.byte()?;
        if version != 1 {
            return Err(SketchDecodeError::Version(version));
        }
        let count = r.varint()?;
        let zero_count = r.varint()?;
        let sum = r.f64()?;
        let min = r.f64()?;
        let max = r.f64()?;
        let offset = unzigzag(r.varint()?);
        let len = r.varint()?;
        if len > 10_000 {
            return Err(SketchDecodeError::TooManyBuckets(len));
        }
        let mut buckets = Vec::with_capacity(len as usize);
        for _ in 0..len {
            buckets.push(r.varint()?);
        }
        Ok(LatencySketch {
            buckets,
            offset,
            zero_count,
            count,
            sum,
            min,
            max,
        })
    }
}

fn zigzag(v: i32) -> u64 {
    ((v << 1) ^ (v >> 31)) as u32 as u64
}

fn unzigzag(v: u64) -> i32 {
    let v = v as u32;
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, SketchDecodeError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or(SketchDecodeError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, SketchDecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(SketchDecodeError::Truncated)
    }

    fn f64(&mut self) -> Result<f64, SketchDecodeError> {
        let end = self.pos + 8;
        let chunk = self
            .bytes
            .get(self.pos..end)
            .ok_or(SketchDecodeError::Truncated)?;
        self.pos = end;
        let mut buf = [0u8; 8];
        buf.copy_from_slice(chunk);
        Ok(f64::from_le_bytes(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn exact_quantile(values: &mut [f64], q: f64) -> f64 {
        values.sort_by(f64::total_cmp);
        values[(q * (values.len() - 1) as f64).floor() as usize]
    }

    #[test]
    fn quantiles_of_a_known_series_are_within_one_percent() {
        let mut sketch = LatencySketch::new();
        let mut values: Vec<f64> = (1..=10_000).map(|i| f64::from(i) * 0.37).collect();
        for &v in &values {
            sketch.add(v);
        }
        for q in [0.0, 0.5, 0.95, 0.99, 1.0] {
            let truth = exact_quantile(&mut values, q);
            let got = sketch.quantile(q).unwrap();
            assert!(
                (got - truth).abs() <= truth * RELATIVE_ACCURACY + 1e-9,
                "q={q} {got} vs {truth}"
            );
        }
        assert_eq!(sketch.count(), 10_000);
        assert_eq!(sketch.min(), Some(0.37));
        assert_eq!(LatencySketch::new().quantile(0.5), None);
    }

    #[test]
    fn zero_and_garbage_values_land_in_the_zero_bucket() {
        let mut sketch = LatencySketch::new();
        sketch.add(0.0);
        sketch.add(f64::NAN);
        sketch.add(-5.0);
        sketch.add(100.0);
        assert_eq!(sketch.quantile(0.5), Some(0.0));
        assert!((sketch.quantile(1.0).unwrap() - 100.0).abs() < 1.0);
    }

    proptest! {
        #[test]
        fn merge_equals_adding_everything_to_one(a in prop::collection::vec(0.0f64..1e6, 0..200),
                                                 b in prop::collection::vec(0.0f64..1e6, 0..200)) {
            let (mut left, mut right, mut both) = (LatencySketch::new(), LatencySketch::new(), LatencySketch::new());
            a.iter().for_each(|&v| { left.add(v); both.add(v); });
            b.iter().for_each(|&v| { right.add(v); both.add(v); });
            left.merge(&right);
            for q in [0.5, 0.95, 0.99] {
                prop_assert_eq!(left.quantile(q), both.quantile(q));
            }
            prop_assert_eq!(left.count(), both.count());
        }

        #[test]
        fn encoding_round_trips(values in prop::collection::vec(0.0f64..1e7, 0..300)) {
            let mut sketch = LatencySketch::new();
            values.iter().for_each(|&v| sketch.add(v));
            let decoded = LatencySketch::from_bytes(&sketch.to_bytes()).unwrap();
            prop_assert_eq!(decoded, sketch);
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = LatencySketch::from_bytes(&bytes);
        }

        #[test]
        fn quantiles_stay_within_relative_error(mut values in prop::collection::vec(0.01f64..1e6, 1..500), q in 0.0f64..1.0) {
            let mut sketch = LatencySketch::new();
            values.iter().for_each(|&v| sketch.add(v));
            let truth = exact_quantile(&mut values, q);
            let got = sketch.quantile(q).unwrap();
            prop_assert!((got - truth).abs() <= truth * RELATIVE_ACCURACY * 1.0001 + 1e-9, "{} vs {}", got, truth);
        }
    }
}
