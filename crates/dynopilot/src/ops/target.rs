//! Where the daemon is and how to sign in: `--url` / `DYNOPILOT_URL`, else the config's
//! `[server] listen`; `DYNOPILOT_TOKEN`, else the config's dashboard password. The store URL
//! comes from the same config, for reading the journal when the daemon is down.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use dynopilot_server::config::Config;

/// The connection flags every operator command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct Connect {
    /// Daemon URL, e.g. `https://dynopilot.example.com` (default: from the config's
    /// `[server] listen`, a wildcard address read as loopback).
    #[arg(long, env = "DYNOPILOT_URL", global = true)]
    pub url: Option<String>,
    /// Configuration file that locates the daemon and its store (default `$DYNOPILOT_CONFIG`,
    /// else the environment alone). The sign-in token is read from `DYNOPILOT_TOKEN` (the
    /// dashboard password), never from the command line.
    #[arg(long, short = 'c', global = true)]
    pub config: Option<PathBuf>,
}

/// A resolved daemon to talk to.
pub struct Target {
    pub url: String,
    pub username: String,
    pub token: Option<String>,
    /// The loaded configuration, or why it could not be loaded.
    pub config: Result<Config, String>,
}

impl Target {
    pub fn resolve(connect: &Connect) -> anyhow::Result<Target> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let config = Config::load_file(connect.config.as_deref(), &env)
            .map_err(|errors| dynopilot_server::config::redact_urls_in(&errors.to_string()));
        let url = match (&connect.url, &config) {
            (Some(url), _) => url.trim_end_matches('/').to_owned(),
            (None, Ok(config)) => url_of(config.server.listen),
            (None, Err(problems)) => anyhow::bail!(
                "no daemon URL: set DYNOPILOT_URL or --url, or fix the configuration:\n{problems}"
            ),
        };
        let token = env
            .get("DYNOPILOT_TOKEN")
            .filter(|t| !t.is_empty())
            .cloned()
            .or_else(|| {
                let config = config.as_ref().ok()?;
                Some(config.dashboard.password.as_ref()?.expose().to_owned())
            });
        let username = config
            .as_ref()
            .map(|c| c.dashboard.username.clone())
            .unwrap_or_else(|_| "dynopilot".to_owned());
        Ok(Target {
            url,
            username,
            token,
            config,
        })
    }
}

/// `0.0.0.0:8080` is reached as `127.0.0.1:8080` from this machine.
fn url_of(listen: SocketAddr) -> String {
    let ip = listen.ip();
    let host = if ip.is_unspecified() {
        if ip.is_ipv4() {
            "127.0.0.1".to_owned()
        } else {
            "[::1]".to_owned()
        }
    } else if ip.is_ipv6() {
        format!("[{ip}]")
    } else {
        ip.to_string()
    };
    format!("http://{host}:{}", listen.port())
}

/// The person at the terminal, as the journal names them next to the session's user.
pub fn operator() -> String {
    ["DYNOPILOT_OPERATOR", "USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .map(|v| {
            // The daemon refuses longer names and anything but visible ASCII.
            let max = dynopilot_server::web::api::MAX_OPERATOR_LEN;
            v.chars()
                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                .take(max)
                .collect::<String>()
        })
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}
