//! Routes: which channels an event goes to, by topic glob (`rule:*`), minimum severity and app,
//! with a default route for events no route takes. Routes that name the event's app override
//! the routes for every app.

use std::collections::BTreeSet;
use std::time::Duration;

use dynopilot_core::policy::Severity;

/// A topic pattern: `*` matches any run of characters, `?` exactly one; nothing else is special.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob(String);

/// Why a pattern is not a topic glob.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    #[error("empty topic pattern")]
    Empty,
    #[error("`{0}` is not allowed in a topic pattern (only `*` and `?` are special)")]
    Unsupported(char),
    #[error("whitespace is not allowed in a topic pattern")]
    Whitespace,
}

impl Glob {
    pub fn parse(pattern: &str) -> Result<Glob, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError::Empty);
        }
        if let Some(c) = pattern.chars().find(|c| "[]{}!\\".contains(*c)) {
            return Err(GlobError::Unsupported(c));
        }
        if pattern.chars().any(char::is_whitespace) {
            return Err(GlobError::Whitespace);
        }
        Ok(Glob(pattern.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, text: &str) -> bool {
        let pattern: Vec<char> = self.0.chars().collect();
        let text: Vec<char> = text.chars().collect();
        glob_match(&pattern, &text)
    }
}

/// Iterative wildcard matching with one backtrack point: linear in practice, never recursive.
fn glob_match(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == '?' || *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// One route: events whose topic matches one of `topics`, at `min_severity` or above, of one
/// of `apps` (all apps when empty), go to `channels`.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub topics: Vec<Glob>,
    pub min_severity: Severity,
    pub apps: Vec<String>,
    pub channels: Vec<String>,
    /// Overrides the default cooling window for events this route takes.
    pub cooling: Option<Duration>,
}

impl Route {
    fn takes(&self, topic: &str, severity: Severity, app: &str) -> bool {
        severity >= self.min_severity
            && (self.apps.is_empty() || self.apps.iter().any(|a| a == app))
            && self.topics.iter().any(|g| g.matches(topic))
    }
}

/// The default route: every event no route takes, at `min_severity` or above.
#[derive(Clone, Debug, PartialEq)]
pub struct DefaultRoute {
    pub min_severity: Severity,
    pub channels: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Routes {
    pub routes: Vec<Route>,
    pub default: DefaultRoute,
    /// Cooling window of routes that set none.
    pub cooling: Duration,
}

/// Where one event goes and how long its (topic, app, target) cools afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routed {
    pub channels: BTreeSet<String>,
    pub cooling: Duration,
}

/// Ten minutes, as in the rule-engine seed.
pub const DEFAULT_COOLING: Duration = Duration::from_secs(600);

impl Routes {
    /// Nothing is delivered anywhere.
    pub fn none() -> Routes {
        Routes {
            routes: Vec::new(),
            default: DefaultRoute {
                min_severity: Severity::Info,
                channels: Vec::new(),
            },
            cooling: DEFAULT_COOLING,
        }
    }

    /// The channels for an event. Routes naming `app` take precedence over routes for every
    /// app; every route of the winning group that takes the event contributes its channels,
    /// and the shortest cooling among them applies (whoever asked for more messages gets them).
    pub fn route(&self, topic: &str, severity: Severity, app: &str) -> Routed {
        let for_app: Vec<&Route> = self
            .routes
            .iter()
            .filter(|r| r.apps.iter().any(|a| a == app) && r.takes(topic, severity, app))
            .collect();
        let taking = if for_app.is_empty() {
            self.routes
                .iter()
                .filter(|r| r.apps.is_empty() && r.takes(topic, severity, app))
                .collect()
        } else {
            for_app
        };
        if taking.is_empty() {
            let channels = if severity >= self.default.min_severity {
                self.default.channels.iter().cloned().collect()
            } else {
                BTreeSet::new()
            };
            return Routed {
                channels,
                cooling: self.cooling,
            };
        }
        Routed {
            channels: taking
                .iter()
                .flat_map(|r| r.channels.iter().cloned())
                .collect(),
            cooling: taking
                .iter()
                .map(|r| r.cooling.unwrap_or(self.cooling))
                .min()
                .unwrap_or(self.cooling),
        }
    }

    /// Every channel name the routes use, for checking them against the configured channels.
    pub fn channel_names(&self) -> BTreeSet<&str> {
        self.routes
            .iter()
            .flat_map(|r| r.channels.iter())
            .chain(self.default.channels.iter())
            .map(String::as_str)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(p: &str) -> Glob {
        Glob::parse(p).unwrap()
    }

    #[test]
    fn globs_match_whole_topics() {
        assert!(glob("rule:*").matches("rule:H12-storm"));
        assert!(!glob("rule:*").matches("restart"));
        assert!(glob("*").matches(""));
        assert!(glob("scale-*").matches("scale-up"));
        assert!(glob("s*-d?wn").matches("scale-down"));
        assert!(!glob("restart").matches("restart-storm"));
        assert!(glob("*storm").matches("restart-storm"));
        assert!(!glob("a*b*c").matches("aXbY"));
    }

    #[test]
    fn bad_globs_are_named() {
        assert_eq!(Glob::parse(""), Err(GlobError::Empty));
        assert_eq!(Glob::parse("rule:[ab]"), Err(GlobError::Unsupported('[')));
        assert_eq!(Glob::parse("rule: x"), Err(GlobError::Whitespace));
    }
}
