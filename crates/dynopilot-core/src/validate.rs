//! Configuration validation that reports every problem at once, each with the dotted key path
//! it concerns (`apps.shop.web.autoscale.max`), so the loader can point at the file line.

use std::fmt;

/// One problem found in a configuration value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Dotted path of the offending key, e.g. `apps.shop.process_types.web.max`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Collects issues while walking a configuration tree.
#[derive(Clone, Debug, Default)]
pub struct Validation {
    issues: Vec<ConfigIssue>,
}

impl Validation {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem at `key`.
    pub fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.issues.push(ConfigIssue {
            key: key.into(),
            message: message.into(),
        });
    }

    /// Records `message` at `key` unless `ok` holds.
    pub fn check(&mut self, ok: bool, key: impl Into<String>, message: impl Into<String>) {
        if !ok {
            self.push(key, message);
        }
    }

    pub fn issues(&self) -> &[ConfigIssue] {
        &self.issues
    }

    pub fn is_ok(&self) -> bool {
        self.issues.is_empty()
    }

    /// `Ok(())` when nothing was recorded, otherwise every issue in the order found.
    pub fn finish(self) -> Result<(), Vec<ConfigIssue>> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(self.issues)
        }
    }
}

/// Joins a parent key path and a child key.
pub fn key(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_issue_in_order() {
        let mut v = Validation::new();
        v.check(true, "a", "fine");
        v.check(
            1 > 2,
            key("apps.shop", "min"),
            "min 3 is greater than max 2",
        );
        v.push("apps.shop.size", "unknown dyno size `Standard-3X`");
        let issues = v.finish().unwrap_err();
        assert_eq!(issues.len(), 2);
        assert_eq!(
            issues[0].to_string(),
            "apps.shop.min: min 3 is greater than max 2"
        );
    }
}
