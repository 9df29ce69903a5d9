//! Shapes of what was not understood: every unknown line or message reduced to a pattern
//! (numbers and ids → `#`, quoted text → `"…"`, at most a dozen words) and counted, so a user sees
//! which kinds of lines the parser missed and how often, with one example of each.

use std::collections::BTreeMap;

/// Distinct shapes kept; lines of further shapes are only counted.
pub const MAX_SHAPES: usize = 1_000;
/// Words of a line that make its shape.
const SHAPE_WORDS: usize = 12;
/// Characters of the example kept per shape.
const EXAMPLE_CHARS: usize = 160;

#[derive(Debug, Default)]
pub struct Shapes {
    /// Shape → (count, first example).
    pub shapes: BTreeMap<String, (u64, String)>,
    /// Lines whose shape was not kept (more than [`MAX_SHAPES`] shapes).
    pub unshaped: u64,
}

impl Shapes {
    /// A whole line that no layout could read.
    pub fn add_line(&mut self, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw);
        self.add(shape(&text), &text);
    }

    /// A message of a readable line whose wording is not known, written by `process`.
    pub fn add_message(&mut self, process: &str, text: &str) {
        let mut key = format!("[{}] ", shape_word(process));
        if text.is_empty() {
            key.push_str("(empty or not UTF-8)");
        } else {
            key.push_str(&shape(text));
        }
        self.add(key, text);
    }

    fn add(&mut self, key: String, example: &str) {
        if let Some((count, _)) = self.shapes.get_mut(&key) {
            *count += 1;
        } else if self.shapes.len() < MAX_SHAPES {
            let example = example.chars().take(EXAMPLE_CHARS).collect();
            self.shapes.insert(key, (1, example));
        } else {
            self.unshaped += 1;
        }
    }

    /// Adds the shapes of the input that came right after this one's.
    pub fn join(&mut self, later: Shapes) {
        self.unshaped += later.unshaped;
        for (key, (count, example)) in later.shapes {
            if let Some((mine, _)) = self.shapes.get_mut(&key) {
                *mine += count;
            } else if self.shapes.len() < MAX_SHAPES {
                self.shapes.insert(key, (count, example));
            } else {
                self.unshaped += count;
            }
        }
    }

    /// Shapes by count, most frequent first.
    pub fn by_count(&self) -> Vec<(&str, u64, &str)> {
        let mut all: Vec<_> = self
            .shapes
            .iter()
            .map(|(k, (n, e))| (k.as_str(), *n, e.as_str()))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all
    }
}

/// The shape of a text: its first words, each reduced by [`shape_word`], quoted runs as `"…"`.
pub fn shape(text: &str) -> String {
    let mut out = String::new();
    let mut in_quote = false;
    for (i, word) in text.split_ascii_whitespace().enumerate() {
        if i == SHAPE_WORDS {
            out.push_str(" …");
            break;
        }
        if in_quote {
            in_quote = !word.ends_with('"');
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        let (key, value) = match word.split_once('=') {
            Some((k, v)) => (Some(k), v),
            None => (None, word),
        };
        if let Some(key) = key {
            out.push_str(&shape_word(key));
            out.push('=');
        }
        if let Some(rest) = value.strip_prefix('"') {
            out.push_str("\"…\"");
            in_quote = !rest.ends_with('"');
        } else {
            out.push_str(&shape_word(value));
        }
    }
    out
}

/// A word with each run of digits as `#`; a word with three runs or more (times, ids, addresses)
/// is `#` as a whole.
pub fn shape_word(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut runs = 0;
    let mut in_digits = false;
    for c in word.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                runs += 1;
                out.push('#');
            }
            in_digits = true;
        } else {
            in_digits = false;
            out.push(c);
        }
    }
    if runs >= 3 { "#".to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_group_lines_that_differ_only_in_values() {
        let a = shape(r#"Heroku says 12 things at=x id=6d7bc072-5405-402d msg="hello there" n=1"#);
        let b = shape(r#"Heroku says 345 things at=x id=ffff0000-0001-4000 msg="bye" n=22"#);
        assert_eq!(a, b);
        assert_eq!(a, r#"Heroku says # things at=x id=# msg="…" n=#"#);
        assert_eq!(shape_word("web.12"), "web.#");
        assert_eq!(shape_word("2024-01-01T09:03:22"), "#");
        let mut s = Shapes::default();
        s.add_message("run.42", "Something new from Heroku 7");
        s.add_message("run.7", "Something new from Heroku 8");
        s.add_line(b"garbage 1");
        assert_eq!(
            s.by_count()[0],
            (
                "[run.#] Something new from Heroku #",
                2,
                "Something new from Heroku 7"
            )
        );
    }
}
