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
    /// The pre-2013 `Scale to web=2, worker=1 by x`: quantities only, no sizes; read them
    /// with [`ApiEvent::scale_quantities`].
    ScaleTo {
        quantities: &'a str,
        user: Option<&'a str>,
    },
    /// Any other audit line (`Build succeeded`, `Enable Logplex by user x`, add-on
    /// provisioning notes): what was done, as written.
    Audit {
        action: &'a str,
        user: Option<&'a str>,
    },
}

impl<'a> ApiEvent<'a> {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Release { .. } => "release",
            Self::Deploy { .. } => "deploy",
            Self::Rollback { .. } => "rollback",
            Self::ConfigVars { set: true, .. } => "config_set",
            Self::ConfigVars { set: false, .. } => "config_removed",
            Self::ScaleTo { .. } => "scale_to",
            Self::Audit { .. } => "audit",
        }
    }

    /// `(process type, quantity)` of a legacy `Scale to` line; nothing for other events.
    pub fn scale_quantities(&self) -> impl Iterator<Item = (&'a str, u32)> + 'a {
        let quantities = match *self {
            Self::ScaleTo { quantities, .. } => quantities,
            _ => "",
        };
        quantities.split(", ").filter_map(parse_quantity)
    }

    pub fn user(&self) -> Option<&str> {
        match *self {
            Self::Release { user, .. }
            | Self::Deploy { user, .. }
            | Self::Rollback { user, .. }
            | Self::ConfigVars { user, .. }
            | Self::ScaleTo { user, .. }
            | Self::Audit { user, .. } => user,
        }
    }
}

/// Splits `… by user x@y` (and the pre-2013 `… by x@y`) into the body and the user.
fn split_user(message: &str) -> (&str, Option<&str>) {
    let message = message.trim_end();
    match message.rsplit_once(" by ") {
        Some((body, user)) => (body, Some(user.strip_prefix("user ").unwrap_or(user))),
        None => (message, None),
    }
}

fn parse_quantity(entry: &str) -> Option<(&str, u32)> {
    let (process_type, quantity) = entry.split_once('=')?;
    if process_type.is_empty() || process_type.contains(' ') {
        return None;
    }
    Some((process_type, quantity.parse().ok()?))
}

fn version(v: &str) -> Option<u32> {
    v.strip_prefix('v')?.parse().ok()
}

/// Any audit line: a named event when the wording is known, else [`ApiEvent::Audit`]. Only an
/// empty message is refused.
pub fn parse_event(message: &str) -> Option<ApiEvent<'_>> {
    let (body, user) = split_user(message);
    if body.is_empty() {
        return None;
    }
    Some(parse_named(body, user).unwrap_or(ApiEvent::Audit { action: body, user }))
}

fn parse_named<'a>(body: &'a str, user: Option<&'a str>) -> Option<ApiEvent<'a>> {
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
    if let Some(quantities) = body.strip_prefix("Scale to ") {
        let event = ApiEvent::ScaleTo { quantities, user };
        return event.scale_quantities().next().map(|_| event);
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
        assert_eq!(
            parse_event("Build succeeded"),
            Some(ApiEvent::Audit {
                action: "Build succeeded",
                user: None
            })
        );
        assert_eq!(parse_event(""), None);
    }

    #[test]
    fn pre_2013_wording_without_user() {
        assert_eq!(
            parse_event("Deploy 2c1ef4f by jd@example.com"),
            Some(ApiEvent::Deploy {
                commit: "2c1ef4f",
                user: Some("jd@example.com")
            })
        );
        assert_eq!(
            parse_event("Release v12 created by jd@example.com"),
            Some(ApiEvent::Release {
                version: 12,
                user: Some("jd@example.com")
            })
        );
        let scale = parse_event("Scale to web=2, worker=1 by jd@example.com").unwrap();
        assert_eq!(scale.user(), Some("jd@example.com"));
        let q: Vec<_> = scale.scale_quantities().collect();
        assert_eq!(q, vec![("web", 2), ("worker", 1)]);
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
