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

/// Like [`eq_mask`] for the lowest flagged byte only: bytes above a match may be flagged too
/// (a borrow), which is harmless when only the first match is wanted. Three operations fewer.
#[inline(always)]
fn first_eq_mask(word: u64, byte: u8) -> u64 {
    let t = word ^ (LO * u64::from(byte));
    t.wrapping_sub(LO) & !t & HI
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

/// Whether any of 32 bytes is `a`: four word tests and no loop, for spans of a known width.
#[inline(always)]
pub fn contains32(bytes: &[u8; 32], a: u8) -> bool {
    let (words, _) = bytes.as_chunks::<8>();
    // Any flag means a match in that word (`first_eq_mask` never flags a word without one).
    let mask = words
        .iter()
        .fold(0, |m, w| m | first_eq_mask(u64::from_le_bytes(*w), a));
    mask != 0
}

/// Position of the first `a` at or after `from`.
#[inline(always)]
pub fn find(bytes: &[u8], from: usize, a: u8) -> Option<usize> {
    search(
        bytes,
        from,
        |word| first_eq_mask(word, a),
        |word| eq_mask(word, a),
    )
}

/// Position of the first `a` or `b` at or after `from`.
#[inline(always)]
pub fn find2(bytes: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
    search(
        bytes,
        from,
        |word| first_eq_mask(word, a) | first_eq_mask(word, b),
        |word| eq_mask(word, a) | eq_mask(word, b),
    )
}

/// The first byte at or after `from` that the masks flag (high bit of its byte). `first` need
/// only be exact for the lowest flagged byte; `exact` must flag matching bytes and no others.
#[inline(always)]
fn search(
    bytes: &[u8],
    from: usize,
    first: impl Fn(u64) -> u64,
    exact: impl Fn(u64) -> u64,
) -> Option<usize> {
    let (words, rest) = bytes.get(from..)?.as_chunks::<8>();
    let mut base = from;
    for word in words {
        let mask = first(u64::from_le_bytes(*word));
        if mask != 0 {
            return Some(base + (mask.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    let tail = rest.len();
    if tail == 0 {
        return None;
    }
    // The last few bytes: read the final eight whole (they overlap bytes already searched, or
    // before `from`, which may match: hence the exact mask) and drop the flags of the bytes
    // that are not part of the tail.
    let Some(last) = bytes.len().checked_sub(8) else {
        return (base..bytes.len()).find(|&i| exact(u64::from(bytes[i])) & 0x80 != 0);
    };
    let mask = exact(u64::from_le_bytes(bytes.get(last..)?.try_into().ok()?)) >> (8 * (8 - tail));
    (mask != 0).then(|| base + (mask.trailing_zeros() / 8) as usize)
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
    fn a_match_before_the_start_does_not_leak_into_the_tail() {
        // `first_eq_mask` would flag the byte after a match (`!` = ' ' ^ 1) through a borrow.
        let bytes = b"abcd !xy";
        assert_eq!(find(bytes, 5, b' '), None);
        assert_eq!(find(b"0123456789 !", 11, b' '), None);
        assert_eq!(find(b"0123456789 ! ", 11, b' '), Some(12));
        assert_eq!(find2(b"0123456789\"#", 11, b' ', b'"'), None);
    }

    #[test]
    fn contains32_sees_every_position() {
        let mut bytes = *b"2025-11-25T10:00:00.000000+00:00";
        assert!(!contains32(&bytes, b' '));
        for i in 0..32 {
            let mut with = bytes;
            with[i] = b' ';
            assert!(contains32(&with, b' '), "{i}");
        }
        bytes[31] = b'!';
        assert!(!contains32(&bytes, b' '), "a near miss is not a match");
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
