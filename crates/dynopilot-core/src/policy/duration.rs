//! `ConfigDuration`: how durations are written in policy configuration (`20s`, `500ms`, `5m`,
//! `1h`, `2d`, or a bare number of seconds) and kept exact to the millisecond, so that a
//! sub-second value never silently becomes zero (the autoscalebot `500 / 1000 == 0` bug).

use std::fmt;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A configured duration. Negative and too-small values deserialize successfully so that
/// `validate()` can report them together with every other problem instead of stopping at one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ConfigDuration {
    millis: i64,
    /// The written value was not zero but is below one millisecond.
    rounded_to_zero: bool,
}

impl ConfigDuration {
    pub const fn from_millis(millis: i64) -> Self {
        ConfigDuration {
            millis,
            rounded_to_zero: false,
        }
    }

    pub const fn from_secs(secs: i64) -> Self {
        Self::from_millis(secs.saturating_mul(1000))
    }

    pub const fn from_mins(mins: i64) -> Self {
        Self::from_secs(mins.saturating_mul(60))
    }

    pub const fn as_millis(self) -> i64 {
        self.millis
    }

    /// The duration, with negative values read as zero (validation rejects them anyway).
    pub fn get(self) -> Duration {
        Duration::from_millis(u64::try_from(self.millis).unwrap_or(0))
    }

    /// Why this duration is unusable where a positive one is required, if it is.
    pub fn positive_problem(self) -> Option<String> {
        if self.rounded_to_zero {
            Some("is below 1 ms and would round to zero".to_owned())
        } else if self.millis < 0 {
            Some(format!("must not be negative (got {self})"))
        } else if self.millis == 0 {
            Some("must be greater than zero".to_owned())
        } else {
            None
        }
    }

    fn from_secs_f64(secs: f64) -> Result<Self, String> {
        if !secs.is_finite() {
            return Err(format!("{secs} is not a finite number of seconds"));
        }
        let millis = (secs * 1000.0).round();
        if millis.abs() > 9.0e15 {
            return Err(format!("{secs} seconds is out of range"));
        }
        // Casting is exact: `millis` is integral and well inside i64's range.
        let millis = millis as i64;
        Ok(ConfigDuration {
            millis,
            rounded_to_zero: millis == 0 && secs != 0.0,
        })
    }

    /// Parses `500ms`, `20s`, `1.5m`, `2h`, `1d`, or a bare number of seconds.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
        let (number, unit) = s.split_at(split);
        let value: f64 = number
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not a duration like `500ms`, `20s`, `5m` or `1h`"))?;
        let secs_per_unit = match unit {
            "ms" => 0.001,
            "" | "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            other => return Err(format!("unknown duration unit `{other}` in `{s}`")),
        };
        Self::from_secs_f64(value * secs_per_unit)
    }
}

impl fmt::Display for ConfigDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.millis;
        if ms != 0 && ms % 3_600_000 == 0 {
            write!(f, "{}h", ms / 3_600_000)
        } else if ms != 0 && ms % 60_000 == 0 {
            write!(f, "{}m", ms / 60_000)
        } else if ms % 1000 == 0 {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

impl fmt::Debug for ConfigDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for ConfigDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurationVisitor)
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = ConfigDuration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration like `500ms`, `20s`, `5m`, `1h`, or a number of seconds")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(ConfigDuration::from_secs(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(ConfigDuration::from_secs(
            i64::try_from(v).unwrap_or(i64::MAX),
        ))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        ConfigDuration::from_secs_f64(v).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        ConfigDuration::parse(v).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_exactly_to_the_millisecond() {
        assert_eq!(ConfigDuration::parse("500ms").unwrap().as_millis(), 500);
        assert_eq!(ConfigDuration::parse("0.5s").unwrap().as_millis(), 500);
        assert_eq!(ConfigDuration::parse("20").unwrap().as_millis(), 20_000);
        assert_eq!(ConfigDuration::parse("1.5m").unwrap().as_millis(), 90_000);
        assert_eq!(ConfigDuration::parse("2h").unwrap().as_millis(), 7_200_000);
        assert!(ConfigDuration::parse("5 parsecs").is_err());
        assert!(ConfigDuration::parse("fast").is_err());
    }

    #[test]
    fn sub_millisecond_values_are_flagged_not_silently_zero() {
        let d = ConfigDuration::parse("0.0001s").unwrap();
        assert_eq!(d.as_millis(), 0);
        assert!(d.positive_problem().unwrap().contains("round to zero"));
        assert!(
            ConfigDuration::parse("-5s")
                .unwrap()
                .positive_problem()
                .is_some()
        );
        assert!(
            ConfigDuration::parse("0s")
                .unwrap()
                .positive_problem()
                .is_some()
        );
        assert!(
            ConfigDuration::parse("1ms")
                .unwrap()
                .positive_problem()
                .is_none()
        );
    }

    #[test]
    fn displays_in_the_largest_exact_unit() {
        assert_eq!(ConfigDuration::from_secs(3600).to_string(), "1h");
        assert_eq!(ConfigDuration::from_secs(90).to_string(), "90s");
        assert_eq!(ConfigDuration::from_millis(1500).to_string(), "1500ms");
        assert_eq!(ConfigDuration::from_mins(5).to_string(), "5m");
    }
}
