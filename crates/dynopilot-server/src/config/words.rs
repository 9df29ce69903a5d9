//! Serde's and toml's messages in the user's words: an unknown key with the nearest known key
//! (`did you mean`), a wrong value with what was expected ("a duration like `90s`", "a whole
//! number", "true or false", "a list of strings") and never a Rust type name. What a key
//! expects is read from `RawConfig::default_documented()`, the same schema the example file is
//! held to, so a key added there is explained here too.

use dynopilot_core::policy::ConfigDuration;

use super::raw::RawConfig;

/// The documented configuration, every key set, as a TOML tree to look keys up in.
pub struct Schema {
    root: toml::Table,
}

impl Schema {
    pub fn new() -> Self {
        Schema {
            root: toml::Table::try_from(RawConfig::default_documented()).unwrap_or_default(),
        }
    }

    /// What the key at `path` (`apps[0].process_types.web.min`) holds, in words.
    pub fn expected(&self, path: &str) -> Option<String> {
        let steps: Vec<&str> = path
            .split('.')
            .flat_map(|p| p.split('['))
            .filter(|s| !s.is_empty() && !s.ends_with(']'))
            .collect();
        find(&toml::Value::Table(self.root.clone()), &steps).map(describe)
    }
}

impl Default for Schema {
    fn default() -> Self {
        Self::new()
    }
}

/// The value at `steps` below `value`; a name the example doesn't use (a process type, a
/// channel, a probe) is looked for under every entry of that table, array elements likewise.
fn find<'v>(value: &'v toml::Value, steps: &[&str]) -> Option<&'v toml::Value> {
    let Some((first, rest)) = steps.split_first() else {
        return Some(value);
    };
    match value {
        toml::Value::Table(t) => match t.get(*first) {
            Some(v) => find(v, rest),
            // Only a table of tables is keyed by user-chosen names.
            None if t.values().all(toml::Value::is_table) => t.values().find_map(|v| find(v, rest)),
            None => None,
        },
        toml::Value::Array(items) => items.iter().find_map(|v| find(v, steps)),
        _ => None,
    }
}

fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::Integer(_) => "a whole number".to_owned(),
        toml::Value::Float(_) => "a number".to_owned(),
        toml::Value::Boolean(_) => "true or false".to_owned(),
        toml::Value::String(s) if is_duration(s) => "a duration like `90s`".to_owned(),
        toml::Value::String(_) => "text in quotes".to_owned(),
        toml::Value::Datetime(_) => "a date and time".to_owned(),
        toml::Value::Table(_) => "a table".to_owned(),
        toml::Value::Array(items) => {
            let all = |f: fn(&toml::Value) -> bool| !items.is_empty() && items.iter().all(f);
            if all(toml::Value::is_str) {
                "a list of strings like [\"a\", \"b\"]".to_owned()
            } else if all(toml::Value::is_integer) {
                "a list of whole numbers".to_owned()
            } else if all(toml::Value::is_table) {
                "a list of tables".to_owned()
            } else {
                "a list".to_owned()
            }
        }
    }
}

/// `90s`, `500ms`, `1.5m`: a number followed by a unit (a bare number is just a number).
fn is_duration(s: &str) -> bool {
    let starts_with_digit = s.chars().next().is_some_and(|c| c.is_ascii_digit());
    let has_unit = s.chars().any(|c| c.is_ascii_alphabetic());
    starts_with_digit && has_unit && ConfigDuration::parse(s).is_ok()
}

/// `message` from serde or toml about the key at `path`, in the user's words.
pub fn explain(message: &str, path: &str, schema: &Schema) -> String {
    let message = message.trim();
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return unknown("key", rest);
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return unknown("value", rest);
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("required key {} is missing", rest.trim());
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.split_once(", expected ")
        {
            let wanted = expected_words(expected, schema.expected(path));
            return format!("expected {wanted}, found {}", found_words(found));
        }
    }
    scrub(message)
}

/// `` `scalling`, expected one of `scaling`, `server` `` → unknown key with a suggestion.
fn unknown(what: &str, rest: &str) -> String {
    let names = backticked(rest);
    let Some((given, known)) = names.split_first() else {
        return format!("unknown {what} {rest}");
    };
    if let Some(near) = closest(given, known) {
        return format!("unknown {what} `{given}` (did you mean `{near}`?)");
    }
    if known.is_empty() {
        return format!("unknown {what} `{given}` (nothing may be set here)");
    }
    let list: Vec<&str> = known.iter().map(String::as_str).collect();
    format!(
        "unknown {what} `{given}` (expected one of {})",
        list.join(", ")
    )
}

fn backticked(s: &str) -> Vec<String> {
    s.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// The known name nearest to `given`, if it is near enough to be a typo.
pub fn closest<'k>(given: &str, known: &'k [String]) -> Option<&'k str> {
    let limit = match given.chars().count() {
        0..=2 => 1,
        3..=5 => 2,
        _ => 3,
    };
    known
        .iter()
        .map(|k| (typo_distance(given, k), k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

/// Edits (insert, delete, replace, swap two neighbours) turning `a` into `b`, ignoring case.
pub fn typo_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// What serde expected, in words: numbers and booleans from serde (it knows the sign), the
/// rest from the schema, else a translation of serde's own wording.
fn expected_words(expected: &str, documented: Option<String>) -> String {
    let expected = expected.trim();
    let number = match expected {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => Some("a whole number (0 or more)"),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => Some("a whole number"),
        "f32" | "f64" => Some("a number"),
        "a boolean" => Some("true or false"),
        _ => None,
    };
    if let Some(words) = number {
        return words.to_owned();
    }
    if let Some(words) = documented {
        return words;
    }
    if expected.contains("duration") {
        return "a duration like `90s`".to_owned();
    }
    match expected {
        "a string" | "a borrowed string" | "a character" => "text in quotes".to_owned(),
        "a sequence" => "a list".to_owned(),
        "a map" => "a table".to_owned(),
        _ if expected.starts_with("struct ") => "a table".to_owned(),
        _ if expected.starts_with("enum ") || expected.contains("variant") => {
            "one of the names this key accepts (see dynopilot.example.toml)".to_owned()
        }
        _ => scrub(expected),
    }
}

/// serde's `Unexpected` (`string "x"`, `integer `5``, `sequence`) as the value the user wrote.
fn found_words(found: &str) -> String {
    let found = found.trim();
    if let Some(text) = found.strip_prefix("string ") {
        return text.to_owned();
    }
    for prefix in ["integer ", "floating point ", "boolean ", "character "] {
        if let Some(value) = found.strip_prefix(prefix) {
            return value.trim_matches('`').to_owned();
        }
    }
    match found {
        "sequence" => "a list".to_owned(),
        "map" => "a table".to_owned(),
        "unit value" | "unit" => "nothing".to_owned(),
        other => scrub(other),
    }
}

/// Rust type names that may not reach the user, and what to say instead.
const RUST_WORDS: &[(&str, &str)] = &[
    ("struct ", "table "),
    ("enum ", ""),
    ("Option", "value"),
    ("Vec", "list"),
    ("String", "text"),
    ("u64", "whole number"),
    ("u32", "whole number"),
    ("usize", "whole number"),
    ("i64", "whole number"),
    ("i32", "whole number"),
    ("f64", "number"),
];

/// Last resort for messages with no known shape: no Rust type name gets through.
fn scrub(message: &str) -> String {
    let mut out = message.to_owned();
    for (rust, words) in RUST_WORDS {
        out = out.replace(rust, words);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn typos_are_one_edit_away() {
        assert_eq!(typo_distance("wbe", "web"), 1);
        assert_eq!(typo_distance("scalling", "scaling"), 1);
        assert_eq!(closest("wbe", &names(&["web", "worker"])), Some("web"));
        assert_eq!(closest("cache", &names(&["web", "worker"])), None);
    }

    #[test]
    fn serde_messages_become_words() {
        let schema = Schema::new();
        assert_eq!(
            explain(
                "unknown field `dry_rn`, expected one of `dry_run`, `log_source`",
                "dry_rn",
                &schema
            ),
            "unknown key `dry_rn` (did you mean `dry_run`?)"
        );
        assert_eq!(
            explain(
                "invalid type: string \"lots\", expected u64",
                "drain.max_body_bytes",
                &schema
            ),
            "expected a whole number (0 or more), found \"lots\""
        );
        assert_eq!(
            explain(
                "invalid type: integer `5`, expected a sequence",
                "server.allowed_hosts",
                &schema
            ),
            "expected a list of strings like [\"a\", \"b\"], found 5"
        );
        assert_eq!(
            schema
                .expected("apps[3].process_types.clock.memory_guard.cooldown")
                .as_deref(),
            Some("a duration like `90s`")
        );
    }
}
