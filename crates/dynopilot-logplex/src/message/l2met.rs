//! l2met metrics in log lines (`count#`, `measure#`, `sample#`, `unique#`), including add-on
//! metrics such as Heroku Postgres' `source=DATABASE sample#db_size=…bytes`.

use super::units;
use crate::logfmt::{self, split_number};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Count,
    Measure,
    Sample,
    Unique,
}

impl MetricKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Measure => "measure",
            Self::Sample => "sample",
            Self::Unique => "unique",
        }
    }
}

/// One metric. Memory values are in MB and durations in ms (`unit` says which); other units
/// are kept as written. `unique#` values are text: `value` is 1 and `text` holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric<'a> {
    pub kind: MetricKind,
    pub name: &'a str,
    pub value: f64,
    pub unit: &'a str,
    pub text: Option<&'a str>,
}

/// A line carrying l2met metrics; the metrics are read lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsLine<'a> {
    pub source: Option<&'a str>,
    raw: &'a str,
}

impl<'a> MetricsLine<'a> {
    /// The whole message the metrics were read from.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    pub fn metrics(&self) -> impl Iterator<Item = Metric<'a>> + 'a {
        logfmt::pairs(self.raw).filter_map(|p| metric(p.key, p.value))
    }
}

/// Parses a line if it has at least one metric key.
pub fn parse(message: &str) -> Option<MetricsLine<'_>> {
    memchr::memchr2(b'#', b'.', message.as_bytes())?;
    let mut source = None;
    let mut found = false;
    for pair in logfmt::pairs(message) {
        if pair.key == "source" {
            source = pair.value;
        } else if !found && metric(pair.key, pair.value).is_some() {
            found = true;
        }
    }
    found.then_some(MetricsLine {
        source,
        raw: message,
    })
}

fn metric<'a>(key: &'a str, value: Option<&'a str>) -> Option<Metric<'a>> {
    let (kind, name) = split_kind(key)?;
    if name.is_empty() {
        return None;
    }
    let raw = value.unwrap_or("");
    if kind == MetricKind::Unique {
        return Some(Metric {
            kind,
            name,
            value: 1.0,
            unit: "",
            text: Some(raw),
        });
    }
    let (value, unit) = match split_number(raw) {
        Some(parsed) => parsed,
        None if raw.is_empty() => (1.0, ""),
        None => return None,
    };
    let (value, unit) = normalise(value, unit);
    Some(Metric {
        kind,
        name,
        value,
        unit,
        text: None,
    })
}

fn split_kind(key: &str) -> Option<(MetricKind, &str)> {
    let (prefix, name) = key.split_once('#').or_else(|| {
        // Pre-2.0 l2met: `measure.db.latency=4ms`.
        key.strip_prefix("measure.").map(|n| ("measure", n))
    })?;
    let kind = match prefix {
        "count" => MetricKind::Count,
        "measure" => MetricKind::Measure,
        "sample" => MetricKind::Sample,
        "unique" => MetricKind::Unique,
        _ => return None,
    };
    Some((kind, name))
}

fn normalise(value: f64, unit: &str) -> (f64, &str) {
    if let Some(factor) = units::memory_factor(unit) {
        return (value * factor, "MB");
    }
    if let Some(factor) = units::time_factor(unit).filter(|_| !unit.is_empty()) {
        return (value * factor, "ms");
    }
    (value, unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l2met_kinds_and_units() {
        let line = parse("foo=bar unique#registration=user@example.com count#thing=10 sample#other-thing=20 measure#db.latency=4ms count#signup sample#db.size=2GB").unwrap();
        let m: Vec<_> = line.metrics().collect();
        assert_eq!(m.len(), 6);
        assert_eq!(
            (m[0].kind, m[0].text),
            (MetricKind::Unique, Some("user@example.com"))
        );
        assert_eq!((m[1].name, m[1].value), ("thing", 10.0));
        assert_eq!((m[3].value, m[3].unit), (4.0, "ms"));
        assert_eq!((m[4].name, m[4].value), ("signup", 1.0));
        assert_eq!((m[5].value, m[5].unit), (2048.0, "MB"));
        assert_eq!(
            parse("measure.db.latency=4ms").unwrap().metrics().count(),
            1
        );
    }

    #[test]
    fn addon_metrics_keep_their_source_and_units() {
        let line = parse("source=DATABASE addon=postgresql-x sample#current_transaction=15365 sample#db_size=4557534bytes sample#active-connections=27").unwrap();
        assert_eq!(line.source, Some("DATABASE"));
        let size = line.metrics().find(|m| m.name == "db_size").unwrap();
        assert_eq!(size.unit, "bytes");
    }

    #[test]
    fn plain_text_is_not_metrics() {
        assert!(parse("Completed 200 OK in 12ms. #1").is_none());
        assert!(parse("no metrics here").is_none());
    }
}
