//! `Range` pagination as the Platform API does it: `Range: id ..; max=200, order=desc`,
//! answered with `Content-Range`, and `206` plus `Next-Range` when the list was cut short.

use std::cmp::Ordering;

use axum::http::StatusCode;

use super::error::ApiError;

/// Heroku's default page size and the largest `max` it accepts.
pub const DEFAULT_MAX: usize = 200;
pub const LARGEST_MAX: usize = 1000;

/// A parsed `Range` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeSpec {
    pub field: String,
    pub start: Option<String>,
    /// `]value..` starts after `value` (what `Next-Range` sends).
    pub start_exclusive: bool,
    pub end: Option<String>,
    pub max: usize,
    pub desc: bool,
}

impl RangeSpec {
    pub fn default_for(field: &str) -> Self {
        RangeSpec {
            field: field.to_string(),
            start: None,
            start_exclusive: false,
            end: None,
            max: DEFAULT_MAX,
            desc: false,
        }
    }
}

fn bad_range() -> ApiError {
    ApiError::bad_request(
        "Invalid `Range` header. Please use format like `id ..; max=10, order=desc`. ",
    )
}

/// Parses `<field> [start]..[end][; max=N[, order=asc|desc]]`; `fields` are the sortable ones.
pub fn parse(header: &str, fields: &[&str]) -> Result<RangeSpec, ApiError> {
    let mut parts = header.splitn(2, ';');
    let bounds = parts.next().unwrap_or("").trim();
    let options = parts.next().unwrap_or("");
    let (field, span) = bounds.split_once(' ').ok_or_else(bad_range)?;
    if !fields.contains(&field) {
        return Err(bad_range());
    }
    let (start, end) = span.trim().split_once("..").ok_or_else(bad_range)?;
    let (start_exclusive, start) = match start.strip_prefix(']') {
        Some(rest) => (true, rest),
        None => (false, start),
    };
    let non_empty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let mut spec = RangeSpec {
        field: field.to_string(),
        start: non_empty(start),
        start_exclusive,
        end: non_empty(end),
        max: DEFAULT_MAX,
        desc: false,
    };
    if spec.end.is_some() && spec.start.is_none() {
        return Err(ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "requested_range_not_satisfiable",
            "Requested range not satisfiable: an end requires a start.",
        ));
    }
    for option in options
        .split([',', ';'])
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        match option.split_once('=') {
            Some(("max", n)) => {
                let n: usize = n.trim().parse().map_err(|_| bad_range())?;
                spec.max = n.clamp(1, LARGEST_MAX);
            }
            Some(("order", "asc")) => spec.desc = false,
            Some(("order", "desc")) => spec.desc = true,
            _ => return Err(bad_range()),
        }
    }
    Ok(spec)
}

/// A sortable value of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Text(String),
    Number(u64),
}

impl Key {
    fn cmp_bound(&self, bound: &str) -> Ordering {
        match self {
            Key::Text(t) => t.as_str().cmp(bound),
            Key::Number(n) => bound.parse::<u64>().map_or(Ordering::Less, |b| n.cmp(&b)),
        }
    }

    fn text(&self) -> String {
        match self {
            Key::Text(t) => t.clone(),
            Key::Number(n) => n.to_string(),
        }
    }
}

fn cmp_keys(a: &Key, b: &Key) -> Ordering {
    match (a, b) {
        (Key::Number(x), Key::Number(y)) => x.cmp(y),
        _ => a.text().cmp(&b.text()),
    }
}

/// One page of a list.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub status: StatusCode,
    pub content_range: Option<String>,
    pub next_range: Option<String>,
}

/// Sorts, bounds and cuts `items` by `spec`; `key` gives an item's value for the range field.
pub fn paginate<T>(items: Vec<T>, spec: &RangeSpec, key: impl Fn(&T) -> Key) -> Page<T> {
    let mut keyed: Vec<(Key, T)> = items.into_iter().map(|t| (key(&t), t)).collect();
    keyed.sort_by(|a, b| cmp_keys(&a.0, &b.0));
    if spec.desc {
        keyed.reverse();
    }
    let in_bounds = |k: &Key| {
        // With order=desc the start is the upper bound and the end the lower one.
        let toward = |o: Ordering| if spec.desc { o.reverse() } else { o };
        let after_start = spec.start.as_deref().is_none_or(|s| {
            let o = toward(k.cmp_bound(s));
            o == Ordering::Greater || (o == Ordering::Equal && !spec.start_exclusive)
        });
        let before_end = spec
            .end
            .as_deref()
            .is_none_or(|e| toward(k.cmp_bound(e)) != Ordering::Greater);
        after_start && before_end
    };
    let mut matching: Vec<(Key, T)> = keyed.into_iter().filter(|(k, _)| in_bounds(k)).collect();
    let more = matching.len() > spec.max;
    matching.truncate(spec.max);
    let first = matching.first().map(|(k, _)| k.text());
    let last = matching.last().map(|(k, _)| k.text());
    let order = if spec.desc { ", order=desc" } else { "" };
    let content_range = first
        .zip(last.clone())
        .map(|(f, l)| format!("{} {f}..{l}; max={}{order}", spec.field, spec.max));
    let next_range = last
        .filter(|_| more)
        .map(|l| format!("{} ]{l}..; max={}{order}", spec.field, spec.max));
    Page {
        status: if more {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        },
        items: matching.into_iter().map(|(_, t)| t).collect(),
        content_range,
        next_range,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_heroku_examples_and_rejects_junk() {
        let spec = parse("id ..; max=1000;", &["id", "name"]).unwrap();
        assert_eq!(
            (spec.field.as_str(), spec.max, spec.desc),
            ("id", 1000, false)
        );
        let spec = parse("version ..; max=1, order=desc", &["version"]).unwrap();
        assert!(spec.desc && spec.max == 1);
        let spec = parse("name ]b..; max=2", &["name"]).unwrap();
        assert_eq!(spec.start.as_deref(), Some("b"));
        assert!(spec.start_exclusive);
        assert_eq!(parse("bogus", &["id"]).unwrap_err().id, "bad_request");
        assert_eq!(parse("size ..", &["id"]).unwrap_err().id, "bad_request");
        assert_eq!(
            parse("id ..z", &["id"]).unwrap_err().id,
            "requested_range_not_satisfiable"
        );
    }

    #[test]
    fn pages_follow_next_range_until_the_end() {
        let items: Vec<u64> = (1..=5).collect();
        let mut spec = parse("version ..; max=2", &["version"]).unwrap();
        let mut seen = Vec::new();
        loop {
            let page = paginate(items.clone(), &spec, |v| Key::Number(*v));
            seen.extend(page.items.iter().copied());
            let Some(next) = page.next_range else {
                assert_eq!(page.status, StatusCode::OK);
                break;
            };
            assert_eq!(page.status, StatusCode::PARTIAL_CONTENT);
            spec = parse(&next, &["version"]).unwrap();
        }
        assert_eq!(seen, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn descending_order_gives_the_newest_first() {
        let spec = parse("version ..; max=2, order=desc", &["version"]).unwrap();
        let page = paginate((1..=10u64).collect(), &spec, |v| Key::Number(*v));
        assert_eq!(page.items, [10, 9]);
        assert_eq!(
            page.content_range.as_deref(),
            Some("version 10..9; max=2, order=desc")
        );
        let next = parse(&page.next_range.unwrap(), &["version"]).unwrap();
        let page = paginate((1..=10u64).collect(), &next, |v| Key::Number(*v));
        assert_eq!(page.items, [8, 7]);
    }
}
