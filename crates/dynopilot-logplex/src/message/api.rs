//! Platform API audit lines (`app[api]`): releases, deploys, rollbacks, config vars, scaling.

/// A release-related audit line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiEvent<'a> {
    Release {
        version: u32,
        user: Option<&'a str>,
    },
    Deploy {
        commit: &'a str,
        user: Option<&'a str>,
    },
    Rollback {
        version: u32,
        user: Option<&'a str>,
    },
    /// `Set A, B config vars by user x` / `Remove A config vars by user x`; `names` as written.
    ConfigVars {
        set: bool,
        names: &'a str,
        user: Option<&'a str>,
    },
}

impl ApiEvent<'_> {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Release { .. } => "release",
            Self::Deploy { .. } => "deploy",
            Self::Rollback { .. } => "rollback",
            Self::ConfigVars { set: true, .. } => "config_set",
            Self::ConfigVars { set: false, .. } => "config_removed",
        }
    }

    pub fn user(&self) -> Option<&str> {
        match *self {
            Self::Release { user, .. }
            | Self::Deploy { user, .. }
            | Self::Rollback { user, .. }
            | Self::ConfigVars { user, .. } => user,
        }
    }
}

/// Splits `… by user x@y` into the body and the user.
fn split_user(message: &str) -> (&str, Option<&str>) {
    match message.rsplit_once(" by user ") {
        Some((body, user)) => (body, Some(user.trim_end())),
        None => (message.trim_end(), None),
    }
}

fn version(v: &str) -> Option<u32> {
    v.strip_prefix('v')?.parse().ok()
}

pub fn parse_event(message: &str) -> Option<ApiEvent<'_>> {
    let (body, user) = split_user(message);
    if let Some(rest) = body.strip_prefix("Release ") {
        let v = rest.strip_suffix(" created")?;
        return Some(ApiEvent::Release {
            version: version(v)?,
            user,
        });
    }
    if let Some(commit) = body.strip_prefix("Deploy ") {
        return (!commit.is_empty() && !commit.contains(' '))
            .then_some(ApiEvent::Deploy { commit, user });
    }
    if let Some(v) = body.strip_prefix("Rollback to ") {
        return Some(ApiEvent::Rollback {
            version: version(v)?,
            user,
        });
    }
    for (prefix, set) in [("Set ", true), ("Remove ", false)] {
        if let Some(names) = body
            .strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(" config vars"))
        {
            return Some(ApiEvent::ConfigVars { set, names, user });
        }
    }
    None
}

/// `Scaled to web@2:Standard-1X worker@1:Basic by user x`: the whole formation after the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleEvent<'a> {
    entries: &'a str,
    pub user: Option<&'a str>,
}

/// One `type@quantity:Size` entry of a scale line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleEntry<'a> {
    pub process_type: &'a str,
    pub quantity: u32,
    pub size: &'a str,
}

impl<'a> ScaleEvent<'a> {
    /// The entries; malformed ones are skipped (the line was checked to hold at least one).
    pub fn entries(&self) -> impl Iterator<Item = ScaleEntry<'a>> + 'a {
        self.entries.split(' ').filter_map(parse_entry)
    }
}

fn parse_entry(entry: &str) -> Option<ScaleEntry<'_>> {
    let (process_type, rest) = entry.split_once('@')?;
    let (quantity, size) = rest.split_once(':')?;
    if process_type.is_empty() || size.is_empty() {
        return None;
    }
    Some(ScaleEntry {
        process_type,
        quantity: quantity.parse().ok()?,
        size,
    })
}

pub fn parse_scale(message: &str) -> Option<ScaleEvent<'_>> {
    let (body, user) = split_user(message);
    let entries = body.strip_prefix("Scaled to ")?;
    let event = ScaleEvent { entries, user };
    event.entries().next()?;
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases() {
        assert_eq!(
            parse_event("Release v32 created by user a@b.c"),
            Some(ApiEvent::Release {
                version: 32,
                user: Some("a@b.c")
            })
        );
        assert_eq!(
            parse_event("Deploy 4c3bb32c by user j@x.com"),
            Some(ApiEvent::Deploy {
                commit: "4c3bb32c",
                user: Some("j@x.com")
            })
        );
        assert_eq!(
            parse_event("Rollback to v7 by user u").unwrap().name(),
            "rollback"
        );
        assert_eq!(
            parse_event("Set POSTGRES_PASSWORD, X config vars by user u"),
            Some(ApiEvent::ConfigVars {
                set: true,
                names: "POSTGRES_PASSWORD, X",
                user: Some("u")
            })
        );
        assert_eq!(parse_event("Build succeeded"), None);
    }

    #[test]
    fn scale_lists_every_type() {
        let s =
            parse_scale("Scaled to web@0:Basic worker_2@3:Performance-M by user ron@x.io").unwrap();
        let entries: Vec<_> = s.entries().collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[1],
            ScaleEntry {
                process_type: "worker_2",
                quantity: 3,
                size: "Performance-M"
            }
        );
        assert_eq!(s.user, Some("ron@x.io"));
        assert!(parse_scale("Scaled to nothing by user x").is_none());
    }
}
