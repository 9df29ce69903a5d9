//! The daemon configuration: the TOML file, environment overrides, validation and display.
//!
//! Sources, lowest to highest: built-in defaults, the file, the environment (`ENV_OVERRIDES`).
//! `Config::load` is the one place text becomes a validated `Config`; it never reads the process
//! environment (the binary passes it in) and reports every problem at once.

mod agents;
mod alerts;
mod apps;
mod build;
mod clean;
mod documented;
mod env;
mod error;
mod intervals;
mod locate;
mod probes;
mod process_types;
mod queues;
mod raw;
mod secret;
mod serde_errors;
mod show;
mod template;
mod words;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use dynopilot_core::policy::{self, ProcessTypeConfig};

pub use agents::{
    AgentsConfig, HireFireConfig, HireFirePull, HireFireValues, RawAgents, RawHireFire,
    RawJudoscale,
};
pub use alerts::{AlertsConfig, RawAlerts, RawDefaultRoute, RawRetry, RawRoute};
pub use clean::{CleanScheduleConfig, RawClean};
pub use env::{CONFIG_PATH_VAR, ENV_OVERRIDES};
pub use error::{ConfigError, ConfigErrors, Location};
pub use intervals::{PollConfig, RawPoll, RawRunner};
pub use probes::{
    AppProbes, CheckConfig, DEFAULT_PINGDOM_URL, PingdomConfig, ProbeConfig, RawCheck, RawPingdom,
    RawProbe, Threshold,
};
pub use queues::{QueueSourceConfig, RawQueueSource};
pub use raw::{
    LogSource, PolicyTemplate, RawApi, RawApiToken, RawApp, RawConfig, RawDashboard, RawDiscovery,
    RawDrain, RawHeroku, RawServer, RawStore,
};
pub use secret::{MASK, Secret, redact_url, redact_urls_in};
pub use template::ResolvedPolicy;

/// The source name used when there is no file.
pub const ENV_ONLY_SOURCE: &str = "(environment)";

/// The validated daemon configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file name, or `ENV_ONLY_SOURCE`.
    pub source: String,
    pub heroku: HerokuConfig,
    pub store: StoreConfig,
    pub server: ServerConfig,
    pub drain: DrainConfig,
    pub dashboard: DashboardConfig,
    /// API bearer tokens and who may read `/metrics` (`[api]`).
    pub api: ApiConfig,
    /// Global dry run; already folded into every app's `guardrails.dry_run`.
    pub dry_run: bool,
    pub discovery: DiscoveryConfig,
    /// Apps listed in the file, then those named by `DYNOPILOT_APPS`.
    pub apps: Vec<AppConfig>,
    /// Alert channels by name, routing, cooling and retries (`[alerts]`).
    pub alerts: AlertsConfig,
    /// The policy tick, poll intervals and the failed-poll alert (`[runner]`, `[poll]`).
    pub poll: PollConfig,
    /// Problems that don't stop loading but are worth a line in `config check` (a process
    /// type that looks like a typo, …), in file order.
    pub warnings: Vec<ConfigError>,
    /// Problems that stop `run` (and fail `config check`) but not a load for other uses: no
    /// API key for a real Heroku.
    pub run_errors: Vec<ConfigError>,
    /// What a discovered app gets (the template with nothing overridden).
    template: ResolvedPolicy,
    origins: BTreeMap<String, Origin>,
    process_types: Vec<process_types::ProcessTypeRef>,
}

#[derive(Clone, Debug)]
pub struct HerokuConfig {
    /// `None` is valid for `config check`; `run` must refuse to start without it.
    pub api_key: Option<Secret>,
    /// Without a trailing slash.
    pub base_url: String,
    /// Extra certificate authorities (PEM file) trusted for rendezvous, besides the WebPKI
    /// roots: the simulator's, or a TLS-inspecting proxy's.
    pub rendezvous_ca_file: Option<std::path::PathBuf>,
    /// The target is a simulator: `heroku.simulator = true`, or `base_url` on loopback (no
    /// real Heroku is there). Only then may `run` go without an API key.
    pub simulator: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreBackend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `sqlite://path`, `sqlite::memory:` or `postgres://…` (may carry a password).
    pub url: Secret,
    pub backend: StoreBackend,
    pub raw_retention: Duration,
    pub rollup_retention: Duration,
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Restart-request token of apps that set none.
    pub restart_request_token: Option<Secret>,
    /// Unfinished decisions older than this at start are abandoned, not carried out.
    pub reconcile_deadline: Duration,
    /// Lowercase host names, without port, served besides loopback ones.
    pub allowed_hosts: Vec<String>,
    pub http: crate::http_server::HttpLimits,
    /// Clients come over https: `Secure` cookies and HSTS always.
    pub https: bool,
}

#[derive(Clone, Debug)]
pub struct DrainConfig {
    /// Required when any app uses `log_source = "drain"`.
    pub secret: Option<Secret>,
    pub max_body_bytes: usize,
    pub dedupe_window: Duration,
}

#[derive(Clone, Debug)]
pub struct DashboardConfig {
    pub username: String,
    /// Plain text (loopback, or from `DYNOPILOT_DASHBOARD_PASSWORD`); `None` on loopback
    /// without one leaves the dashboard open.
    pub password: Option<Secret>,
    /// Argon2 PHC string; used instead of `password` when both are set.
    pub password_hash: Option<Secret>,
}

impl DashboardConfig {
    /// The sign-in credentials, when a password or hash is set.
    pub fn credentials(&self) -> Option<crate::web::Credentials> {
        use crate::web::Credentials;
        match (&self.password_hash, &self.password) {
            (Some(hash), _) => Some(Credentials::hashed(&self.username, hash.expose())),
            (None, Some(plain)) => Some(Credentials::plain(&self.username, plain.expose())),
            (None, None) => None,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ApiConfig {
    pub tokens: Vec<crate::web::credentials::ApiToken>,
    pub metrics_access: crate::web::credentials::MetricsAccess,
}

#[derive(Clone, Debug)]
pub struct DiscoveryConfig {
    /// Manage every app the API key can see (listed apps keep their own settings).
    pub enabled: bool,
    /// Log source of discovered apps and of apps that don't set one.
    pub log_source: LogSource,
    /// How often the app list is read again (new apps picked up, gone ones retired).
    pub refresh: Duration,
}

/// Where an app came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppOrigin {
    File,
    Env,
    Discovered,
}

/// One managed app.
#[derive(Clone, Debug, PartialEq)]
pub struct AppConfig {
    pub name: String,
    pub log_source: LogSource,
    pub origin: AppOrigin,
    /// Bearer token of the app's restart requests (its own, else the server's); `None`: the
    /// app cannot ask for restarts over HTTP (its log lines still count).
    pub restart_request_token: Option<Secret>,
    /// `policy.app == name`; `policy.process_types` holds the listed types only: use
    /// `policy_for` with the types the app actually runs.
    pub resolved: ResolvedPolicy,
    /// HTTP heartbeats, Pingdom and status checks (none for env and discovered apps).
    pub probes: AppProbes,
    /// Job queues read directly (`[[apps.queues]]`).
    pub queues: Vec<QueueSourceConfig>,
    /// The variable holding the app's own Platform API key; `None`: `heroku.api_key`.
    /// Read at start by `Config::app_api_keys`, never stored in the file.
    pub api_key_env: Option<String>,
    /// Periodic old-file cleans in a one-off dyno (`[[apps.clean]]`).
    pub clean: Vec<CleanScheduleConfig>,
    /// Reports from agents installed in the app (`[apps.agents]`: Judoscale, HireFire).
    pub agents: AgentsConfig,
}

impl AppConfig {
    /// The policy for this app when it runs `process_types` (from its formation).
    pub fn policy_for<'a>(
        &self,
        process_types: impl IntoIterator<Item = &'a str>,
    ) -> policy::Config {
        self.resolved.policy_for(process_types)
    }

    pub fn process_type_defaults(&self) -> Option<&ProcessTypeConfig> {
        self.resolved.process_type_defaults.as_ref()
    }
}

/// Where a daemon setting's value came from (shown by `config show`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Default,
    File,
    Env(&'static str),
}

impl Config {
    /// Parses, applies `env` overrides, and validates. `source_name` names the file in errors.
    pub fn load(
        text: &str,
        source_name: &str,
        env: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigErrors> {
        build::load(text, source_name, env)
    }

    /// The configuration from the environment alone (no file), e.g. on Heroku.
    pub fn from_env(env: &BTreeMap<String, String>) -> Result<Config, ConfigErrors> {
        build::load("", ENV_ONLY_SOURCE, env)
    }

    /// Reads `path`, or else the file named by `DYNOPILOT_CONFIG`, or uses env alone.
    pub fn load_file(
        path: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigErrors> {
        let from_env = env.get(CONFIG_PATH_VAR).filter(|p| !p.trim().is_empty());
        let path = match (path, from_env) {
            (Some(p), _) => p.to_path_buf(),
            (None, Some(p)) => Path::new(p.trim()).to_path_buf(),
            (None, None) => return Config::from_env(env),
        };
        let name = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::load(&text, &name, env),
            Err(e) => Err(ConfigErrors {
                errors: vec![ConfigError {
                    location: Location::Source(name),
                    key: String::new(),
                    message: format!("cannot read the config file: {e}"),
                }],
            }),
        }
    }

    /// The built-in policy template: memory guard + zombie restart for every process type.
    pub fn default_policy_template() -> PolicyTemplate {
        PolicyTemplate::builtin()
    }

    /// The listed app called `name`, else (with discovery on) the template applied to it.
    pub fn app(&self, name: &str) -> Option<AppConfig> {
        if let Some(app) = self.apps.iter().find(|a| a.name == name) {
            return Some(app.clone());
        }
        self.discovery.enabled.then(|| self.discovered_app(name))
    }

    /// A discovered app: the template policy with its name, whether or not it is listed.
    pub fn discovered_app(&self, name: &str) -> AppConfig {
        let mut resolved = self.template.clone();
        resolved.policy.app = name.to_owned();
        AppConfig {
            name: name.to_owned(),
            log_source: self.discovery.log_source,
            origin: AppOrigin::Discovered,
            restart_request_token: self.server.restart_request_token.clone(),
            resolved,
            probes: AppProbes::default(),
            queues: Vec::new(),
            api_key_env: None,
            clean: Vec::new(),
            agents: AgentsConfig::default(),
        }
    }

    /// Where the value of daemon setting `key` (e.g. `server.listen`) came from.
    pub fn origin(&self, key: &str) -> Origin {
        self.origins.get(key).cloned().unwrap_or(Origin::Default)
    }

    /// Each process type the file names for `app` that its formation (the process types
    /// Heroku reports) lacks, as an error at the key that names it.
    pub fn process_types_against_formation(
        &self,
        app: &str,
        formation: &[String],
    ) -> Vec<ConfigError> {
        process_types::against_formation(&self.process_types, app, formation)
    }

    /// The effective configuration as TOML, secrets masked, origins as trailing comments.
    pub fn show(&self) -> String {
        show::render(self)
    }
}
