//! Word-at-a-time byte search (SWAR) for the short spans of log lines, where `memchr`'s
//! per-call setup costs more than the search itself. Safe code only: eight bytes are read as a
//! `u64` and compared all at once.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in every byte of `word` that equals `byte`, and nowhere else.
#[inline(always)]
fn eq_mask(word: u64, byte: u8) -> u64 {
    let t = word ^ (LO * u64::from(byte));
    !(((t & !HI).wrapping_add(!HI)) | t | !HI)
}

#[inline(always)]
fn word_at(bytes: &[u8], i: usize) -> Option<u64> {
    let chunk: [u8; 8] = bytes.get(i..i + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

/// Position of the first `a` at or after `from`.
#[inline(always)]
pub fn find(bytes: &[u8], from: usize, a: u8) -> Option<usize> {
    let mut i = from;
    while let Some(word) = word_at(bytes, i) {
        let mask = eq_mask(word, a);
        if mask != 0 {
            return Some(i + (mask.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes.get(i..)?.iter().position(|&b| b == a).map(|n| i + n)
}

/// Position of the first `a` or `b` at or after `from`.
#[inline(always)]
pub fn find2(bytes: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
    let mut i = from;
    while let Some(word) = word_at(bytes, i) {
        let mask = eq_mask(word, a) | eq_mask(word, b);
        if mask != 0 {
            return Some(i + (mask.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes
        .get(i..)?
        .iter()
        .position(|&c| c == a || c == b)
        .map(|n| i + n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn agrees_with_a_plain_search(bytes in prop::collection::vec(any::<u8>(), 0..64), from in 0usize..70, a: u8, b: u8) {
            let plain = |pred: &dyn Fn(u8) -> bool| bytes.get(from..).and_then(|s| s.iter().position(|&c| pred(c))).map(|n| from + n);
            prop_assert_eq!(find(&bytes, from, a), plain(&|c| c == a));
            prop_assert_eq!(find2(&bytes, from, a, b), plain(&|c| c == a || c == b));
        }
    }
}
