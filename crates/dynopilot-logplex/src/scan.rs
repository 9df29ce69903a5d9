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

const ZEROS: u64 = 0x3030_3030_3030_3030;

/// The number written by the `len` ASCII digits at `bytes[at..]`, converted as one word with no
/// per-digit branches. `None` when a byte is not a digit, `len` is 0 or over 8, or fewer than 8
/// bytes remain from `at` (the word is read whole); callers then use a plain loop.
#[inline(always)]
pub fn digits(bytes: &[u8], at: usize, len: usize) -> Option<u64> {
    if !(1..=8).contains(&len) {
        return None;
    }
    let shift = 8 * (8 - len as u32);
    // Little-endian: the first digit is the lowest byte. Shifting up keeps the `len` digits as
    // the least significant places; the places above them are filled with '0'.
    let word = (word_at(bytes, at)? << shift) | (ZEROS & ((1u64 << shift) - 1));
    // A byte is a digit iff it is below 0x80, adding 0x46 keeps it below 0x80 (it is <= '9') and
    // subtracting 0x30 does not wrap (it is >= '0'). Carries and borrows between bytes only
    // start at a byte that is already flagged, so the test is exact.
    if (word | word.wrapping_add(0x4646_4646_4646_4646) | word.wrapping_sub(ZEROS)) & HI != 0 {
        return None;
    }
    let mut v = word - ZEROS;
    // Merge neighbouring places: bytes into 2-digit lanes, then 4, then 8.
    v = (v.wrapping_mul(10) + (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_ffff_0000_ffff;
    v = (v.wrapping_mul(10_000) + (v >> 32)) & 0xffff_ffff;
    Some(v)
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

        #[test]
        fn digits_agree_with_parse(bytes in prop::collection::vec(prop_oneof![b'0'..=b'9', any::<u8>()], 0..20), at in 0usize..20, len in 0usize..10) {
            let expected = bytes.get(at..at + len)
                .filter(|d| (1..=8).contains(&d.len()) && at + 8 <= bytes.len())
                .and_then(|d| std::str::from_utf8(d).ok())
                .filter(|t| t.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|t| t.parse::<u64>().ok());
            prop_assert_eq!(digits(&bytes, at, len), expected);
        }
    }

    #[test]
    fn digits_of_every_length() {
        let text = b"12345678 9x";
        assert_eq!(digits(text, 0, 8), Some(12_345_678));
        assert_eq!(digits(text, 0, 3), Some(123));
        assert_eq!(digits(text, 0, 1), Some(1));
        assert_eq!(digits(b"00000000", 0, 8), Some(0));
        assert_eq!(digits(b"99999999", 0, 8), Some(99_999_999));
        assert_eq!(digits(text, 0, 9), None, "over 8 digits");
        assert_eq!(digits(text, 0, 0), None);
        assert_eq!(digits(text, 3, 8), None, "not a digit inside");
        assert_eq!(digits(text, 4, 3), None, "fewer than 8 bytes left");
        for bad in [b'/', b':', b'A', 0x80, 0xBA, 0xFF, b' '] {
            let mut word = *b"1234 rest";
            word[1] = bad;
            assert_eq!(digits(&word, 0, 4), None, "{bad:#x}");
        }
    }
}
