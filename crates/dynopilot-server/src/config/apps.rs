//! Resolving apps: the policy template, `[[apps]]` entries merged over it, apps named by
//! `DYNOPILOT_APPS`, and the policy checks of each (template problems reported only once).

use dynopilot_core::policy;
use dynopilot_core::validate::{ConfigIssue, Validation};

use super::build::Builder;
use super::raw::{PolicyTemplate, RawConfig};
use super::secret::Secret;
use super::template::{self, ResolvedPolicy};
use super::{AgentsConfig, AppConfig, AppOrigin, DiscoveryConfig};

impl Builder<'_> {
    /// The template as a table (for merging) and resolved (for discovered apps).
    pub(super) fn template(&mut self, doc: &toml::Table) -> (toml::Table, ResolvedPolicy) {
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
                let schema = super::words::Schema::new();
                let key = "discovery.defaults";
                self.err(key, super::words::explain(&message, key, &schema));
                empty_policy("")
            }
        };
        (table, resolved)
    }

    pub(super) fn file_apps(
        &mut self,
        raw: &RawConfig,
        doc: &toml::Table,
        template_table: &toml::Table,
        template: &ResolvedPolicy,
        discovery: &DiscoveryConfig,
        default_token: &Option<Secret>,
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
            overrides.remove("restart_request_token");
            overrides.remove("api_key_env");
            overrides.remove("api_key");
            for probe_key in ["probes", "pingdom", "checks"] {
                overrides.remove(probe_key);
            }
            overrides.remove("queues");
            overrides.remove("clean");
            overrides.remove("agents");
            let resolved = match template::resolve(&app.name, template_table, &overrides) {
                Ok(r) => r,
                Err(message) => {
                    let schema = super::words::Schema::new();
                    self.err(&prefix, super::words::explain(&message, &prefix, &schema));
                    empty_policy(&app.name)
                }
            };
            // Issues inherited unchanged from the template were reported there already.
            let own: Vec<ConfigIssue> = policy_issues(&resolved)
                .into_iter()
                .filter(|issue| !template_issues.contains(issue))
                .collect();
            self.issues(&prefix, &own);
            let probes = self.app_probes(&prefix, app);
            let log_source = app.log_source.unwrap_or(discovery.log_source);
            if let Some(token) = &app.restart_request_token {
                self.check_token(&format!("{prefix}.restart_request_token"), token);
            }
            let api_key_env = self.app_api_key_env(&prefix, app);
            let env = self.env;
            let queues = self.queue_sources(&format!("{prefix}.queues"), &app.queues, env);
            // A dry-run app lists what it would clean and removes nothing.
            let dry_run = resolved.policy.guardrails.dry_run;
            let clean = self.clean_schedules(&format!("{prefix}.clean"), &app.clean, dry_run);
            let agents = self.agents(&format!("{prefix}.agents"), app.agents.as_ref());
            self.check_agent_tokens_unique(&prefix, &agents, &apps);
            apps.push(AppConfig {
                name: app.name.clone(),
                log_source,
                origin: AppOrigin::File,
                restart_request_token: app
                    .restart_request_token
                    .clone()
                    .or_else(|| default_token.clone()),
                resolved,
                probes,
                queues,
                api_key_env,
                clean,
                agents,
            });
        }
        apps
    }

    /// The app's key variable: a valid name, and never a key written inline.
    fn app_api_key_env(&mut self, prefix: &str, app: &super::raw::RawApp) -> Option<String> {
        if app.api_key.is_some() {
            self.err(
                &format!("{prefix}.api_key"),
                format!(
                    "app `{}`: a per-app API key is never written in the file; put it in an environment variable and name that with `api_key_env = \"HEROKU_API_KEY_…\"`",
                    app.name
                ),
            );
        }
        let var = app.api_key_env.as_ref()?.trim();
        let valid = var.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            self.err(
                &format!("{prefix}.api_key_env"),
                format!("`{var}` is not an environment variable name (letters, digits and `_`, not starting with a digit)"),
            );
            return None;
        }
        Some(var.to_owned())
    }

    pub(super) fn env_apps(
        &mut self,
        names: &[String],
        template: &ResolvedPolicy,
        discovery: &DiscoveryConfig,
        default_token: &Option<Secret>,
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
                restart_request_token: default_token.clone(),
                resolved,
                probes: Default::default(),
                queues: Vec::new(),
                api_key_env: None,
                clean: Vec::new(),
                agents: Default::default(),
            });
        }
    }

    /// An agent token names one app: a report must never land on another app's state.
    fn check_agent_tokens_unique(
        &mut self,
        prefix: &str,
        agents: &AgentsConfig,
        before: &[AppConfig],
    ) {
        let judoscale =
            |a: &AgentsConfig| a.judoscale_token.as_ref().map(|t| t.expose().to_owned());
        let hirefire = |a: &AgentsConfig| a.hirefire.as_ref().map(|h| h.token.expose().to_owned());
        for (field, token, of) in [
            (
                "judoscale",
                judoscale(agents),
                judoscale as fn(&AgentsConfig) -> Option<String>,
            ),
            (
                "hirefire",
                hirefire(agents),
                hirefire as fn(&AgentsConfig) -> Option<String>,
            ),
        ] {
            let Some(token) = token else { continue };
            if let Some(other) = before
                .iter()
                .find(|a| of(&a.agents).as_ref() == Some(&token))
            {
                self.err(
                    &format!("{prefix}.agents.{field}.token"),
                    format!(
                        "already the {field} token of app `{}`: each app needs its own",
                        other.name
                    ),
                );
            }
        }
    }

    /// A bearer token is compared in constant time but must still be hard to guess.
    pub(super) fn check_token(&mut self, key: &str, token: &Secret) {
        if token.expose().trim().len() < MIN_TOKEN_LEN {
            self.err(key, format!("must be at least {MIN_TOKEN_LEN} characters"));
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

const MIN_TOKEN_LEN: usize = 16;

impl super::Config {
    /// Each app's own Platform API key, read from the variable its `api_key_env` names. A
    /// variable that is unset or empty is an error naming the app and the variable: the app
    /// would otherwise run with a key that cannot see it.
    pub fn app_api_keys(
        &self,
        env: &std::collections::BTreeMap<String, String>,
    ) -> Result<std::collections::BTreeMap<String, Secret>, Vec<String>> {
        let mut keys = std::collections::BTreeMap::new();
        let mut missing = Vec::new();
        for app in &self.apps {
            let Some(var) = &app.api_key_env else {
                continue;
            };
            match env.get(var).map(|v| v.trim()).filter(|v| !v.is_empty()) {
                Some(key) => {
                    keys.insert(app.name.clone(), Secret::new(key));
                }
                None => missing.push(format!(
                    "app {}: environment variable {var} (its api_key_env) is not set",
                    app.name
                )),
            }
        }
        if missing.is_empty() {
            Ok(keys)
        } else {
            Err(missing)
        }
    }
}

fn empty_policy(app: &str) -> ResolvedPolicy {
    ResolvedPolicy {
        policy: policy::Config::new(app),
        process_type_defaults: None,
    }
}
