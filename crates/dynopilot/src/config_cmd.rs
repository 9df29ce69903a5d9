//! `dynopilot config check|show [FILE]`: loads the configuration the daemon would use (FILE,
//! else `$DYNOPILOT_CONFIG`, else the environment alone) and reports every problem, or prints
//! the effective configuration with secrets masked.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use std::sync::Arc;

use clap::Subcommand;
use dynopilot_core::Clock;
use dynopilot_heroku::{ApiKey, ClientConfig, HerokuClient, HerokuError, RequestBudget};
use dynopilot_server::config::Config;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Report every problem of the configuration, each with its key and `file:line:column`.
    Check {
        /// Config file; default `$DYNOPILOT_CONFIG`, else the environment alone.
        file: Option<PathBuf>,
        /// Also ask the Platform API (with the configured key) whether each listed app can be
        /// seen, and report access problems before `dynopilot run` meets them.
        #[arg(long)]
        online: bool,
    },
    /// Print the effective configuration (defaults, file and environment) as TOML, with each
    /// value's origin; secrets are masked.
    Show {
        /// Config file; default `$DYNOPILOT_CONFIG`, else the environment alone.
        file: Option<PathBuf>,
        /// Print JSON: `{"source", "config", "origins": {"server.listen": "default", …}}`.
        #[arg(long)]
        json: bool,
    },
    /// Read the dashboard password on stdin and print its argon2 hash, for
    /// `dashboard.password_hash` (or DYNOPILOT_DASHBOARD_PASSWORD_HASH).
    HashPassword,
    /// Read an API token on stdin and print its `sha256:` digest, for `[[api.tokens]]
    /// token_hash`.
    HashToken,
}

/// Runs against the process environment and stdout/stderr.
pub fn run(cmd: ConfigCommand) -> anyhow::Result<()> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    run_with(
        cmd,
        &env,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )
}

fn run_with(
    cmd: ConfigCommand,
    env: &BTreeMap<String, String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<()> {
    let file = match &cmd {
        ConfigCommand::Check { file, .. } | ConfigCommand::Show { file, .. } => file,
        ConfigCommand::HashPassword => {
            let kind = crate::config_hash::Kind::Password;
            return crate::config_hash::run(kind, &mut std::io::stdin().lock(), out);
        }
        ConfigCommand::HashToken => {
            let kind = crate::config_hash::Kind::Token;
            return crate::config_hash::run(kind, &mut std::io::stdin().lock(), out);
        }
    };
    let config = match Config::load_file(file.as_deref(), env) {
        Ok(config) => config,
        Err(errors) => {
            // A parser quoting the offending line may quote a store URL with its password.
            let shown = dynopilot_server::config::redact_urls_in(&errors.to_string());
            writeln!(err, "{shown}")?;
            anyhow::bail!("the configuration has {} problem(s)", errors.errors.len());
        }
    };
    if matches!(cmd, ConfigCommand::Check { .. }) {
        for warning in &config.warnings {
            writeln!(err, "warning: {warning}")?;
        }
        if !config.run_errors.is_empty() {
            for e in &config.run_errors {
                writeln!(err, "{e}")?;
            }
            anyhow::bail!(
                "the configuration has {} problem(s)",
                config.run_errors.len()
            );
        }
    }
    match cmd {
        ConfigCommand::Check { online: true, .. } => {
            let problems = check_online(&config, out, err)?;
            if problems > 0 {
                anyhow::bail!("{problems} problem(s) found online");
            }
        }
        ConfigCommand::Check { .. } => writeln!(
            out,
            "{}: ok ({} app(s) listed, discovery {}, {:?} store, listening on {})",
            config.source,
            config.apps.len(),
            if config.discovery.enabled {
                "on"
            } else {
                "off"
            },
            config.store.backend,
            config.server.listen
        )?,
        ConfigCommand::Show { json: false, .. } => out.write_all(config.show().as_bytes())?,
        ConfigCommand::Show { json: true, .. } => {
            let shown = config.show();
            let values: toml::Table = toml::from_str(&shown)?;
            let report = serde_json::json!({
                "source": config.source,
                "config": values,
                "origins": origins(&shown),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        }
        // Answered above, before any config is loaded.
        ConfigCommand::HashPassword | ConfigCommand::HashToken => {}
    }
    Ok(())
}

/// Each set key's origin, from the trailing comments of `Config::show` (`key = v  # origin`),
/// keyed by dotted path; array tables are numbered (`apps[0].name`).
fn origins(shown: &str) -> BTreeMap<String, String> {
    let mut section = String::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for line in shown.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
            let n = counts.entry(name.to_owned()).or_default();
            section = format!("{name}[{n}]");
            *n += 1;
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
        } else if !line.starts_with('#')
            && let Some((assignment, origin)) = line.rsplit_once("  # ")
            && let Some((key, _)) = assignment.split_once(" = ")
        {
            let path = if section.is_empty() {
                key.trim().to_owned()
            } else {
                format!("{section}.{}", key.trim())
            };
            out.insert(path, origin.trim().to_owned());
        }
    }
    out
}

/// The configured API key, or the simulator's demo token when a simulator is the target.
pub fn api_key(config: &Config) -> anyhow::Result<ApiKey> {
    match &config.heroku.api_key {
        Some(key) => Ok(ApiKey::new(key.expose().to_owned())),
        None if config.heroku.simulator => {
            Ok(ApiKey::new(dynopilot_sim::config::DEMO_TOKEN.to_owned()))
        }
        None => anyhow::bail!("no Heroku API key: set HEROKU_API_KEY or heroku.api_key"),
    }
}

/// Looks up every listed app (and, with discovery on, the account's app list) through the
/// Platform API, and checks the process types each names against its formation; prints one
/// line per app (problems to `err`) and returns how many problems it found.
fn check_online(
    config: &Config,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<usize> {
    let mut heroku = ClientConfig::new(api_key(config)?);
    heroku.base_url = config.heroku.base_url.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let clock: Arc<dyn Clock> = Arc::new(dynopilot_clock::SystemClock);
        let budget = Arc::new(RequestBudget::new(Arc::clone(&clock)));
        let client = HerokuClient::new(heroku, clock, budget)?;
        let mut problems = 0;
        if config.discovery.enabled {
            match client.apps_list().await {
                Ok(apps) => writeln!(out, "discovery: ok ({} app(s) visible)", apps.len())?,
                Err(e) => {
                    problems += 1;
                    writeln!(out, "discovery: cannot list apps: {e}")?;
                }
            }
        }
        for app in &config.apps {
            if let Err(e) = client.app_info(&app.name).await {
                problems += 1;
                writeln!(out, "app {}: {} — {}", app.name, e.kind(), access_hint(&e))?;
                continue;
            }
            match client.formation_list(&app.name).await {
                Ok(formation) => {
                    let mut types: Vec<String> =
                        formation.into_iter().map(|f| f.process_type).collect();
                    types.sort();
                    let unknown = config.process_types_against_formation(&app.name, &types);
                    for e in &unknown {
                        writeln!(err, "{e}")?;
                    }
                    problems += unknown.len();
                    if unknown.is_empty() {
                        writeln!(out, "app {}: ok ({})", app.name, types.join(", "))?;
                    }
                }
                Err(e) => {
                    problems += 1;
                    writeln!(out, "app {}: cannot read the formation: {e}", app.name)?;
                }
            }
        }
        Ok(problems)
    })
}

/// What an access error means for the person running the check.
fn access_hint(e: &HerokuError) -> String {
    match e {
        HerokuError::NotFound { .. } => {
            "no such app visible to this API key (check the name and the key's access)".to_owned()
        }
        HerokuError::Forbidden { .. } => {
            "the key's user may not use this app (add them as a collaborator)".to_owned()
        }
        HerokuError::Unauthorized { .. } => "Heroku rejected the API key".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn run_on(cmd: ConfigCommand, vars: &BTreeMap<String, String>) -> (bool, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let ok = run_with(cmd, vars, &mut out, &mut err).is_ok();
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (ok, text(out), text(err))
    }

    fn temp_file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dynopilot-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn check_lists_every_problem_with_its_line() {
        let path = temp_file(
            "bad.toml",
            "[server]\nlisten = \"x\"\n\n[[apps]]\nname = \"a\"\nmemroy_guard = 1\n",
        );
        let (ok, _, err) = run_on(
            ConfigCommand::Check {
                file: Some(path.clone()),
                online: false,
            },
            &env(&[]),
        );
        assert!(!ok);
        let shown = path.display().to_string();
        assert!(
            err.contains(&format!("{shown}:6:1: apps[0].memroy_guard: unknown key")),
            "{err}"
        );
    }

    #[test]
    fn check_accepts_env_alone_and_show_masks_the_api_key() {
        let vars = env(&[("HEROKU_API_KEY", "hk-secret-value")]);
        let (ok, out, _) = run_on(
            ConfigCommand::Check {
                file: None,
                online: false,
            },
            &vars,
        );
        assert!(ok);
        assert!(out.contains("discovery on"), "{out}");
        let (ok, out, _) = run_on(
            ConfigCommand::Show {
                file: None,
                json: false,
            },
            &vars,
        );
        assert!(ok);
        assert!(!out.contains("hk-secret-value"));
        assert!(
            out.contains("api_key = \"***\"  # env HEROKU_API_KEY"),
            "{out}"
        );
    }
}
