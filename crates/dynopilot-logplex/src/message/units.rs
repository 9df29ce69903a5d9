//! Unit normalisation: memory to MB (Heroku's "MB" is MiB), durations to milliseconds.

use crate::logfmt::split_number;

/// Memory in MB from `21.00MB`, `594M`, `1.5GB`, `512kB`, `1024` (bare numbers are MB).
pub fn memory_mb(value: &str) -> Option<f64> {
    let (n, unit) = split_number(value)?;
    let factor = if unit.is_empty() {
        1.0
    } else {
        memory_factor(unit)?
    };
    Some(n * factor)
}

/// The factor that turns a memory unit into MB, if `unit` is one.
pub fn memory_factor(unit: &str) -> Option<f64> {
    Some(match unit {
        "MB" | "M" | "MiB" | "mb" => 1.0,
        "GB" | "G" | "GiB" | "gb" => 1024.0,
        "kB" | "KB" | "K" | "KiB" | "kb" => 1.0 / 1024.0,
        _ => return None,
    })
}

/// Page counters such as `348836pages` stay counts of pages.
pub fn pages(value: &str) -> Option<u64> {
    let digits = value.strip_suffix("pages").unwrap_or(value);
    digits.parse().ok()
}

/// An unsigned integer exactly as `str::parse` reads it. Plain digits that cannot overflow a
/// `u64` (the usual `status=200`, `bytes=18349`) are folded directly; anything else (a `+`
/// sign, 20+ digits, junk) goes through `parse`, so results never differ from it.
#[inline]
pub(crate) fn small_uint<T: TryFrom<u64> + std::str::FromStr>(value: &str) -> Option<T> {
    let b = value.as_bytes();
    if (1..=19).contains(&b.len()) && b.iter().all(u8::is_ascii_digit) {
        let n = b
            .iter()
            .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
        return T::try_from(n).ok();
    }
    value.parse().ok()
}

/// Milliseconds from `18ms`, `0` (bare numbers are ms, as in 2014 router lines), `1.5s`, `300us`.
#[inline]
pub fn millis(value: &str) -> Option<f64> {
    let (n, unit) = split_number(value)?;
    let factor = time_factor(unit)?;
    Some(n * factor)
}

/// The factor that turns a time unit into milliseconds, if `unit` is one.
#[inline]
pub fn time_factor(unit: &str) -> Option<f64> {
    Some(match unit {
        "" | "ms" => 1.0,
        "s" | "sec" => 1000.0,
        "us" | "µs" => 0.001,
        "ns" => 0.000_001,
        "min" => 60_000.0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(memory_mb("21.00MB"), Some(21.0));
        assert_eq!(memory_mb("21MB"), Some(21.0));
        assert_eq!(memory_mb("594M"), Some(594.0));
        assert_eq!(memory_mb("2GB"), Some(2048.0));
        assert_eq!(memory_mb("512kB"), Some(0.5));
        assert_eq!(memory_mb("12parsecs"), None);
        assert_eq!(pages("348836pages"), Some(348_836));
    }

    #[test]
    fn small_uint_agrees_with_parse() {
        for text in [
            "0",
            "200",
            "007",
            "65535",
            "65536",
            "+200",
            "-1",
            "",
            "2 0",
            "1e3",
            "9999999999999999999",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
        ] {
            assert_eq!(small_uint::<u16>(text), text.parse::<u16>().ok(), "{text}");
            assert_eq!(small_uint::<u64>(text), text.parse::<u64>().ok(), "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn small_uint_agrees_with_parse_on_any_text(text in "[+0-9]{0,22}|\\PC{0,6}") {
            proptest::prop_assert_eq!(small_uint::<u16>(&text), text.parse::<u16>().ok());
            proptest::prop_assert_eq!(small_uint::<u64>(&text), text.parse::<u64>().ok());
        }
    }

    #[test]
    fn time_units() {
        assert_eq!(millis("18ms"), Some(18.0));
        assert_eq!(millis("0"), Some(0.0));
        assert_eq!(millis("1.5s"), Some(1500.0));
        assert_eq!(millis(""), None);
    }
}
