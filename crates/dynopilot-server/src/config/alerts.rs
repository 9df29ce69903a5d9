//! The `[alerts]` section: channels (their settings belong to the notify crate), routes from
//! topics, severities and apps to channel names, cooling, big-swing size, the dashboard's
//! public URL for links, and retries. Validated here, in one place, with key and line.

use std::collections::BTreeMap;

use dynopilot_core::policy::{ConfigDuration, Severity};
use dynopilot_notify::route::DEFAULT_COOLING;
use dynopilot_notify::{DefaultRoute, EventSettings, Glob, Route, Routes};
use serde::{Deserialize, Serialize};

use super::build::Builder;
use crate::alerts::{AlertSettings, RetryPolicy};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAlerts {
    /// Channel name → its settings (`type = "email" | "slack" | …`).
    pub channels: BTreeMap<String, toml::Table>,
    /// Checked in order; see `dynopilot_notify::route`.
    pub routes: Vec<RawRoute>,
    /// Where alerts no route takes go.
    pub default_route: RawDefaultRoute,
    /// Cooling per (topic, app, target) of routes that set none.
    pub cooling: ConfigDuration,
    /// A scale changing the quantity by at least this many dynos is a `big-swing`; 0 is off.
    pub big_swing: u32,
    /// The dashboard's base URL as people reach it, for links in messages.
    pub public_url: Option<String>,
    pub retry: RawRetry,
}

impl Default for RawAlerts {
    fn default() -> Self {
        RawAlerts {
            channels: BTreeMap::new(),
            routes: Vec::new(),
            default_route: RawDefaultRoute::default(),
            cooling: ConfigDuration::from_secs(duration_secs(DEFAULT_COOLING)),
            big_swing: 0,
            public_url: None,
            retry: RawRetry::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// Topic patterns: `restart`, `scale-*`, `rule:*`; `*` and `?` are the only wildcards.
    pub topics: Vec<String>,
    #[serde(default = "info")]
    pub min_severity: Severity,
    /// Apps this route is for; empty: every app. Routes naming an app override the others.
    #[serde(default)]
    pub apps: Vec<String>,
    pub channels: Vec<String>,
    #[serde(default)]
    pub cooling: Option<ConfigDuration>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDefaultRoute {
    pub min_severity: Severity,
    pub channels: Vec<String>,
}

impl Default for RawDefaultRoute {
    fn default() -> Self {
        RawDefaultRoute {
            min_severity: Severity::Warning,
            channels: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRetry {
    pub max_attempts: u32,
    pub first_backoff: ConfigDuration,
    pub max_backoff: ConfigDuration,
    pub attempt_timeout: ConfigDuration,
}

impl Default for RawRetry {
    fn default() -> Self {
        let p = RetryPolicy::default();
        RawRetry {
            max_attempts: p.max_attempts,
            first_backoff: ConfigDuration::from_secs(duration_secs(p.first_backoff)),
            max_backoff: ConfigDuration::from_secs(duration_secs(p.max_backoff)),
            attempt_timeout: ConfigDuration::from_secs(duration_secs(p.attempt_timeout)),
        }
    }
}

fn info() -> Severity {
    Severity::Info
}

fn duration_secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The validated `[alerts]` section.
#[derive(Clone, Debug)]
pub struct AlertsConfig {
    /// The configured channel names, sorted.
    pub channel_names: Vec<String>,
    pub settings: AlertSettings,
}

impl Builder<'_> {
    pub(super) fn alerts(&mut self, raw: &RawAlerts) -> AlertsConfig {
        let known: Vec<String> = raw.channels.keys().cloned().collect();
        let routes = raw
            .routes
            .iter()
            .enumerate()
            .map(|(i, r)| self.route(i, r, &known))
            .collect();
        let default = DefaultRoute {
            min_severity: raw.default_route.min_severity,
            channels: self.channel_list(
                "alerts.default_route.channels",
                &raw.default_route.channels,
                &known,
            ),
        };
        if raw.cooling.as_millis() < 0 {
            self.err("alerts.cooling", "must not be negative");
        }
        let public_url = raw.public_url.as_deref().map(|u| {
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                self.err(
                    "alerts.public_url",
                    format!("`{}` is not an http(s) URL", super::secret::redact_url(u)),
                );
            }
            u.trim_end_matches('/').to_owned()
        });
        AlertsConfig {
            channel_names: known,
            settings: AlertSettings {
                routes: Routes {
                    routes,
                    default,
                    cooling: raw.cooling.get(),
                },
                events: EventSettings {
                    big_swing: raw.big_swing,
                    public_url,
                },
                retry: self.retry(&raw.retry),
                ..AlertSettings::default()
            },
        }
    }

    fn route(&mut self, i: usize, raw: &RawRoute, known: &[String]) -> Route {
        let key = format!("alerts.routes[{i}]");
        if raw.topics.is_empty() {
            self.err(&format!("{key}.topics"), "needs at least one topic pattern");
        }
        let mut topics = Vec::new();
        for t in &raw.topics {
            match Glob::parse(t) {
                Ok(g) => topics.push(g),
                Err(e) => self.err(&format!("{key}.topics"), format!("`{t}`: {e}")),
            }
        }
        if raw.channels.is_empty() {
            self.err(&format!("{key}.channels"), "needs at least one channel");
        }
        if let Some(c) = raw.cooling
            && c.as_millis() < 0
        {
            self.err(&format!("{key}.cooling"), "must not be negative");
        }
        Route {
            topics,
            min_severity: raw.min_severity,
            apps: raw.apps.clone(),
            channels: self.channel_list(&format!("{key}.channels"), &raw.channels, known),
            cooling: raw.cooling.map(ConfigDuration::get),
        }
    }

    /// The names, each of which must be a configured channel.
    fn channel_list(&mut self, key: &str, names: &[String], known: &[String]) -> Vec<String> {
        for name in names.iter().filter(|n| !known.contains(n)) {
            let configured = if known.is_empty() {
                "none is configured under [alerts.channels]".to_owned()
            } else {
                format!("configured: {}", known.join(", "))
            };
            self.err(key, format!("unknown channel `{name}` ({configured})"));
        }
        names.to_vec()
    }

    fn retry(&mut self, raw: &RawRetry) -> RetryPolicy {
        if raw.max_attempts == 0 {
            self.err("alerts.retry.max_attempts", "must be at least 1");
        }
        for (key, d) in [
            ("alerts.retry.first_backoff", raw.first_backoff),
            ("alerts.retry.max_backoff", raw.max_backoff),
            ("alerts.retry.attempt_timeout", raw.attempt_timeout),
        ] {
            if let Some(problem) = d.positive_problem() {
                self.err(key, problem);
            }
        }
        if raw.first_backoff.get() > raw.max_backoff.get() {
            self.err(
                "alerts.retry.first_backoff",
                format!("is longer than max_backoff ({})", raw.max_backoff),
            );
        }
        RetryPolicy {
            max_attempts: raw.max_attempts,
            first_backoff: raw.first_backoff.get(),
            max_backoff: raw.max_backoff.get(),
            attempt_timeout: raw.attempt_timeout.get(),
        }
    }
}
