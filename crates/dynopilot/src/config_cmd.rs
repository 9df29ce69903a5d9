//! `dynopilot config check|show [FILE]`: loads the configuration the daemon would use (FILE,
//! else `$DYNOPILOT_CONFIG`, else the environment alone) and reports every problem, or prints
//! the effective configuration with secrets masked.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use dynopilot_server::config::Config;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Report every problem of the configuration, each with its key and `file:line:column`.
    Check {
        /// Config file; default `$DYNOPILOT_CONFIG`, else the environment alone.
        file: Option<PathBuf>,
    },
    /// Print the effective configuration (defaults, file and environment) as TOML, with each
    /// value's origin; secrets are masked.
    Show {
        /// Config file; default `$DYNOPILOT_CONFIG`, else the environment alone.
        file: Option<PathBuf>,
    },
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
    let (ConfigCommand::Check { file } | ConfigCommand::Show { file }) = &cmd;
    let config = match Config::load_file(file.as_deref(), env) {
        Ok(config) => config,
        Err(errors) => {
            // A parser quoting the offending line may quote a store URL with its password.
            let shown = dynopilot_server::config::redact_urls_in(&errors.to_string());
            writeln!(err, "{shown}")?;
            anyhow::bail!("the configuration has {} problem(s)", errors.errors.len());
        }
    };
    match cmd {
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
        ConfigCommand::Show { .. } => out.write_all(config.show().as_bytes())?,
    }
    Ok(())
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
            },
            &env(&[]),
        );
        assert!(!ok);
        let shown = path.display().to_string();
        assert!(
            err.contains(&format!("{shown}:6:1: apps[0].memroy_guard: unknown field")),
            "{err}"
        );
    }

    #[test]
    fn check_accepts_env_alone_and_show_masks_the_api_key() {
        let vars = env(&[("HEROKU_API_KEY", "hk-secret-value")]);
        let (ok, out, _) = run_on(ConfigCommand::Check { file: None }, &vars);
        assert!(ok);
        assert!(out.contains("discovery on"), "{out}");
        let (ok, out, _) = run_on(ConfigCommand::Show { file: None }, &vars);
        assert!(ok);
        assert!(!out.contains("hk-secret-value"));
        assert!(
            out.contains("api_key = \"***\"  # env HEROKU_API_KEY"),
            "{out}"
        );
    }
}
