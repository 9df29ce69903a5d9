//! Validated names in Heroku's own words: process types (`web`, `worker`) and dyno names
//! (`web.1` on Cedar, `web-848cd4f64d-pvpr2` on Fir).

use std::fmt;

/// A process type from the Procfile, as Heroku restricts it (`^[-\w]{1,128}$`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcessType(String);

impl ProcessType {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let valid = !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid {
            Ok(ProcessType(s.to_owned()))
        } else {
            Err(NameError::ProcessType(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name of one dyno: a process type plus an instance suffix.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DynoName(String);

impl DynoName {
    /// Accepts Cedar names (`web.1`, `run.1234`) and Fir names (`web-848cd4f64d-pvpr2`).
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if split_dyno_name(s).is_some() {
            Ok(DynoName(s.to_owned()))
        } else {
            Err(NameError::Dyno(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The process type this dyno runs (`web` for `web.1`).
    pub fn process_type(&self) -> &str {
        split_dyno_name(&self.0).map_or(self.0.as_str(), |(ty, _)| ty)
    }
}

/// Splits `web.1` into (`web`, `1`) and `web-848cd4f64d-pvpr2` into (`web`, `848cd4f64d-pvpr2`).
pub fn split_dyno_name(s: &str) -> Option<(&str, &str)> {
    if let Some((ty, n)) = s.rsplit_once('.') {
        let ok = ProcessType::parse(ty).is_ok()
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit());
        return ok.then_some((ty, n));
    }
    let mut parts = s.rsplitn(3, '-');
    let pod = parts.next()?;
    let replica_set = parts.next()?;
    let ty = parts.next()?;
    let lower_alnum = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    let ok = pod.len() == 5
        && lower_alnum(pod)
        && lower_alnum(replica_set)
        && ProcessType::parse(ty).is_ok();
    ok.then(|| (ty, &s[ty.len() + 1..]))
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }
    )*};
}
display_as_str!(ProcessType, DynoName);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("`{0}` is not a valid process type (letters, digits, `_` and `-`, at most 128)")]
    ProcessType(String),
    #[error("`{0}` is not a dyno name like `web.1`")]
    Dyno(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dyno_names_of_both_generations_split_into_process_type() {
        assert_eq!(DynoName::parse("web.1").unwrap().process_type(), "web");
        assert_eq!(
            DynoName::parse("release.9811").unwrap().process_type(),
            "release"
        );
        assert_eq!(
            DynoName::parse("web-848cd4f64d-pvpr2")
                .unwrap()
                .process_type(),
            "web"
        );
        assert_eq!(
            DynoName::parse("my_worker-2.3").unwrap().process_type(),
            "my_worker-2"
        );
        for bad in ["", "web", "web.", "web.x", ".1", "web 1.2"] {
            assert!(DynoName::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn process_types_follow_herokus_pattern() {
        assert!(ProcessType::parse("web").is_ok());
        assert!(ProcessType::parse("celery-beat_2").is_ok());
        assert!(ProcessType::parse("").is_err());
        assert!(ProcessType::parse("a.b").is_err());
        assert!(ProcessType::parse(&"x".repeat(129)).is_err());
    }
}
