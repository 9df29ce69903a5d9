//! `ApiKey`: the Heroku API key, kept out of every `Debug`, `Display` and error.

use std::fmt;

/// A Heroku API key or OAuth token. Its only way out is [`ApiKey::bearer_header`], used when
/// building the `Authorization` header; `Debug` prints `ApiKey(***)` and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// True when no key was given (e.g. an unset environment variable).
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// `Bearer <key>`, marked sensitive so HTTP-layer debugging never prints it.
    pub(crate) fn bearer_header(&self) -> Option<http::HeaderValue> {
        let mut value = http::HeaderValue::from_str(&format!("Bearer {}", self.0.trim())).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let key = ApiKey::new("hrku-secret-1234");
        let shown = format!("{key:?} {:?}", Some(&key));
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("ApiKey(***)"));
    }

    #[test]
    fn bearer_header_carries_the_trimmed_key_and_is_sensitive() {
        let value = ApiKey::new(" abc \n").bearer_header().unwrap();
        assert_eq!(value.to_str().unwrap(), "Bearer abc");
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("abc"));
    }

    #[test]
    fn empty_key_is_detected() {
        assert!(ApiKey::new("  ").is_empty());
        assert!(!ApiKey::new("k").is_empty());
    }
}
