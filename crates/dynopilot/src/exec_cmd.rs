//! `dynopilot exec -a APP -- COMMAND…`: runs a command in a new attached one-off dyno, as
//! `heroku run` does, streaming its output and exiting with its status; on timeout or Ctrl-C
//! the dyno is stopped. Also the Heroku connection `clean` shares (`OneOffTarget`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use dynopilot_core::Clock;
use dynopilot_core::policy::ConfigDuration;
use dynopilot_heroku::exit_status::shell_quote;
use dynopilot_heroku::{
    ApiKey, ClientConfig, HerokuClient, OneOffEnd, OneOffRequest, RendezvousTls, RequestBudget,
};
use dynopilot_server::config::Config;
use tokio_util::sync::CancellationToken;

/// Exit status for a timeout, as `timeout(1)` uses.
pub const TIMED_OUT: u8 = 124;
/// Exit status after Ctrl-C, as shells report SIGINT.
pub const INTERRUPTED: u8 = 130;

/// Where the one-off dyno runs and how to reach Heroku.
#[derive(Debug, Clone, clap::Args)]
pub struct OneOffTarget {
    /// The Heroku app.
    #[arg(short = 'a', long = "app", value_name = "APP")]
    pub app: Option<String>,
    /// Dyno size of the one-off dyno [default: the app's current formation size: web's, else
    /// the first process type's by name].
    #[arg(long, short = 's')]
    pub size: Option<String>,
    /// Give up after this long: the dyno is stopped and dynopilot exits 124.
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Configuration file for `[heroku]` (API key, base URL, rendezvous_ca_file) [default:
    /// `$DYNOPILOT_CONFIG`, else the environment: `HEROKU_API_KEY`].
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// PEM file of extra certificate authorities for the rendezvous TLS connection (the
    /// simulator's: crates/dynopilot-sim/src/rendezvous_tls/cert.pem) [default: the config's
    /// `heroku.rendezvous_ca_file`, else the WebPKI roots only].
    #[arg(long, env = "DYNOPILOT_RENDEZVOUS_CA", value_name = "PEM")]
    pub rendezvous_ca: Option<PathBuf>,
}

/// `dynopilot exec` arguments.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub target: OneOffTarget,
    /// The command, after `--`. One word is run as a shell command line (`-- 'ls /tmp | wc
    /// -l'`); several are quoted word by word (`-- sh -c 'exit 3'`).
    #[arg(last = true, required = true, num_args = 1.., value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// An error that ends the process with `code`, printing `message` if there is one (a
/// remote command's own status prints nothing: its output said it all).
#[derive(Debug)]
pub struct ExitWith {
    pub code: u8,
    pub message: Option<String>,
}

impl std::fmt::Display for ExitWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.message {
            Some(m) => f.write_str(m),
            None => write!(f, "exit status {}", self.code),
        }
    }
}

impl std::error::Error for ExitWith {}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = ConfigDuration::parse(s)?;
    match d.positive_problem() {
        Some(problem) => Err(problem),
        None => Ok(d.get()),
    }
}

/// A connected client, the rendezvous trust and the app.
pub struct Session {
    pub client: HerokuClient,
    pub tls: RendezvousTls,
    pub app: String,
}

impl Session {
    pub fn open(target: &OneOffTarget) -> anyhow::Result<Session> {
        let app = target
            .app
            .clone()
            .context("-a APP is required: the app to start the one-off dyno in")?;
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let config = Config::load_file(target.config.as_deref(), &env)
            .map_err(|errors| anyhow::anyhow!("{errors}"))?;
        let api_key = config
            .heroku
            .api_key
            .as_ref()
            .context("no Heroku API key: set HEROKU_API_KEY or heroku.api_key")?;
        let mut heroku = ClientConfig::new(ApiKey::new(api_key.expose().to_owned()));
        heroku.base_url = config.heroku.base_url.clone();
        let clock: Arc<dyn Clock> = Arc::new(dynopilot_clock::SystemClock);
        let budget = Arc::new(RequestBudget::new(Arc::clone(&clock)));
        let client = HerokuClient::new(heroku, clock, budget)?;
        let ca = target
            .rendezvous_ca
            .clone()
            .or(config.heroku.rendezvous_ca_file.clone());
        let tls = rendezvous_tls(ca.as_deref())?;
        Ok(Session { client, tls, app })
    }

    /// `--size`, else the app's formation size.
    pub async fn size(&self, target: &OneOffTarget) -> anyhow::Result<Option<String>> {
        if let Some(size) = &target.size {
            dynopilot_core::DynoSize::lookup(size)
                .map_err(|e| anyhow::anyhow!("--size {size}: {e}"))?;
            return Ok(Some(size.clone()));
        }
        dynopilot_server::clean::formation_size(&self.client, &self.app)
            .await
            .with_context(|| format!("reading the formation of {}", self.app))
    }
}

/// The WebPKI roots, plus the authorities in `ca` when given.
pub fn rendezvous_tls(ca: Option<&std::path::Path>) -> anyhow::Result<RendezvousTls> {
    Ok(match ca {
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading rendezvous CA file {}", path.display()))?;
            RendezvousTls::with_extra_roots_pem(&pem)
                .with_context(|| format!("rendezvous CA file {}", path.display()))?
        }
        None => RendezvousTls::webpki()?,
    })
}

/// One word: a command line as given; several: each quoted for the shell.
pub fn command_line(words: &[String]) -> String {
    match words {
        [one] => one.clone(),
        many => many
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// A token cancelled on Ctrl-C (the client going away), so the dyno gets stopped.
pub fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    cancel
}

pub fn run(args: &ExecArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(exec(args))
}

async fn exec(args: &ExecArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.target)?;
    let size = session.size(&args.target).await?;
    let command = command_line(&args.command);
    eprintln!(
        "Running {command} on {} ({})…",
        session.app,
        size.as_deref().unwrap_or("Heroku's default size")
    );
    let request = OneOffRequest {
        command,
        size,
        timeout: args.target.timeout,
        env: BTreeMap::new(),
    };
    let cancel = cancel_on_ctrl_c();
    let mut stdout = Stdout;
    let report = session
        .client
        .run_one_off(&session.app, &request, &session.tls, &mut stdout, &cancel)
        .await
        .with_context(|| format!("running a one-off dyno on {}", session.app))?;
    let _ = std::io::stdout().flush();
    ended(
        report.end,
        &report.dyno,
        report.stop_error.as_ref(),
        args.target.timeout,
    )
}

/// Standard output for the async copy: a terminal or pipe write is short and blocking it is
/// what a CLI wants (and tokio's `io-std` is not built into this workspace).
struct Stdout;

impl tokio::io::AsyncWrite for Stdout {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(std::io::stdout().write(buf))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(std::io::stdout().flush())
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// The process's end for a one-off's end.
pub fn ended(
    end: OneOffEnd,
    dyno: &str,
    stop_error: Option<&dynopilot_heroku::HerokuError>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let stopped = match stop_error {
        Some(e) => format!("stopping {dyno} failed ({e}); Heroku ends it at its time_to_live"),
        None => format!("{dyno} was stopped"),
    };
    let fail = |code: u8, message: Option<String>| Err(ExitWith { code, message }.into());
    match end {
        OneOffEnd::Exited(0) => Ok(()),
        // Statuses above 255 do not exist in POSIX shells; `& 0xff` keeps a shell's view.
        OneOffEnd::Exited(status) => fail(u8::try_from(status & 0xff).unwrap_or(1), None),
        OneOffEnd::NoStatus => fail(
            1,
            Some(format!(
                "{dyno} closed the connection without an exit status (killed, or out of memory?)"
            )),
        ),
        OneOffEnd::TimedOut => fail(
            TIMED_OUT,
            Some(format!(
                "timed out after {}; {stopped}",
                ConfigDuration::from_millis(i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX))
            )),
        ),
        OneOffEnd::Cancelled => fail(INTERRUPTED, Some(format!("interrupted; {stopped}"))),
    }
}
