//! Raw → validated: applies env overrides, resolves policy templates per app and checks every
//! field, collecting all problems with their key and line before giving up.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use dynopilot_core::policy::ConfigDuration;
use dynopilot_core::validate::ConfigIssue;

use super::env::{self, Applied};
use super::error::{ConfigError, ConfigErrors, Location};
use super::locate::Locator;
use super::raw::{LogSource, RawConfig};
use super::{
    AppConfig, Config, DashboardConfig, DiscoveryConfig, DrainConfig, HerokuConfig, Origin,
    ServerConfig, StoreBackend, StoreConfig, serde_errors,
};

/// Daemon settings whose origin `config show` reports.
pub const SETTING_KEYS: &[&str] = &[
    "dry_run",
    "log_source",
    "heroku.api_key",
    "heroku.base_url",
    "heroku.simulator",
    "store.url",
    "store.raw_retention",
    "store.rollup_retention",
    "server.listen",
    "server.restart_request_token",
    "server.reconcile_deadline",
    "drain.secret",
    "drain.max_body_bytes",
    "drain.dedupe_window",
    "dashboard.username",
    "dashboard.password",
    "dashboard.password_hash",
    "discovery.enabled",
    "discovery.refresh",
    "runner.tick",
    "poll.formation",
    "poll.releases",
    "poll.runtime_metrics",
    "poll.failing_after",
];

/// A drain secret is a URL path segment: long enough not to be guessed, URL-safe.
const MIN_DRAIN_SECRET_LEN: usize = 16;

pub fn load(
    text: &str,
    source: &str,
    env_map: &BTreeMap<String, String>,
) -> Result<Config, ConfigErrors> {
    let loc = Locator::new(source, text);
    let mut raw: RawConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let mut errors = serde_errors::collect(&loc, text, e);
            // Env problems are independent of the file: report them in the same run.
            errors.extend(env::apply(&mut RawConfig::default(), env_map).errors);
            return Err(ConfigErrors { errors });
        }
    };
    let doc: toml::Table = toml::from_str(text).unwrap_or_default();
    let applied = env::apply(&mut raw, env_map);
    let mut b = Builder {
        loc,
        env_origins: applied.origins.clone(),
        errors: applied.errors.clone(),
        env: env_map,
    };
    let config = b.build(&raw, &doc, &applied);
    let mut errors = b.errors;
    if errors.is_empty() {
        return Ok(config);
    }
    // File problems in file order, then the rest in the order found.
    errors.sort_by_key(|e| e.line().unwrap_or(usize::MAX));
    Err(ConfigErrors { errors })
}

pub(super) struct Builder<'a> {
    pub(super) loc: Locator<'a>,
    env_origins: BTreeMap<&'static str, &'static str>,
    errors: Vec<ConfigError>,
    /// The process environment, for settings that name a variable (`apps.queues.url_env`).
    pub(super) env: &'a BTreeMap<String, String>,
}

impl Builder<'_> {
    pub(super) fn err(&mut self, key: &str, message: impl Into<String>) {
        let e = match self.env_origins.get(key) {
            Some(var) => ConfigError {
                location: Location::Env((*var).to_owned()),
                key: key.to_owned(),
                message: message.into(),
            },
            None => self.loc.error_at(key, message),
        };
        self.errors.push(e);
    }

    pub(super) fn error_count(&self) -> usize {
        self.errors.len()
    }

    pub(super) fn issues(&mut self, prefix: &str, issues: &[ConfigIssue]) {
        for i in issues {
            self.err(&format!("{prefix}.{}", i.key), i.message.clone());
        }
    }

    fn build(&mut self, raw: &RawConfig, doc: &toml::Table, applied: &Applied) -> Config {
        let heroku = self.heroku(raw);
        let store = self.store(raw);
        let server = self.server(raw);
        let drain = self.drain(raw);
        let api = self.api(raw);
        let dashboard = self.dashboard(raw, server.listen, !api.tokens.is_empty());
        let discovery = DiscoveryConfig {
            enabled: raw
                .discovery
                .enabled
                .unwrap_or(raw.apps.is_empty() && applied.apps.is_empty()),
            log_source: raw.log_source.unwrap_or(if drain.secret.is_some() {
                LogSource::Drain
            } else {
                LogSource::LogSession
            }),
            refresh: self.discovery_refresh(raw.discovery.refresh),
        };
        let poll = self.intervals(&raw.runner, &raw.poll);
        let (template_table, template) = self.template(doc);
        let token = &server.restart_request_token;
        let mut apps = self.file_apps(raw, doc, &template_table, &template, &discovery, token);
        self.env_apps(&applied.apps, &template, &discovery, token, &mut apps);
        if drain.secret.is_none() {
            self.check_drain_users(&discovery, &apps);
        }
        let alerts = self.alerts(raw);
        let mut template = template;
        if raw.dry_run {
            template.policy.guardrails.dry_run = true;
            for app in &mut apps {
                app.resolved.policy.guardrails.dry_run = true;
                for clean in &mut app.clean {
                    clean.job.dry_run = true;
                }
            }
        }
        let process_types = super::process_types::references(&self.loc, &raw.apps);
        let warnings = super::process_types::offline_warnings(&process_types);
        let run_errors = self.run_errors(&heroku);
        Config {
            source: self.loc.source().to_owned(),
            warnings,
            run_errors,
            process_types,
            heroku,
            store,
            server,
            drain,
            dashboard,
            api,
            dry_run: raw.dry_run,
            discovery,
            apps,
            alerts,
            poll,
            template,
            origins: self.origins(),
        }
    }

    fn check_drain_users(&mut self, discovery: &DiscoveryConfig, apps: &[AppConfig]) {
        let mut users: Vec<&str> = apps
            .iter()
            .filter(|a| a.log_source == LogSource::Drain)
            .map(|a| a.name.as_str())
            .collect();
        if discovery.enabled && discovery.log_source == LogSource::Drain {
            users.push("discovered apps");
        }
        if !users.is_empty() {
            let message = format!("required: log_source is `drain` for {}", users.join(", "));
            self.err("drain.secret", message);
        }
    }

    fn origins(&self) -> BTreeMap<String, Origin> {
        SETTING_KEYS
            .iter()
            .map(|k| {
                let origin = match self.env_origins.get(k) {
                    Some(var) => Origin::Env(var),
                    None if self.loc.contains(k) => Origin::File,
                    None => Origin::Default,
                };
                ((*k).to_owned(), origin)
            })
            .collect()
    }

    fn heroku(&mut self, raw: &RawConfig) -> HerokuConfig {
        let base_url = raw.heroku.base_url.trim_end_matches('/').to_owned();
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            self.err(
                "heroku.base_url",
                format!(
                    "`{}` is not an http(s) URL",
                    super::secret::redact_url(&base_url)
                ),
            );
        }
        if raw.heroku.api_key.as_ref().is_some_and(|k| k.is_empty()) {
            self.err("heroku.api_key", "is empty");
        }
        // Read (and its certificates checked) when a one-off dyno is first attached.
        let rendezvous_ca_file = raw
            .heroku
            .rendezvous_ca_file
            .as_ref()
            .map(std::path::PathBuf::from);
        let simulator = raw.heroku.simulator || is_loopback_url(&base_url);
        HerokuConfig {
            api_key: raw.heroku.api_key.clone(),
            base_url,
            rendezvous_ca_file,
            simulator,
        }
    }

    /// What `run` needs beyond a valid file: an API key, unless a simulator is the target.
    fn run_errors(&self, heroku: &HerokuConfig) -> Vec<ConfigError> {
        if heroku.api_key.is_some() || heroku.simulator {
            return Vec::new();
        }
        let message = "required to run against Heroku: set HEROKU_API_KEY or heroku.api_key \
                       (only a simulator target, heroku.base_url on loopback or \
                       heroku.simulator = true, runs without one)";
        vec![self.loc.error_at("heroku.api_key", message)]
    }

    fn store(&mut self, raw: &RawConfig) -> StoreConfig {
        let url = raw.store.url.expose();
        let backend = if url.starts_with("sqlite:") {
            StoreBackend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            StoreBackend::Postgres
        } else {
            let shown = super::secret::redact_url(url);
            self.err(
                "store.url",
                format!("`{shown}` is neither sqlite:… nor postgres://…"),
            );
            StoreBackend::Sqlite
        };
        let raw_retention = self.positive("store.raw_retention", raw.store.raw_retention);
        let rollup_retention = self.positive("store.rollup_retention", raw.store.rollup_retention);
        if raw.store.rollup_retention < raw.store.raw_retention {
            self.err(
                "store.rollup_retention",
                format!(
                    "{} is shorter than raw_retention {}: rollups would go before the samples they summarise",
                    raw.store.rollup_retention, raw.store.raw_retention
                ),
            );
        }
        StoreConfig {
            url: raw.store.url.clone(),
            backend,
            raw_retention,
            rollup_retention,
        }
    }

    fn positive(&mut self, key: &str, d: ConfigDuration) -> std::time::Duration {
        if let Some(problem) = d.positive_problem() {
            self.err(key, problem);
        }
        d.get()
    }

    fn server(&mut self, raw: &RawConfig) -> ServerConfig {
        let listen = raw.server.listen.parse().unwrap_or_else(|_| {
            self.err(
                "server.listen",
                format!(
                    "`{}` is not an IP address and port like 127.0.0.1:8080",
                    raw.server.listen
                ),
            );
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });
        let restart_request_token = raw.server.restart_request_token.clone();
        if let Some(token) = &restart_request_token {
            self.check_token("server.restart_request_token", token);
        }
        let reconcile_deadline =
            self.positive("server.reconcile_deadline", raw.server.reconcile_deadline);
        let allowed_hosts = self.allowed_hosts(&raw.server.allowed_hosts);
        let http = self.http_limits(&raw.server);
        ServerConfig {
            listen,
            restart_request_token,
            reconcile_deadline,
            allowed_hosts,
            http,
            https: raw.server.https,
        }
    }

    /// Bare host names or IP addresses: a scheme, port or path here would never match `Host`.
    fn allowed_hosts(&mut self, hosts: &[String]) -> Vec<String> {
        let mut names = Vec::with_capacity(hosts.len());
        for (i, host) in hosts.iter().enumerate() {
            let name = host.trim().to_ascii_lowercase();
            let bracketed = name.starts_with('[') && name.ends_with(']');
            let plain = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
            if bracketed || plain {
                names.push(name.trim_end_matches('.').to_owned());
            } else {
                let why = format!(
                    "`{host}` is not a host name: write it without scheme, port or path, like dynopilot.example.com"
                );
                self.err(&format!("server.allowed_hosts[{i}]"), why);
            }
        }
        names
    }

    fn http_limits(&mut self, s: &super::raw::RawServer) -> crate::http_server::HttpLimits {
        let mut count = |key: &str, n: u64, min: u64| {
            if n < min {
                self.err(key, format!("must be at least {min}"));
            }
            usize::try_from(n.max(min)).unwrap_or(usize::MAX)
        };
        let max_header_bytes = count("server.max_header_bytes", s.max_header_bytes, 1024);
        let max_connections = count("server.max_connections", s.max_connections, 1);
        let max_connections_per_client = count(
            "server.max_connections_per_client",
            s.max_connections_per_client,
            0,
        );
        crate::http_server::HttpLimits {
            header_timeout: self.positive("server.header_timeout", s.header_timeout),
            body_timeout: self.positive("server.body_timeout", s.body_timeout),
            max_header_bytes,
            max_connections,
            max_connections_per_client,
            ..crate::http_server::HttpLimits::default()
        }
    }

    fn drain(&mut self, raw: &RawConfig) -> DrainConfig {
        if let Some(secret) = &raw.drain.secret {
            let s = secret.expose();
            if s.len() < MIN_DRAIN_SECRET_LEN {
                self.err(
                    "drain.secret",
                    format!("must be at least {MIN_DRAIN_SECRET_LEN} characters"),
                );
            }
            if !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
            {
                self.err(
                    "drain.secret",
                    "may only hold letters, digits, `-`, `_`, `.` and `~` (it is part of a URL)",
                );
            }
        }
        let max_body_bytes = usize::try_from(raw.drain.max_body_bytes).unwrap_or(usize::MAX);
        if max_body_bytes == 0 {
            self.err("drain.max_body_bytes", "must be greater than zero");
        }
        DrainConfig {
            secret: raw.drain.secret.clone(),
            max_body_bytes,
            dedupe_window: self.positive("drain.dedupe_window", raw.drain.dedupe_window),
        }
    }

    /// Off loopback a credential is required (a password hash, a password from the
    /// environment, or API tokens), and a plain-text password in the file is refused: files
    /// get copied and committed, and people reuse passwords.
    fn dashboard(&mut self, raw: &RawConfig, listen: SocketAddr, tokens: bool) -> DashboardConfig {
        let d = &raw.dashboard;
        if d.username.trim().is_empty() {
            self.err("dashboard.username", "must not be empty");
        }
        let password = d.password.clone().filter(|p| !p.is_empty());
        let hash = d.password_hash.clone().filter(|p| !p.is_empty());
        if d.password_hash.is_some() && hash.is_none() {
            self.err("dashboard.password_hash", "is empty");
        }
        if let Some(Err(why)) = hash
            .as_ref()
            .map(|h| crate::web::credentials::check_password_hash(h.expose()))
        {
            self.err("dashboard.password_hash", why);
        }
        let open = listen.ip().is_loopback();
        let from_env = self.env_origins.contains_key("dashboard.password");
        if d.password.is_some() && password.is_none() {
            self.err("dashboard.password", "is empty");
        } else if password.is_some() && hash.is_none() && !open && !from_env {
            let why = format!(
                "a plain-text password in the file is refused: server.listen {listen} is reachable \
                 from other machines; store `password_hash` instead (`dynopilot config \
                 hash-password`), or pass the password in DYNOPILOT_DASHBOARD_PASSWORD"
            );
            self.err("dashboard.password", why);
        } else if password.is_none() && hash.is_none() && !tokens && !open {
            let why = format!(
                "required: server.listen {listen} is reachable from other machines; set \
                 dashboard.password_hash (or DYNOPILOT_DASHBOARD_PASSWORD) or [[api.tokens]]"
            );
            self.err("dashboard.password", why);
        }
        DashboardConfig {
            username: d.username.clone(),
            password,
            password_hash: hash,
        }
    }

    /// `[[api.tokens]]`: unique names, at least one scope, exactly one of `token` and
    /// `token_hash`.
    fn api(&mut self, raw: &RawConfig) -> super::ApiConfig {
        use crate::web::credentials::{ApiToken, parse_token_digest};
        let mut tokens: Vec<ApiToken> = Vec::new();
        for (i, t) in raw.api.tokens.iter().enumerate() {
            let key = |field: &str| format!("api.tokens[{i}].{field}");
            if t.name.trim().is_empty() {
                self.err(&key("name"), "must not be empty");
            } else if tokens.iter().any(|o| o.name == t.name) {
                self.err(
                    &key("name"),
                    format!("`{}` is used by another token", t.name),
                );
            }
            if t.scopes.is_empty() {
                self.err(
                    &key("scopes"),
                    "needs at least one of read, operate, metrics",
                );
            }
            let token = match (&t.token, &t.token_hash) {
                (Some(plain), None) if !plain.is_empty() => {
                    ApiToken::plain(&t.name, t.scopes.clone(), plain.expose())
                }
                (None, Some(hash)) => match parse_token_digest(hash) {
                    Ok(digest) => ApiToken::from_digest(&t.name, t.scopes.clone(), digest),
                    Err(why) => {
                        self.err(&key("token_hash"), why);
                        continue;
                    }
                },
                (Some(_), Some(_)) => {
                    self.err(
                        &key("token"),
                        "set one of `token` and `token_hash`, not both",
                    );
                    continue;
                }
                _ => {
                    self.err(&key("token_hash"), "required (or `token`, in plain text)");
                    continue;
                }
            };
            tokens.push(token);
        }
        super::ApiConfig {
            tokens,
            metrics_access: raw.api.metrics_scope,
        }
    }
}

/// Whether `url`'s host is a loopback name or address (`localhost`, `127.0.0.1`, `[::1]`).
fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback_url;

    #[test]
    fn loopback_urls_are_simulator_targets() {
        for url in [
            "http://127.0.0.1:5000",
            "http://localhost",
            "http://[::1]:80/x",
            "http://u:p@127.0.0.2",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "https://api.heroku.com",
            "http://10.0.0.1",
            "http://sim:5000",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }
}
