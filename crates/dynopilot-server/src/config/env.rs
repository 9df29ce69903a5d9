//! Environment overrides, all from one table (`ENV_OVERRIDES`): no prefix scanning, so a typo in
//! a variable name can't be silently ignored by a rule that guesses. Env beats the file.

use std::collections::BTreeMap;

use super::error::{ConfigError, Location};
use super::raw::{LogSource, RawConfig};
use super::secret::Secret;

/// The variable that names the config file; read by `load_file`, not an override of a key.
pub const CONFIG_PATH_VAR: &str = "DYNOPILOT_CONFIG";

/// (environment variable, config key it sets, description). The only env the daemon reads.
pub const ENV_OVERRIDES: &[(&str, &str, &str)] = &[
    (
        "PORT",
        "server.listen",
        "listen on 0.0.0.0:$PORT (Heroku sets PORT for web dynos)",
    ),
    (
        "DATABASE_URL",
        "store.url",
        "store URL: sqlite://<file> or postgres://… (Heroku Postgres sets it)",
    ),
    ("HEROKU_API_KEY", "heroku.api_key", "Platform API key"),
    (
        "DYNOPILOT_DRAIN_SECRET",
        "drain.secret",
        "secret in the drain URL path (/drain/<secret>) or its basic-auth password",
    ),
    (
        "DYNOPILOT_RESTART_REQUEST_TOKEN",
        "server.restart_request_token",
        "bearer token of restart requests for apps that set none",
    ),
    (
        "DYNOPILOT_DASHBOARD_USERNAME",
        "dashboard.username",
        "dashboard user name",
    ),
    (
        "DYNOPILOT_DASHBOARD_PASSWORD",
        "dashboard.password",
        "dashboard password in plain text (accepted off loopback from here only)",
    ),
    (
        "DYNOPILOT_DASHBOARD_PASSWORD_HASH",
        "dashboard.password_hash",
        "dashboard password as an argon2 hash (`dynopilot config hash-password`)",
    ),
    (
        "DYNOPILOT_DRY_RUN",
        "dry_run",
        "true/false: record decisions without calling the API",
    ),
    (
        "DYNOPILOT_APPS",
        "apps",
        "comma-separated app names managed with the template policy, besides [[apps]]",
    ),
    (
        "DYNOPILOT_LOG_SOURCE",
        "log_source",
        "drain | log_session | none, for apps that don't set one",
    ),
    (
        CONFIG_PATH_VAR,
        "",
        "path of the config file (when none is given on the command line)",
    ),
];

/// What the environment changed.
#[derive(Debug, Default)]
pub struct Applied {
    /// Config key → the variable that set it.
    pub origins: BTreeMap<&'static str, &'static str>,
    /// Apps named by `DYNOPILOT_APPS`, in order, duplicates removed.
    pub apps: Vec<String>,
    pub errors: Vec<ConfigError>,
}

/// Applies every variable of `ENV_OVERRIDES` present (and non-empty) in `env` to `raw`.
pub fn apply(raw: &mut RawConfig, env: &BTreeMap<String, String>) -> Applied {
    let mut applied = Applied::default();
    for &(var, key, _) in ENV_OVERRIDES {
        let Some(value) = env.get(var).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
            continue;
        };
        if key.is_empty() {
            continue;
        }
        match apply_one(raw, &mut applied.apps, key, value) {
            Ok(()) => {
                applied.origins.insert(key, var);
            }
            Err(message) => applied.errors.push(ConfigError {
                location: Location::Env(var.to_owned()),
                key: key.to_owned(),
                message: format!("{var}={value}: {message}"),
            }),
        }
    }
    applied
}

fn apply_one(
    raw: &mut RawConfig,
    apps: &mut Vec<String>,
    key: &str,
    value: &str,
) -> Result<(), String> {
    match key {
        "server.listen" => {
            let port: u16 = value
                .parse()
                .ok()
                .filter(|p| *p != 0)
                .ok_or("is not a TCP port (1-65535)")?;
            raw.server.listen = format!("0.0.0.0:{port}");
        }
        "store.url" => raw.store.url = Secret::new(value),
        "heroku.api_key" => raw.heroku.api_key = Some(Secret::new(value)),
        "drain.secret" => raw.drain.secret = Some(Secret::new(value)),
        "server.restart_request_token" => {
            raw.server.restart_request_token = Some(Secret::new(value));
        }
        "dashboard.username" => raw.dashboard.username = value.to_owned(),
        "dashboard.password" => raw.dashboard.password = Some(Secret::new(value)),
        "dashboard.password_hash" => raw.dashboard.password_hash = Some(Secret::new(value)),
        "dry_run" => raw.dry_run = parse_bool(value)?,
        "apps" => {
            for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                if !apps.iter().any(|a| a == name) {
                    apps.push(name.to_owned());
                }
            }
        }
        "log_source" => {
            raw.log_source =
                Some(LogSource::parse(value).ok_or("is not one of drain, log_session, none")?);
        }
        // A table entry without a rule here is a bug caught by the env table test.
        other => return Err(format!("no rule applies `{other}`")),
    }
    Ok(())
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("is not a boolean (true/false, 1/0, yes/no, on/off)".to_owned()),
    }
}
