//! `[alerts]`: the channels alerts go out through (`[alerts.channels.NAME]`, each a
//! `dynopilot_notify::ChannelConfig`), their checks, and the check that every rule action
//! `type = "webhook"` names one of them.

use std::collections::BTreeMap;

use dynopilot_core::policy::{RuleAction, RuleConfig};
use dynopilot_notify::ChannelConfig;
use serde::{Deserialize, Serialize};

use super::build::Builder;
use super::raw::RawConfig;

/// The `[alerts]` table as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAlerts {
    /// By name; a rule action `type = "webhook"` refers to one by its name.
    pub channels: BTreeMap<String, ChannelConfig>,
}

/// The validated `[alerts]` settings.
#[derive(Clone, Debug, Default)]
pub struct AlertsConfig {
    pub channels: BTreeMap<String, ChannelConfig>,
}

impl Builder<'_> {
    pub(super) fn alerts(&mut self, raw: &RawConfig) -> AlertsConfig {
        for (name, channel) in &raw.alerts.channels {
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
        self.check_rule_channels(raw);
        AlertsConfig {
            channels: raw.alerts.channels.clone(),
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
