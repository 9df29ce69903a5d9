//! Which requests a fault rule applies to: an optional HTTP method and an optional path glob
//! where `*` stands for one path segment (or part of one) and a final `**` for any rest.

use std::fmt;

/// The methods the Platform API uses.
const METHODS: &[&str] = &["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"];

/// A request filter; the default matches every request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestPattern {
    pub method: Option<String>,
    /// Glob segments, without the leading `/`.
    segments: Option<Vec<String>>,
}

impl RequestPattern {
    /// Parses `METHOD`, `/path/glob` or `METHOD /path/glob`; the message says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (method, path) = match text.split_once(' ') {
            Some((m, p)) => (Some(m), Some(p.trim())),
            None if text.starts_with('/') => (None, Some(text)),
            None => (Some(text), None),
        };
        let method = method.map(parse_method).transpose()?;
        let segments = path.map(parse_path).transpose()?;
        Ok(RequestPattern { method, segments })
    }

    /// Whether a request with this method and path (no query) is one the rule applies to.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if self.method.as_deref().is_some_and(|m| m != method) {
            return false;
        }
        let Some(globs) = &self.segments else {
            return true;
        };
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (rest_glob, fixed) = match globs.split_last() {
            Some((last, head)) if last == "**" => (true, head),
            _ => (false, globs.as_slice()),
        };
        let length_ok = if rest_glob {
            parts.len() >= fixed.len()
        } else {
            parts.len() == fixed.len()
        };
        length_ok && fixed.iter().zip(&parts).all(|(g, p)| segment_matches(g, p))
    }
}

fn parse_method(text: &str) -> Result<String, String> {
    let upper = text.to_ascii_uppercase();
    if METHODS.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(format!(
            "`{text}` is neither an HTTP method ({}) nor a path starting with `/`",
            METHODS.join(", ")
        ))
    }
}

fn parse_path(text: &str) -> Result<Vec<String>, String> {
    if !text.starts_with('/') {
        return Err(format!("path pattern `{text}` must start with `/`"));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '[' | ']'))
    {
        return Err(format!(
            "path pattern `{text}` contains `{}`; only literal segments, `*` and a final `**` are allowed",
            bad.escape_default()
        ));
    }
    let segments: Vec<String> = text[1..].split('/').map(str::to_string).collect();
    let last = segments.len() - 1;
    for (i, s) in segments.iter().enumerate() {
        if s.contains("**") && (s != "**" || i != last) {
            return Err(format!(
                "path pattern `{text}`: `**` must be a whole segment at the end"
            ));
        }
    }
    Ok(segments)
}

/// `*` matches any run of characters within one segment.
fn segment_matches(glob: &str, text: &str) -> bool {
    let mut pieces = glob.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(i) => rest = &rest[i + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

impl fmt::Display for RequestPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.method, &self.segments) {
            (None, None) => f.write_str("every request"),
            (Some(m), None) => f.write_str(m),
            (m, Some(s)) => {
                if let Some(m) = m {
                    write!(f, "{m} ")?;
                }
                write!(f, "/{}", s.join("/"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> RequestPattern {
        RequestPattern::parse(text).unwrap()
    }

    #[test]
    fn star_matches_one_segment_and_double_star_the_rest() {
        let dyno = p("DELETE /apps/*/dynos/*");
        assert!(dyno.matches("DELETE", "/apps/shop/dynos/web.1"));
        assert!(!dyno.matches("GET", "/apps/shop/dynos/web.1"));
        assert!(!dyno.matches("DELETE", "/apps/shop/dynos"));
        assert!(!dyno.matches("DELETE", "/apps/shop/dynos/web.1/actions/stop"));
        let any = p("/apps/**");
        assert!(any.matches("PATCH", "/apps/shop/formation/web"));
        assert!(!any.matches("GET", "/account"));
        assert!(p("/apps/*/dynos/web.*").matches("GET", "/apps/a/dynos/web.12"));
        assert!(!p("/apps/*/dynos/web.*").matches("GET", "/apps/a/dynos/worker.1"));
        assert!(p("patch").matches("PATCH", "/anything"));
        assert!(RequestPattern::default().matches("GET", "/"));
    }

    #[test]
    fn bad_patterns_say_what_is_wrong() {
        assert!(
            RequestPattern::parse("FETCH")
                .unwrap_err()
                .contains("FETCH")
        );
        assert!(
            RequestPattern::parse("DELETE apps/*")
                .unwrap_err()
                .contains("must start with `/`")
        );
        assert!(
            RequestPattern::parse("/apps/**/dynos")
                .unwrap_err()
                .contains("**")
        );
        assert!(
            RequestPattern::parse("/apps/[a]")
                .unwrap_err()
                .contains('[')
        );
    }
}
