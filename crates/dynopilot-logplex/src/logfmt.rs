//! A borrowing logfmt scanner (`key=value key="quoted value" bare`), the grammar of router,
//! runtime-metrics, add-on and l2met lines.

use crate::scan;

/// One `key=value` pair. `value` is `None` for a bare key and `Some("")` for `key=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair<'a> {
    pub key: &'a str,
    pub value: Option<&'a str>,
    /// The value was in double quotes (the quotes are not part of `value`; escapes are kept).
    pub quoted: bool,
}

/// Iterates over the pairs of a logfmt line without allocating.
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    text: &'a str,
    pos: usize,
}

pub fn pairs(text: &str) -> Pairs<'_> {
    Pairs { text, pos: 0 }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Pair<'a>;

    // Word-at-a-time search rather than `memchr`: keys and values are a few bytes long, and
    // per-call overhead dominated the profile of router-line parsing.
    fn next(&mut self) -> Option<Pair<'a>> {
        let text = self.text;
        let bytes = text.as_bytes();
        let start = bytes[self.pos.min(bytes.len())..]
            .iter()
            .position(|&b| b != b' ')
            .map(|n| self.pos + n)?;
        let key_end = scan::find2(bytes, start, b'=', b' ').unwrap_or(bytes.len());
        let key = &text[start..key_end];
        if bytes.get(key_end) != Some(&b'=') {
            self.pos = key_end;
            return Some(Pair {
                key,
                value: None,
                quoted: false,
            });
        }
        let value_start = key_end + 1;
        if bytes.get(value_start) == Some(&b'"') {
            let (end, next) = closing_quote(bytes, value_start + 1);
            self.pos = next;
            return Some(Pair {
                key,
                value: Some(&text[value_start + 1..end]),
                quoted: true,
            });
        }
        let end = scan::find(bytes, value_start, b' ').unwrap_or(bytes.len());
        self.pos = end;
        Some(Pair {
            key,
            value: Some(&text[value_start..end]),
            quoted: false,
        })
    }
}

/// Finds the quote closing a value that starts at `from`, skipping `\"`. An unterminated quote
/// runs to the end of the line. Returns (end of value, where scanning continues).
#[inline]
pub(crate) fn closing_quote(bytes: &[u8], from: usize) -> (usize, usize) {
    let mut i = from;
    while let Some(at) = scan::find2(bytes, i, b'"', b'\\') {
        if bytes[at] == b'"' {
            return (at, at + 1);
        }
        i = at + 2;
    }
    (bytes.len(), bytes.len())
}

/// Splits `12.5ms` into (12.5, "ms"): leading digits with at most one `.`, then the unit.
/// An empty number is `None` (l2met treats an empty value as 1; callers decide).
#[inline]
pub fn split_number(value: &str) -> Option<(f64, &str)> {
    let bytes = value.as_bytes();
    let negative = bytes.first() == Some(&b'-');
    let mut end = usize::from(negative);
    let mut seen_dot = false;
    // Plain integers (the usual `18ms`, `80522pages`) are accumulated on the way: up to 15
    // digits convert to f64 exactly, and much faster than `parse`.
    let mut integer = 0u64;
    while end < bytes.len() {
        match bytes[end] {
            d @ b'0'..=b'9' => integer = integer.wrapping_mul(10).wrapping_add(u64::from(d - b'0')),
            b'.' if !seen_dot => seen_dot = true,
            _ => break,
        }
        end += 1;
    }
    let number = &value[..end];
    let digits = end - usize::from(negative);
    let parsed = if !negative && !seen_dot && (1..=15).contains(&digits) {
        integer as f64
    } else if number.is_empty() || number == "-" || number == "." {
        return None;
    } else {
        number.parse::<f64>().ok()?
    };
    Some((parsed, &value[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(s: &str) -> Vec<(&str, Option<&str>)> {
        pairs(s).map(|p| (p.key, p.value)).collect()
    }

    #[test]
    fn quoted_empty_and_bare_values() {
        assert_eq!(
            collect(r#"at=error desc="Request timeout" dyno= connect= count#signup bytes=0"#),
            vec![
                ("at", Some("error")),
                ("desc", Some("Request timeout")),
                ("dyno", Some("")),
                ("connect", Some("")),
                ("count#signup", None),
                ("bytes", Some("0")),
            ]
        );
    }

    #[test]
    fn escaped_quotes_and_unterminated_values() {
        assert_eq!(
            collect(r#"path="/a\"b" x=1"#),
            vec![("path", Some(r#"/a\"b"#)), ("x", Some("1"))]
        );
        assert_eq!(
            collect(r#"fwd="1.2.3.4, 5.6"#),
            vec![("fwd", Some("1.2.3.4, 5.6"))]
        );
    }

    proptest::proptest! {
        #[test]
        fn split_number_agrees_with_parse_of_the_numeric_prefix(value in "-?[0-9]{0,20}(\\.[0-9]{0,4})?[a-zA-Z.%]{0,4}") {
            // Reference: the same prefix rule, every number through `parse`.
            let b = value.as_bytes();
            let mut end = usize::from(b.first() == Some(&b'-'));
            let mut dot = false;
            while end < b.len() && (b[end].is_ascii_digit() || (b[end] == b'.' && !dot)) {
                dot |= b[end] == b'.';
                end += 1;
            }
            let expected = value[..end].parse::<f64>().ok().map(|n| (n, &value[end..]));
            proptest::prop_assert_eq!(split_number(&value), expected);
        }
    }

    #[test]
    fn numbers_with_units() {
        assert_eq!(split_number("21.00MB"), Some((21.0, "MB")));
        assert_eq!(split_number("348836pages"), Some((348836.0, "pages")));
        assert_eq!(split_number("4ms"), Some((4.0, "ms")));
        assert_eq!(split_number("1.2.3"), Some((1.2, ".3")));
        assert_eq!(split_number("MB"), None);
        assert_eq!(split_number(""), None);
        assert_eq!(split_number("-"), None);
        assert_eq!(split_number("."), None);
        assert_eq!(split_number("-."), None);
        assert_eq!(split_number("-3ms"), Some((-3.0, "ms")));
        assert_eq!(split_number(".5s"), Some((0.5, "s")));
        assert_eq!(
            split_number("123456789012345"),
            Some((123_456_789_012_345.0, ""))
        );
        assert_eq!(
            split_number("12345678901234567890123x"),
            Some((12_345_678_901_234_567_890_123.0, "x"))
        );
    }
}
