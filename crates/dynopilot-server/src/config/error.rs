//! `ConfigErrors`: every problem of a configuration at once, each with its dotted key path and
//! where it came from (`file:line:col` or the environment variable), one line per problem.

use std::fmt;

/// Where a problem can be pointed at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A position in the config file; line and column are 1-based.
    File {
        source: String,
        line: usize,
        column: usize,
    },
    /// The value came from this environment variable.
    Env(String),
    /// Nothing more precise than the source (e.g. a key that is missing everywhere).
    Source(String),
}

/// One configuration problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub location: Location,
    /// Dotted key path, e.g. `apps[0].process_types.web.min`; empty for whole-file problems.
    pub key: String,
    pub message: String,
}

impl ConfigError {
    /// The line in the file, when the problem has one.
    pub fn line(&self) -> Option<usize> {
        match self.location {
            Location::File { line, .. } => Some(line),
            _ => None,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Location::File {
                source,
                line,
                column,
            } => write!(f, "{source}:{line}:{column}: ")?,
            Location::Env(var) => write!(f, "env {var}: ")?,
            Location::Source(source) => write!(f, "{source}: ")?,
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found while loading a configuration, in file order where known.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// The problem reported for `key`, if any (for tests and tooling).
    pub fn find(&self, key: &str) -> Option<&ConfigError> {
        self.errors.iter().find(|e| e.key == key)
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
