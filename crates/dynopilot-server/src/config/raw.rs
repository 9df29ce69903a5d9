//! `RawConfig`: the TOML file exactly as written (serde, unknown keys rejected), before
//! environment overrides, policy templates and validation turn it into a `Config`.

use std::collections::BTreeMap;

use dynopilot_core::policy::{
    ConfigDuration, GuardrailsConfig, NotifyConfig, ProcessTypeConfig, RuleConfig,
};
use serde::{Deserialize, Serialize};

use super::secret::Secret;

pub const DEFAULT_BASE_URL: &str = "https://api.heroku.com";
pub const DEFAULT_STORE_URL: &str = "sqlite://dynopilot.sqlite";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_MAX_BODY_BYTES: u64 = 2 * 1024 * 1024;
pub const DEFAULT_DASHBOARD_USERNAME: &str = "dynopilot";

/// How dynopilot reads an app's logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogSource {
    /// Heroku pushes logs to our `POST /drain/<secret>` endpoint (needs `heroku drains:add`).
    Drain,
    /// We tail a Platform API log session: no setup, but one stream per app.
    LogSession,
    /// No logs: only the Platform API pollers (formation, dyno states).
    None,
}

impl LogSource {
    pub fn parse(s: &str) -> Option<LogSource> {
        match s {
            "drain" => Some(LogSource::Drain),
            "log_session" => Some(LogSource::LogSession),
            "none" => Some(LogSource::None),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogSource::Drain => "drain",
            LogSource::LogSession => "log_session",
            LogSource::None => "none",
        }
    }
}

/// The whole file. Every key is optional; see `dynopilot.example.toml` for defaults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// Record decisions but never call the API for any app.
    pub dry_run: bool,
    /// Log source of apps that don't set one; unset means `drain` when a drain secret is
    /// configured and `log_session` otherwise.
    pub log_source: Option<LogSource>,
    pub heroku: RawHeroku,
    pub store: RawStore,
    pub server: RawServer,
    pub drain: RawDrain,
    pub dashboard: RawDashboard,
    pub api: RawApi,
    pub discovery: RawDiscovery,
    pub apps: Vec<RawApp>,
    pub alerts: super::alerts::RawAlerts,
    /// The policy tick (`[runner]`).
    pub runner: super::intervals::RawRunner,
    /// Platform API poll intervals and the failed-poll alert (`[poll]`).
    pub poll: super::intervals::RawPoll,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawHeroku {
    pub api_key: Option<Secret>,
    pub base_url: String,
    pub rendezvous_ca_file: Option<String>,
    /// `base_url` is a dynopilot simulator (besides one on loopback, which is always taken
    /// for one): `run` may then start without an API key and uses the simulator's demo token.
    pub simulator: bool,
}

impl Default for RawHeroku {
    fn default() -> Self {
        RawHeroku {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            rendezvous_ca_file: None,
            simulator: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStore {
    /// A secret because a Postgres URL carries a password.
    pub url: Secret,
    pub raw_retention: ConfigDuration,
    pub rollup_retention: ConfigDuration,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            url: Secret::new(DEFAULT_STORE_URL),
            raw_retention: ConfigDuration::from_mins(48 * 60),
            rollup_retention: ConfigDuration::from_mins(30 * 24 * 60),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub listen: String,
    /// Bearer token for `POST /api/v1/apps/{app}/restart-requests` of apps that set none.
    pub restart_request_token: Option<Secret>,
    /// How old an unfinished decision may be and still be carried out at the next start.
    pub reconcile_deadline: ConfigDuration,
    /// Host names the dashboard answers to besides loopback names and addresses.
    pub allowed_hosts: Vec<String>,
    /// Deadline for a request head; also closes idle keep-alive connections.
    pub header_timeout: ConfigDuration,
    /// A request body that sends nothing for this long is cut off.
    pub body_timeout: ConfigDuration,
    pub max_header_bytes: u64,
    pub max_connections: u64,
    /// 0 turns the per-client cap off (behind a proxy).
    pub max_connections_per_client: u64,
    /// Clients reach dynopilot over https (a TLS proxy in front): `Secure` cookies and HSTS
    /// on every response, not only when `X-Forwarded-Proto: https` says so.
    pub https: bool,
}

impl Default for RawServer {
    fn default() -> Self {
        let limits = crate::http_server::HttpLimits::default();
        let secs = |d: std::time::Duration| {
            ConfigDuration::from_secs(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        };
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        RawServer {
            listen: DEFAULT_LISTEN.to_owned(),
            restart_request_token: None,
            reconcile_deadline: ConfigDuration::from_mins(5),
            allowed_hosts: Vec::new(),
            header_timeout: secs(limits.header_timeout),
            body_timeout: secs(limits.body_timeout),
            max_header_bytes: count(limits.max_header_bytes),
            max_connections: count(limits.max_connections),
            max_connections_per_client: count(limits.max_connections_per_client),
            https: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDrain {
    pub secret: Option<Secret>,
    pub max_body_bytes: u64,
    /// Batches whose `Logplex-Frame-Id` was seen within this window are retries: dropped.
    pub dedupe_window: ConfigDuration,
}

impl Default for RawDrain {
    fn default() -> Self {
        RawDrain {
            secret: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            dedupe_window: ConfigDuration::from_mins(10),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDashboard {
    pub username: String,
    /// Plain text: on loopback, or from `DYNOPILOT_DASHBOARD_PASSWORD`.
    pub password: Option<Secret>,
    /// An argon2 PHC string (`dynopilot config hash-password`); wins over `password`.
    pub password_hash: Option<Secret>,
}

impl Default for RawDashboard {
    fn default() -> Self {
        RawDashboard {
            username: DEFAULT_DASHBOARD_USERNAME.to_owned(),
            password: None,
            password_hash: None,
        }
    }
}

/// `[api]`: bearer tokens of the JSON API, the CLI and `/metrics`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawApi {
    /// Which scopes open `/metrics`: `read` (read, operate or metrics) or `metrics` only.
    pub metrics_scope: crate::web::credentials::MetricsAccess,
    pub tokens: Vec<RawApiToken>,
}

/// One `[[api.tokens]]` entry: a name (journaled as who acted), scopes, and the token as
/// a SHA-256 digest (`dynopilot config hash-token`) or in plain text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApiToken {
    pub name: String,
    pub scopes: Vec<crate::web::credentials::Scope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_hash: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDiscovery {
    /// Manage every app the API key can see; unset means "on when no app is listed".
    pub enabled: Option<bool>,
    /// How often the app list is read again: new apps are picked up, gone ones retired.
    pub refresh: ConfigDuration,
    /// The policy template of every app; unset means `PolicyTemplate::builtin()`.
    pub defaults: Option<PolicyTemplate>,
}

impl Default for RawDiscovery {
    fn default() -> Self {
        RawDiscovery {
            enabled: None,
            refresh: super::intervals::DEFAULT_DISCOVERY_REFRESH,
            defaults: None,
        }
    }
}

/// An app's policies, minus its name: the fields of `dynopilot_core::policy::Config`, plus
/// `process_type_defaults`, which applies to every process type (listed or discovered).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyTemplate {
    pub time_zone: Option<String>,
    pub guardrails: Option<GuardrailsConfig>,
    pub notify: Option<NotifyConfig>,
    pub process_type_defaults: Option<ProcessTypeConfig>,
    pub process_types: BTreeMap<String, ProcessTypeConfig>,
    pub rules: Vec<RuleConfig>,
}

/// One `[[apps]]` entry: a name, a log source and policy keys that override the template key
/// by key. (Same policy fields as `PolicyTemplate`: serde can't flatten with unknown-key checks.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApp {
    pub name: String,
    #[serde(default)]
    pub log_source: Option<LogSource>,
    /// Bearer token the app sends with its restart requests (overrides the server's).
    #[serde(default)]
    pub restart_request_token: Option<Secret>,
    /// The environment variable holding this app's own Platform API key (its polls, actions
    /// and log sessions use it instead of `heroku.api_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Accepted only to be refused with a clear message: a per-app key never sits in the file.
    #[serde(default, skip_serializing)]
    pub api_key: Option<Secret>,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub guardrails: Option<GuardrailsConfig>,
    #[serde(default)]
    pub notify: Option<NotifyConfig>,
    #[serde(default)]
    pub process_type_defaults: Option<ProcessTypeConfig>,
    #[serde(default)]
    pub process_types: BTreeMap<String, ProcessTypeConfig>,
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// HTTP heartbeats by name (`[apps.probes.<name>]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub probes: BTreeMap<String, super::probes::RawProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pingdom: Option<super::probes::RawPingdom>,
    /// Status checks of the app's web endpoint, Redis and Postgres (`[[apps.checks]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<super::probes::RawCheck>,
    /// Job queues read directly to scale workers (`[[apps.queues]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<super::queues::RawQueueSource>,
    /// Periodic old-file cleans in a one-off dyno (`[[apps.clean]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clean: Vec<super::clean::RawClean>,
    /// Reports from agents installed in the app (`[apps.agents]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<super::agents::RawAgents>,
}
