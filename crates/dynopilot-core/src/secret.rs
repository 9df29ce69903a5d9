//! `Secret`: a credential (API key, drain secret, SMTP password, webhook URL with a token) that
//! never shows up in `Debug`, `Display` or serialized configs, and URL redaction for free text.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What every secret prints as.
pub const MASK: &str = "***";

/// A secret string. Read it with [`Secret::expose`] only where it is sent somewhere.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The real value; call sites are easy to audit by searching for `expose`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// Serializes masked: serialized configs are for display and documentation only.
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(MASK)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Query parameters whose value is a credential (libpq's `password`, Redis and SMTP clients'
/// `password`/`pass`, tokens); compared without case.
const SECRET_PARAMS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "sslpassword",
    "secret",
    "token",
    "api_key",
    "apikey",
];

/// A URL with its credentials masked: the password of the userinfo part
/// (`postgres://user:pw@host/db`, `redis://:pw@host`, `smtp://user:pw@host`) and the values of
/// credential query parameters (`?password=…`). Everything else is kept, so the URL still says
/// where it points.
///
/// The userinfo is taken up to the last `@` before the query, so a password holding an
/// unencoded `@`, `/` or `:` is masked whole rather than cut at the wrong place.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let query_at = rest.find(['?', '#']).unwrap_or(rest.len());
    let (head, tail) = rest.split_at(query_at);
    let mut out = format!("{scheme}://");
    match head.rfind('@').map(|at| head.split_at(at)) {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            // A `/` before the `:` means the `@` sits in the path, not after a userinfo.
            Some((user, _password)) if !user.contains('/') => {
                out.push_str(&format!("{user}:{MASK}{host}"));
            }
            _ => out.push_str(head),
        },
        None => out.push_str(head),
    }
    out.push_str(&redact_query(tail));
    out
}

/// `?a=1&password=x#f` → `?a=1&password=***#f`.
fn redact_query(tail: &str) -> String {
    let Some(query) = tail.strip_prefix('?') else {
        return tail.to_owned();
    };
    let (query, fragment) = match query.find('#') {
        Some(i) => query.split_at(i),
        None => (query, ""),
    };
    let params: Vec<String> = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some((key, _)) if SECRET_PARAMS.iter().any(|s| key.eq_ignore_ascii_case(s)) => {
                format!("{key}={MASK}")
            }
            _ => param.to_owned(),
        })
        .collect();
    format!("?{}{fragment}", params.join("&"))
}

/// Free text (an error message, a log line) with the credentials of every URL in it masked,
/// as [`redact_url`] does. A URL runs from its scheme to the next space, quote or bracket.
pub fn redact_urls_in(text: &str) -> String {
    if !text.contains("://") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(sep) = rest.find("://") {
        let scheme_start = rest[..sep]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+.-".contains(c)))
            .map_or(0, |i| i + 1);
        let end = rest[sep..]
            .find(|c: char| c.is_whitespace() || "\"'`<>()[]{}".contains(c))
            .map_or(rest.len(), |i| sep + i);
        out.push_str(&rest[..scheme_start]);
        out.push_str(&redact_url(&rest[scheme_start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_mask_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn redacts_only_the_password_of_a_url() {
        assert_eq!(
            redact_url("postgres://u:pw@db.example.com:5432/x?sslmode=require"),
            "postgres://u:***@db.example.com:5432/x?sslmode=require"
        );
        assert_eq!(
            redact_url("sqlite://dynopilot.sqlite"),
            "sqlite://dynopilot.sqlite"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn redacts_redis_smtp_and_awkward_passwords() {
        assert_eq!(redact_url("redis://:hunter2@h:6379"), "redis://:***@h:6379");
        assert_eq!(
            redact_url("smtps://mail:hunter2@smtp.example.com:465"),
            "smtps://mail:***@smtp.example.com:465"
        );
        for url in [
            "postgres://u:hun@ter2@h/db",
            "postgres://u:hun/ter2@h/db",
            "postgres://u:hun:ter2@h/db",
        ] {
            assert_eq!(redact_url(url), "postgres://u:***@h/db", "{url}");
        }
        assert_eq!(
            redact_url("postgres://h/db?user=u&Password=hunter2&sslmode=require#x"),
            "postgres://h/db?user=u&Password=***&sslmode=require#x"
        );
        assert_eq!(redact_url("https://h/a@b"), "https://h/a@b");
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn redacts_every_url_inside_text() {
        let text = "connecting to `postgres://u:hunter2@h/db` failed; fallback \
                    redis://:pw2@r:6379, see https://devcenter.heroku.com/x";
        let shown = redact_urls_in(text);
        assert!(
            !shown.contains("hunter2") && !shown.contains("pw2"),
            "{shown}"
        );
        assert!(shown.contains("`postgres://u:***@h/db` failed"), "{shown}");
        assert!(shown.contains("redis://:***@r:6379,"), "{shown}");
        assert!(shown.contains("https://devcenter.heroku.com/x"), "{shown}");
        assert_eq!(redact_urls_in("no urls here"), "no urls here");
    }
}
