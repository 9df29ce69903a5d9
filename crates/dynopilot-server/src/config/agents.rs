//! `[apps.agents]`: metrics from the autoscaling agents already installed in an app, checked key
//! by key. Judoscale adapters post v3 reports to `JUDOSCALE_URL`, which points at
//! `/agents/judoscale/<token>` on dynopilot; HireFire's middleware answers
//! `/hirefire/<HIREFIRE_TOKEN>/info` (dynopilot pulls it from `url`) and pushes web queue times
//! to `HIREFIRE_DISPATCH_URL` with a `HireFire-Token` header. Tokens are secrets.

use std::collections::BTreeMap;
use std::time::Duration;

use dynopilot_core::names::ProcessType;
use dynopilot_core::policy::ConfigDuration;
use serde::{Deserialize, Serialize};

use super::build::Builder;
use super::secret::Secret;

pub const DEFAULT_AGENT_QUEUE_PROCESS_TYPE: &str = "worker";
pub const DEFAULT_HIREFIRE_INTERVAL: Duration = Duration::from_secs(15);
pub const DEFAULT_HIREFIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Agent tokens sit in URLs and headers: long enough not to be guessed.
const MIN_AGENT_TOKEN_LEN: usize = 16;

/// `[apps.agents]` as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAgents {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judoscale: Option<RawJudoscale>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hirefire: Option<RawHireFire>,
    /// Job queue name → the process type whose queue autoscaler it feeds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub queues: BTreeMap<String, String>,
}

/// `[apps.agents.judoscale]` as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJudoscale {
    pub token: Secret,
}

/// `[apps.agents.hirefire]` as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHireFire {
    pub token: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<ConfigDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<ConfigDuration>,
}

/// What the numbers of a HireFire info answer are (HireFire decides it per manager).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HireFireValues {
    /// Jobs waiting (Job Queue Size).
    Depth,
    /// Seconds the oldest job has waited (Job Queue Latency).
    Latency,
}

/// Pulling `GET <url>/hirefire/<token>/info`.
#[derive(Clone, Debug, PartialEq)]
pub struct HireFirePull {
    /// The app's base URL (`https://my-app.herokuapp.com`).
    pub url: String,
    pub values: HireFireValues,
    pub interval: Duration,
    pub timeout: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HireFireConfig {
    pub token: Secret,
    pub pull: Option<HireFirePull>,
}

/// A validated `[apps.agents]`; the default has no agent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentsConfig {
    pub judoscale_token: Option<Secret>,
    pub hirefire: Option<HireFireConfig>,
    /// Job queue → process type; a queue not listed belongs to `worker`.
    pub queues: BTreeMap<String, String>,
}

impl AgentsConfig {
    pub fn is_empty(&self) -> bool {
        self.judoscale_token.is_none() && self.hirefire.is_none()
    }

    /// The process type whose queue autoscaler the job queue `queue` feeds.
    pub fn process_type_of(&self, queue: &str) -> &str {
        self.queues
            .get(queue)
            .map_or(DEFAULT_AGENT_QUEUE_PROCESS_TYPE, String::as_str)
    }

    /// The process types an agent may report a job queue for.
    pub fn queue_process_types(&self) -> Vec<String> {
        let mut out: Vec<String> = self.queues.values().cloned().collect();
        out.push(DEFAULT_AGENT_QUEUE_PROCESS_TYPE.to_owned());
        out.sort();
        out.dedup();
        out
    }
}

impl Builder<'_> {
    /// Every problem of `raw` reported under `prefix` (`apps[0].agents`).
    pub(super) fn agents(&mut self, prefix: &str, raw: Option<&RawAgents>) -> AgentsConfig {
        let Some(raw) = raw else {
            return AgentsConfig::default();
        };
        let judoscale_token = raw.judoscale.as_ref().map(|j| {
            self.agent_token(&format!("{prefix}.judoscale.token"), &j.token);
            j.token.clone()
        });
        let hirefire = raw
            .hirefire
            .as_ref()
            .map(|h| self.hirefire(&format!("{prefix}.hirefire"), h));
        for (queue, process_type) in &raw.queues {
            let key = format!("{prefix}.queues.{queue}");
            if queue.trim().is_empty() {
                self.err(&key, "queue name is empty".to_owned());
            }
            if ProcessType::parse(process_type).is_err() {
                self.err(&key, format!("`{process_type}` is not a process type name"));
            }
        }
        AgentsConfig {
            judoscale_token,
            hirefire,
            queues: raw.queues.clone(),
        }
    }

    fn hirefire(&mut self, key: &str, raw: &RawHireFire) -> HireFireConfig {
        self.agent_token(&format!("{key}.token"), &raw.token);
        let values = match raw.values.as_deref() {
            None | Some("depth") => HireFireValues::Depth,
            Some("latency") => HireFireValues::Latency,
            Some(other) => {
                self.err(
                    &format!("{key}.values"),
                    format!("`{other}`: one of depth (jobs waiting), latency (seconds)"),
                );
                HireFireValues::Depth
            }
        };
        let interval =
            self.agent_duration(key, "interval", raw.interval, DEFAULT_HIREFIRE_INTERVAL);
        let timeout = self.agent_duration(key, "timeout", raw.timeout, DEFAULT_HIREFIRE_TIMEOUT);
        if timeout > interval {
            self.err(
                &format!("{key}.timeout"),
                "must not be longer than interval (one pull at a time)".to_owned(),
            );
        }
        let pull = raw.url.as_ref().and_then(|url| {
            let url = url.trim().trim_end_matches('/');
            let ok = ["http://", "https://"].iter().any(|s| {
                url.strip_prefix(s)
                    .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
            });
            if !ok {
                self.err(
                    &format!("{key}.url"),
                    format!(
                        "`{url}` is not an http(s) URL of the app (https://my-app.herokuapp.com)"
                    ),
                );
                return None;
            }
            Some(HireFirePull {
                url: url.to_owned(),
                values,
                interval,
                timeout,
            })
        });
        HireFireConfig {
            token: raw.token.clone(),
            pull,
        }
    }

    fn agent_token(&mut self, key: &str, token: &Secret) {
        let t = token.expose();
        if t.trim().len() < MIN_AGENT_TOKEN_LEN {
            self.err(
                key,
                format!("must be at least {MIN_AGENT_TOKEN_LEN} characters"),
            );
        } else if !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
        {
            // It is a URL path segment (Judoscale) and a header value (HireFire).
            self.err(
                key,
                "letters, digits, `-`, `_`, `.` and `~` only".to_owned(),
            );
        }
    }

    fn agent_duration(
        &mut self,
        key: &str,
        field: &str,
        value: Option<ConfigDuration>,
        default: Duration,
    ) -> Duration {
        let Some(value) = value else { return default };
        if let Some(problem) = value.positive_problem() {
            self.err(&format!("{key}.{field}"), problem);
        }
        value.get()
    }
}
