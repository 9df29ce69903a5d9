//! The configured channels by name (`Channels`), built from `ChannelConfig`s and used by the
//! dispatcher as `Arc<dyn Deliver>`; one module per protocol.

pub mod email;
pub mod hook;
pub mod http;
pub mod pagerduty;
pub mod slack;
pub mod text;
pub mod twilio;
pub mod webhook;

use std::collections::BTreeMap;
use std::sync::Arc;

use dynopilot_core::Clock;

use crate::config::{ChannelConfig, ChannelIssue};
use crate::deliver::{Deliver, DeliveryFuture};
use crate::event::{AlertEvent, DeliveryError, Receipt};

/// A channel that cannot be built, with every problem of its table.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("channel `{name}`: {}", issues.iter().map(|i| format!("{}: {}", i.key, i.message)).collect::<Vec<_>>().join("; "))]
pub struct ChannelsError {
    pub name: String,
    pub issues: Vec<ChannelIssue>,
}

enum Channel {
    Email(email::Email),
    Slack(slack::Slack),
    Webhook(webhook::Webhook),
    Twilio(twilio::Twilio),
    PagerDuty(pagerduty::PagerDuty),
    Hook(hook::Hook),
}

struct Named {
    channel: Channel,
    /// Values never to appear in a reason, whatever a receiver echoes back.
    secrets: Vec<String>,
}

/// Every configured channel, ready to send.
pub struct Channels {
    channels: BTreeMap<String, Named>,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels")
            .field("names", &self.channels.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Channels {
    /// Channels on the wall clock.
    pub fn from_config(
        configs: &BTreeMap<String, ChannelConfig>,
    ) -> Result<Channels, ChannelsError> {
        Channels::with_clock(configs, Arc::new(dynopilot_clock::SystemClock))
    }

    /// Channels whose webhook timestamps come from `clock`.
    pub fn with_clock(
        configs: &BTreeMap<String, ChannelConfig>,
        clock: Arc<dyn Clock>,
    ) -> Result<Channels, ChannelsError> {
        let mut channels = BTreeMap::new();
        for (name, config) in configs {
            let fail = |issues| ChannelsError {
                name: name.clone(),
                issues,
            };
            let issues = config.validate();
            if !issues.is_empty() {
                return Err(fail(issues));
            }
            let named = build(config).map_err(|message| {
                fail(vec![ChannelIssue {
                    key: String::new(),
                    message,
                }])
            })?;
            channels.insert(name.clone(), named);
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("dynopilot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ChannelsError {
                name: String::new(),
                issues: vec![ChannelIssue {
                    key: String::new(),
                    message: format!("cannot set up the HTTP client: {e}"),
                }],
            })?;
        Ok(Channels {
            channels,
            client,
            clock,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// Sends `event` through the channel called `name`.
    pub async fn send(&self, name: &str, event: &AlertEvent) -> Result<Receipt, DeliveryError> {
        let Some(named) = self.channels.get(name) else {
            return Err(DeliveryError::permanent(format!(
                "no channel named `{name}` is configured"
            )));
        };
        let now = self.clock.now();
        let result = match &named.channel {
            Channel::Email(c) => c.send(event).await,
            Channel::Slack(c) => c.send(&self.client, event).await,
            Channel::Webhook(c) => c.send(&self.client, event, now).await,
            Channel::Twilio(c) => c.send(&self.client, event).await,
            Channel::PagerDuty(c) => c.send(&self.client, event).await,
            Channel::Hook(c) => c.send(event, now).await,
        };
        result.map_err(|mut e| {
            e.reason = scrub(&e.reason, &named.secrets);
            e
        })
    }
}

impl Deliver for Channels {
    fn deliver<'a>(&'a self, channel: &'a str, event: &'a AlertEvent) -> DeliveryFuture<'a> {
        Box::pin(self.send(channel, event))
    }

    fn channel_names(&self) -> Vec<String> {
        self.channels.keys().cloned().collect()
    }
}

fn build(config: &ChannelConfig) -> Result<Named, String> {
    let trim = |url: &str| url.trim_end_matches('/').to_owned();
    let (channel, secrets) = match config {
        ChannelConfig::Email(c) => (
            Channel::Email(email::Email::new(c)?),
            c.password.iter().map(|p| p.expose().to_owned()).collect(),
        ),
        ChannelConfig::Slack(c) => (
            Channel::Slack(slack::Slack {
                url: c.url.clone(),
                timeout: c.timeout.get(),
            }),
            url_secrets(c.url.expose()),
        ),
        ChannelConfig::Webhook(c) => (
            Channel::Webhook(webhook::Webhook {
                url: c.url.clone(),
                secret: c.secret.clone(),
                timeout: c.timeout.get(),
            }),
            {
                let mut secrets = url_secrets(c.url.expose());
                secrets.push(c.secret.expose().to_owned());
                secrets
            },
        ),
        ChannelConfig::Twilio(c) => (
            Channel::Twilio(twilio::Twilio {
                account_sid: c.account_sid.clone(),
                auth_token: c.auth_token.clone(),
                from: c.from.clone(),
                to: c.to.clone(),
                base_url: trim(&c.base_url),
                timeout: c.timeout.get(),
            }),
            vec![c.auth_token.expose().to_owned()],
        ),
        ChannelConfig::Pagerduty(c) => (
            Channel::PagerDuty(pagerduty::PagerDuty {
                routing_key: c.routing_key.clone(),
                base_url: trim(&c.base_url),
                timeout: c.timeout.get(),
            }),
            vec![c.routing_key.expose().to_owned()],
        ),
        ChannelConfig::Hook(c) => (
            Channel::Hook(hook::Hook {
                command: c.command.clone(),
                timeout: c.timeout.get(),
            }),
            Vec::new(),
        ),
    };
    Ok(Named { channel, secrets })
}

/// A URL whose path or query is the token (Slack's `/services/T…/B…/X…`): the whole URL and
/// each longer path segment and query value, since a receiver may echo any of them.
fn url_secrets(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    let after_host = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or_default();
    out.extend(
        after_host
            .split(['/', '?', '&', '=', '#'])
            .filter(|part| part.len() >= 8)
            .map(str::to_owned),
    );
    out
}

/// `reason` with every secret value (of four characters or more) replaced by the mask.
fn scrub(reason: &str, secrets: &[String]) -> String {
    let mut out = dynopilot_core::secret::redact_urls_in(reason);
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(s.as_str(), dynopilot_core::secret::MASK);
    }
    out
}
