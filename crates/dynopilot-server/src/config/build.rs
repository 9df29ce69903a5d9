//! Raw → validated: applies env overrides, resolves policy templates per app and checks every
//! field, collecting all problems with their key and line before giving up.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use dynopilot_core::policy::{self, ConfigDuration};
use dynopilot_core::validate::{ConfigIssue, Validation};

use super::env::{self, Applied};
use super::error::{ConfigError, ConfigErrors, Location};
use super::locate::Locator;
use super::raw::{LogSource, PolicyTemplate, RawConfig};
use super::template::{self, ResolvedPolicy};
use super::{
    AppConfig, AppOrigin, Config, DashboardConfig, DiscoveryConfig, DrainConfig, HerokuConfig,
    Origin, ServerConfig, StoreBackend, StoreConfig, serde_errors,
};

/// Daemon settings whose origin `config show` reports.
pub const SETTING_KEYS: &[&str] = &[
    "dry_run",
    "log_source",
    "heroku.api_key",
    "heroku.base_url",
    "store.url",
    "store.raw_retention",
    "store.rollup_retention",
    "server.listen",
    "drain.secret",
    "drain.max_body_bytes",
    "drain.dedupe_window",
    "dashboard.username",
    "dashboard.password",
    "discovery.enabled",
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

struct Builder<'a> {
    loc: Locator<'a>,
    env_origins: BTreeMap<&'static str, &'static str>,
    errors: Vec<ConfigError>,
}

impl Builder<'_> {
    fn err(&mut self, key: &str, message: impl Into<String>) {
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

    fn issues(&mut self, prefix: &str, issues: &[ConfigIssue]) {
        for i in issues {
            self.err(&format!("{prefix}.{}", i.key), i.message.clone());
        }
    }

    fn build(&mut self, raw: &RawConfig, doc: &toml::Table, applied: &Applied) -> Config {
        let heroku = self.heroku(raw);
        let store = self.store(raw);
        let server = self.server(raw);
        let drain = self.drain(raw);
        let dashboard = self.dashboard(raw, server.listen);
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
        };
        let (template_table, template) = self.template(doc);
        let mut apps = self.file_apps(raw, doc, &template_table, &template, &discovery);
        self.env_apps(&applied.apps, &template, &discovery, &mut apps);
        if drain.secret.is_none() {
            self.check_drain_users(&discovery, &apps);
        }
        let mut template = template;
        if raw.dry_run {
            template.policy.guardrails.dry_run = true;
            for app in &mut apps {
                app.resolved.policy.guardrails.dry_run = true;
            }
        }
        Config {
            source: self.loc.source().to_owned(),
            heroku,
            store,
            server,
            drain,
            dashboard,
            dry_run: raw.dry_run,
            discovery,
            apps,
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
                format!("`{base_url}` is not an http(s) URL"),
            );
        }
        if raw.heroku.api_key.as_ref().is_some_and(|k| k.is_empty()) {
            self.err("heroku.api_key", "is empty");
        }
        HerokuConfig {
            api_key: raw.heroku.api_key.clone(),
            base_url,
        }
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
        ServerConfig { listen }
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

    fn dashboard(&mut self, raw: &RawConfig, listen: SocketAddr) -> DashboardConfig {
        let d = &raw.dashboard;
        if d.username.trim().is_empty() {
            self.err("dashboard.username", "must not be empty");
        }
        let password = d.password.clone().filter(|p| !p.is_empty());
        if d.password.is_some() && password.is_none() {
            self.err("dashboard.password", "is empty");
        } else if password.is_none() && !listen.ip().is_loopback() {
            let why = format!(
                "required: server.listen {listen} is reachable from other machines (set DYNOPILOT_DASHBOARD_PASSWORD)"
            );
            self.err("dashboard.password", why);
        }
        DashboardConfig {
            username: d.username.clone(),
            password,
        }
    }

    /// The template as a table (for merging) and resolved (for discovered apps).
    fn template(&mut self, doc: &toml::Table) -> (toml::Table, ResolvedPolicy) {
        let from_file = doc
            .get("discovery")
            .and_then(|d| d.get("defaults"))
            .and_then(|d| d.as_table())
            .cloned();
        let table = from_file
            .or_else(|| toml::Table::try_from(PolicyTemplate::builtin()).ok())
            .unwrap_or_default();
        let resolved = match template::resolve("", &table, &toml::Table::new()) {
            Ok(r) => {
                let issues = policy_issues(&r);
                self.issues("discovery.defaults", &issues);
                r
            }
            Err(message) => {
                self.err("discovery.defaults", message);
                empty_policy("")
            }
        };
        (table, resolved)
    }

    fn file_apps(
        &mut self,
        raw: &RawConfig,
        doc: &toml::Table,
        template_table: &toml::Table,
        template: &ResolvedPolicy,
        discovery: &DiscoveryConfig,
    ) -> Vec<AppConfig> {
        let template_issues = policy_issues(template);
        let docs = doc.get("apps").and_then(|a| a.as_array());
        let mut apps: Vec<AppConfig> = Vec::new();
        for (i, app) in raw.apps.iter().enumerate() {
            let prefix = format!("apps[{i}]");
            self.check_app_name(&format!("{prefix}.name"), &app.name);
            if let Some(first) = raw.apps[..i].iter().position(|a| a.name == app.name) {
                self.err(
                    &format!("{prefix}.name"),
                    format!("app `{}` is already listed as apps[{first}]", app.name),
                );
            }
            let mut overrides = docs
                .and_then(|d| d.get(i))
                .and_then(|d| d.as_table())
                .cloned()
                .unwrap_or_default();
            overrides.remove("name");
            overrides.remove("log_source");
            let resolved = match template::resolve(&app.name, template_table, &overrides) {
                Ok(r) => r,
                Err(message) => {
                    self.err(&prefix, message);
                    empty_policy(&app.name)
                }
            };
            // Issues inherited unchanged from the template were reported there already.
            let own: Vec<ConfigIssue> = policy_issues(&resolved)
                .into_iter()
                .filter(|issue| !template_issues.contains(issue))
                .collect();
            self.issues(&prefix, &own);
            let log_source = app.log_source.unwrap_or(discovery.log_source);
            apps.push(AppConfig {
                name: app.name.clone(),
                log_source,
                origin: AppOrigin::File,
                resolved,
            });
        }
        apps
    }

    fn env_apps(
        &mut self,
        names: &[String],
        template: &ResolvedPolicy,
        discovery: &DiscoveryConfig,
        apps: &mut Vec<AppConfig>,
    ) {
        for name in names {
            if apps.iter().any(|a| &a.name == name) {
                continue;
            }
            self.check_app_name("apps", name);
            let mut resolved = template.clone();
            resolved.policy.app = name.clone();
            apps.push(AppConfig {
                name: name.clone(),
                log_source: discovery.log_source,
                origin: AppOrigin::Env,
                resolved,
            });
        }
    }

    /// Heroku app names: 3–30 lowercase letters, digits and dashes, starting with a letter.
    fn check_app_name(&mut self, key: &str, name: &str) {
        let ok = (3..=30).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && !name.ends_with('-')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            self.err(
                key,
                format!("`{name}` is not a Heroku app name (3-30 lowercase letters, digits, dashes; starts with a letter)"),
            );
        }
    }
}

/// Every issue of a resolved policy, with keys relative to the app (or template).
fn policy_issues(r: &ResolvedPolicy) -> Vec<ConfigIssue> {
    let mut v = Validation::new();
    r.policy.validate("", &mut v);
    let mut issues = v.issues().to_vec();
    if let Some(defaults) = &r.process_type_defaults {
        // Core validates process types by name; check the defaults under a stand-in name.
        let mut probe = policy::Config::new("probe");
        probe
            .process_types
            .insert("web".to_owned(), defaults.clone());
        let mut pv = Validation::new();
        probe.validate("", &mut pv);
        for issue in pv.issues() {
            if let Some(rest) = issue.key.strip_prefix("process_types.web") {
                issues.push(ConfigIssue {
                    key: format!("process_type_defaults{rest}"),
                    message: issue.message.clone(),
                });
            }
        }
    }
    issues
}

fn empty_policy(app: &str) -> ResolvedPolicy {
    ResolvedPolicy {
        policy: policy::Config::new(app),
        process_type_defaults: None,
    }
}
