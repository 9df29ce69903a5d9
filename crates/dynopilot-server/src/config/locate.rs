//! Maps between dotted key paths (`apps[0].process_types.web.min`) and positions in the TOML
//! text, using the spans of toml's `DeTable`, so every error can name both a key and a line.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigError, Location};

/// The parsed file with spans, for locating keys.
pub struct Locator<'a> {
    source: String,
    text: &'a str,
    root: Option<Spanned<DeTable<'a>>>,
}

/// One step of a key path: a table key or an array index.
#[derive(Debug, PartialEq)]
enum Step<'k> {
    Key(&'k str),
    Index(usize),
}

impl<'a> Locator<'a> {
    /// A locator over `text`; a syntax error leaves it without spans (the caller reports it).
    pub fn new(source: &str, text: &'a str) -> Self {
        Locator {
            source: source.to_owned(),
            text,
            root: DeTable::parse(text).ok(),
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the file sets `key` (or a table below it).
    pub fn contains(&self, key: &str) -> bool {
        self.span_of(key).is_some()
    }

    /// An error at `key`, placed on the line of the key itself or else of its nearest ancestor
    /// present in the file.
    pub fn error_at(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let mut path = key;
        let span = loop {
            if let Some(span) = self.span_of(path) {
                break Some(span);
            }
            match parent(path) {
                Some(p) => path = p,
                None => break None,
            }
        };
        ConfigError {
            location: span.map_or_else(
                || Location::Source(self.source.clone()),
                |s| self.location(s.start),
            ),
            key: key.to_owned(),
            message: message.into(),
        }
    }

    /// An error at a byte offset (from toml), with the key path found there.
    pub fn error_at_offset(&self, offset: Option<usize>, message: &str) -> ConfigError {
        let key = match (&self.root, offset) {
            (Some(root), Some(at)) => path_at(root.get_ref(), at),
            _ => String::new(),
        };
        ConfigError {
            location: offset.map_or_else(
                || Location::Source(self.source.clone()),
                |at| self.location(at),
            ),
            key,
            message: message.trim().to_owned(),
        }
    }

    fn location(&self, offset: usize) -> Location {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location::File {
            source: self.source.clone(),
            line,
            column: before[line_start..].chars().count() + 1,
        }
    }

    /// The span of the key (for tables and values written `key = …`) named by `path`.
    fn span_of(&self, path: &str) -> Option<Range<usize>> {
        let root = self.root.as_ref()?;
        let mut table = root.get_ref();
        let mut current: Option<(Range<usize>, &DeValue<'a>)> = None;
        for step in steps(path) {
            current = match (step, current) {
                (Step::Key(k), None) => entry(table, k),
                (Step::Key(k), Some((_, DeValue::Table(t)))) => {
                    table = t;
                    entry(table, k)
                }
                (Step::Index(i), Some((_, DeValue::Array(a)))) => {
                    let item = a.get(i)?;
                    Some((item.span(), item.get_ref()))
                }
                _ => None,
            };
            current.as_ref()?;
        }
        current.map(|(span, _)| span)
    }
}

fn entry<'t, 'a>(table: &'t DeTable<'a>, key: &str) -> Option<(Range<usize>, &'t DeValue<'a>)> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(k, v)| (k.span(), v.get_ref()))
}

/// The deepest key path whose key or value span holds `offset`. Spans of tables and arrays of
/// tables cover only their header, so every entry is checked, not just a descent.
fn path_at(table: &DeTable<'_>, offset: usize) -> String {
    let mut entries = Vec::new();
    flatten(table, "", &mut entries);
    entries
        .into_iter()
        .filter(|(_, key, value)| {
            key.contains(&offset) || value.contains(&offset) || value.end == offset
        })
        .map(|(path, _, _)| path)
        .max_by_key(String::len)
        .unwrap_or_default()
}

type Entry = (String, Range<usize>, Range<usize>);

fn flatten(table: &DeTable<'_>, prefix: &str, out: &mut Vec<Entry>) {
    for (k, v) in table.iter() {
        let path = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        out.push((path.clone(), k.span(), v.span()));
        match v.get_ref() {
            DeValue::Table(t) => flatten(t, &path, out),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{i}]");
                    out.push((item_path.clone(), item.span(), item.span()));
                    if let DeValue::Table(t) = item.get_ref() {
                        flatten(t, &item_path, out);
                    }
                }
            }
            _ => {}
        }
    }
}

fn steps(path: &str) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let name_end = part.find('[').unwrap_or(part.len());
        if name_end > 0 {
            out.push(Step::Key(&part[..name_end]));
        }
        for index in part[name_end..].split('[').filter(|s| !s.is_empty()) {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                out.push(Step::Index(i));
            }
        }
    }
    out
}

/// `a.b[0].c` → `a.b[0]` → `a.b` → `a` → `None`.
fn parent(path: &str) -> Option<&str> {
    if let Some(stripped) = path.strip_suffix(']') {
        return stripped.rfind('[').map(|i| &path[..i]);
    }
    path.rfind('.').map(|i| &path[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "dry_run = true\n\n[server]\nlisten = \"0.0.0.0:80\"\n\n[[apps]]\nname = \"a\"\n\n[[apps]]\nname = \"b\"\n[apps.process_types.web]\nmin = 3\n";

    fn line_of(l: &Locator<'_>, key: &str) -> Option<usize> {
        l.error_at(key, "x").line()
    }

    #[test]
    fn finds_keys_tables_and_array_elements() {
        let l = Locator::new("c.toml", DOC);
        assert_eq!(line_of(&l, "dry_run"), Some(1));
        assert_eq!(line_of(&l, "server.listen"), Some(4));
        assert_eq!(line_of(&l, "apps[1].name"), Some(10));
        assert_eq!(line_of(&l, "apps[1].process_types.web.min"), Some(12));
        // Missing keys fall back to the nearest ancestor.
        assert_eq!(
            line_of(&l, "apps[1].process_types.web.max"),
            line_of(&l, "apps[1].process_types.web")
        );
        assert!(!l.contains("apps[0].process_types"));
        assert_eq!(line_of(&l, "store.url"), None);
    }

    #[test]
    fn maps_an_offset_back_to_its_key_path() {
        let l = Locator::new("c.toml", DOC);
        let at = DOC.find("min = 3").unwrap();
        let e = l.error_at_offset(Some(at), "bad");
        assert_eq!(e.key, "apps[1].process_types.web.min");
        assert_eq!(e.line(), Some(12));
    }

    #[test]
    fn splits_paths_into_steps() {
        assert_eq!(
            steps("apps[0].rules[2].x"),
            vec![
                Step::Key("apps"),
                Step::Index(0),
                Step::Key("rules"),
                Step::Index(2),
                Step::Key("x")
            ]
        );
        assert_eq!(parent("a.b[0]"), Some("a.b"));
        assert_eq!(parent("a.b"), Some("a"));
        assert_eq!(parent("a"), None);
    }
}
