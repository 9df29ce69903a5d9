//! The `[alerts]` section: channels (`[alerts.channels.NAME]`, each a
//! `dynopilot_notify::ChannelConfig` with its own checks), routes from topics, severities and
//! apps to channel names, cooling, big-swing size, the dashboard's public URL for links, and
//! retries; plus the check that every rule action `type = "webhook"` names a configured
//! channel. Validated here, in one place, with key and line.

use std::collections::BTreeMap;

use dynopilot_core::policy::{ConfigDuration, RuleAction, RuleConfig, Severity};
use dynopilot_notify::ChannelConfig;
use dynopilot_notify::route::DEFAULT_COOLING;
use dynopilot_notify::{DefaultRoute, EventSettings, Glob, Route, Routes};
use serde::{Deserialize, Serialize};

use super::build::Builder;
use super::raw::RawConfig;
use crate::alerts::{AlertSettings, RetryPolicy};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAlerts {
    /// By name (`type = "email" | "slack" | …`); routes and rule actions `type = "webhook"`
    /// refer to one by its name.
    pub channels: BTreeMap<String, ChannelConfig>,
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
    pub channels: BTreeMap<String, ChannelConfig>,
    /// The configured channel names, sorted.
    pub channel_names: Vec<String>,
    pub settings: AlertSettings,
}

impl Builder<'_> {
    pub(super) fn alerts(&mut self, config: &RawConfig) -> AlertsConfig {
        let raw = &config.alerts;
        self.channels(raw);
        self.check_rule_channels(config);
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
            channels: raw.channels.clone(),
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

    fn channels(&mut self, raw: &RawAlerts) {
        for (name, channel) in &raw.channels {
            let prefix = format!("alerts.channels.{name}");
            if !is_channel_name(name) {
                self.err(
                    &prefix,
                    format!("`{name}` is not a channel name: use letters, digits, `-` and `_`"),
                );
                continue;
            }
            for issue in channel.validate() {
                self.err(&format!("{prefix}.{}", issue.key), issue.message);
            }
        }
    }

    /// A rule action `type = "webhook"` runs a channel by name: one that is not configured
    /// would be skipped at run time, so it is an error now.
    fn check_rule_channels(&mut self, raw: &RawConfig) {
        let template_rules = raw.discovery.defaults.as_ref().map(|d| &d.rules);
        if let Some(rules) = template_rules {
            self.check_rules("discovery.defaults.rules", rules, raw);
        }
        for (i, app) in raw.apps.iter().enumerate() {
            self.check_rules(&format!("apps[{i}].rules"), &app.rules, raw);
        }
    }

    fn check_rules(&mut self, prefix: &str, rules: &[RuleConfig], raw: &RawConfig) {
        for (r, rule) in rules.iter().enumerate() {
            for (a, action) in rule.actions.iter().enumerate() {
                let RuleAction::Webhook { name } = action else {
                    continue;
                };
                if name.trim().is_empty() || raw.alerts.channels.contains_key(name) {
                    continue;
                }
                let known: Vec<&str> = raw.alerts.channels.keys().map(String::as_str).collect();
                let hint = if known.is_empty() {
                    "no [alerts.channels.*] is configured".to_owned()
                } else {
                    format!("configured: {}", known.join(", "))
                };
                self.err(
                    &format!("{prefix}[{r}].actions[{a}].name"),
                    format!("`{name}` is not a configured alert channel ({hint})"),
                );
            }
        }
    }
}

fn is_channel_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
