//! Turns serde/TOML failures into located errors in the user's words (`words`), and keeps
//! going after the first: serde stops at one problem, so the offending entry is blanked out
//! (offsets kept) and parsing retried.

use super::error::ConfigError;
use super::locate::Locator;
use super::raw::RawConfig;
use super::words;

/// Enough for any real file; bounds the retry loop on pathological input.
const MAX_ERRORS: usize = 50;

/// Every deserialization problem of `text`, starting with `first`.
pub fn collect(loc: &Locator<'_>, text: &str, first: toml::de::Error) -> Vec<ConfigError> {
    let mut errors: Vec<ConfigError> = Vec::new();
    let mut text = text.to_owned();
    let mut err = first;
    let mut last_span = None;
    let schema = words::Schema::new();
    while errors.len() < MAX_ERRORS {
        let span = err.span();
        let mut e = loc.error_at_offset(span.as_ref().map(|s| s.start), err.message());
        e.message = words::explain(&e.message, &e.key, &schema);
        let e = point_at_unknown_key(loc, e);
        // An error at an ancestor of a reported key is usually the echo of blanking it (a
        // required key removed): don't report it twice.
        let echo = errors
            .iter()
            .any(|prev| !e.key.is_empty() && prev.key.starts_with(&format!("{}.", e.key)));
        if !echo {
            errors.push(e);
        }
        let Some(span) = span else { break };
        if last_span.as_ref() == Some(&span) || is_syntax_error(&text) {
            break;
        }
        blank_entry(&mut text, span.start, span.end);
        last_span = Some(span);
        match toml::from_str::<RawConfig>(&text) {
            Ok(_) => break,
            Err(next) => err = next,
        }
    }
    errors
}

/// serde places an unknown key inside an internally tagged table (a rule's `condition`) at
/// the table; point at the key itself when the file has it there.
fn point_at_unknown_key(loc: &Locator<'_>, e: ConfigError) -> ConfigError {
    let name = e
        .message
        .strip_prefix("unknown key `")
        .and_then(|rest| rest.split('`').next());
    match name {
        Some(name) if !e.key.is_empty() && !e.key.ends_with(name) => {
            let key = format!("{}.{name}", e.key);
            if loc.contains(&key) {
                loc.error_at(&key, e.message)
            } else {
                e
            }
        }
        _ => e,
    }
}

fn is_syntax_error(text: &str) -> bool {
    toml::de::DeTable::parse(text).is_err()
}

/// Replaces the lines holding `start..end` with spaces; a table header takes its body along,
/// so the body's keys don't fall into the previous table.
fn blank_entry(text: &mut String, start: usize, end: usize) {
    let line_start = text[..start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let mut line_end = text[end.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |i| end + i);
    if text[line_start..].trim_start().starts_with('[') {
        line_end = next_header(text, line_end);
    }
    // Spaces of the same byte length keep every later offset (and so every line) in place.
    let blanked: String = text[line_start..line_end]
        .chars()
        .map(|c| {
            if c == '\n' {
                "\n".to_owned()
            } else {
                " ".repeat(c.len_utf8())
            }
        })
        .collect();
    text.replace_range(line_start..line_end, &blanked);
}

/// The offset of the next line starting with `[` after `from`, or the end.
fn next_header(text: &str, from: usize) -> usize {
    let mut offset = from;
    for line in text[from..].split_inclusive('\n') {
        if offset > from && line.trim_start().starts_with('[') {
            return offset;
        }
        offset += line.len();
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanking_keeps_offsets_and_takes_a_table_body_along() {
        let mut t = "a = 1\n[x]\nb = 2\nc = 3\n[y]\nd = 4\n".to_owned();
        let len = t.len();
        let at = t.find("[x]").unwrap();
        blank_entry(&mut t, at, at + 3);
        assert_eq!(t.len(), len);
        assert!(t.starts_with("a = 1\n"));
        assert!(t.ends_with("[y]\nd = 4\n"));
        assert!(!t.contains('b'));
    }
}
