//! Log timestamps: RFC 3339 as Heroku writes them (`2024-10-25T10:14:16.795479+00:00`), read into
//! and written from the core `Timestamp` (milliseconds).

use dynopilot_core::Timestamp;

/// Parses an RFC 3339 timestamp with optional fraction and a `Z` or `±HH:MM` offset.
pub fn parse(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let (hour, minute, second) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..3 {
            millis *= 10;
        }
    }
    let offset_secs = offset(&b[i..])?;
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_secs;
    Some(Timestamp::from_millis(secs * 1_000 + millis))
}

fn digits(b: &[u8], at: usize, len: usize) -> Option<i64> {
    b.get(at..at + len)?.iter().try_fold(0i64, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
    })
}

fn offset(b: &[u8]) -> Option<i64> {
    match b {
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), ..] if b.len() == 6 && b[3] == b':' => {
            let secs = digits(b, 1, 2)? * 3_600 + digits(b, 4, 2)? * 60;
            Some(if *sign == b'-' { -secs } else { secs })
        }
        _ => None,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Writes `2024-10-25T10:14:16.795000+00:00`: Heroku's shape, microseconds and a `+00:00` offset.
pub fn format(t: Timestamp) -> String {
    let ms = t.as_millis();
    let secs = ms.div_euclid(1_000);
    let frac = ms.rem_euclid(1_000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60,
        frac * 1_000
    )
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_heroku_shapes() {
        let t = parse("2024-10-25T10:14:16.795479+00:00").unwrap();
        assert_eq!(t.to_string(), "2024-10-25T10:14:16.795Z");
        assert_eq!(
            parse("2012-10-11T03:47:20+00:00").unwrap().as_millis(),
            1_349_927_240_000
        );
        assert_eq!(
            parse("2012-10-11T05:47:20+02:00"),
            parse("2012-10-11T03:47:20Z")
        );
        assert!(parse("2012-13-11T03:47:20Z").is_none());
        assert!(parse("yesterday").is_none());
    }

    #[test]
    fn format_round_trips_and_matches_jiff() {
        for ms in [0, 1_349_927_240_123, 951_782_400_000, 4_102_444_800_999] {
            let t = Timestamp::from_millis(ms);
            let text = format(t);
            assert_eq!(parse(&text), Some(t), "{text}");
            let via_jiff: jiff::Timestamp = text.parse().unwrap();
            assert_eq!(via_jiff.as_millisecond(), ms);
        }
    }
}
