//! The `dynopilot` command line: argument parsing and wiring only; every capability lives in a
//! library crate.

mod alert_cmd;
mod analyze;
mod backtest_charts;
mod backtest_cmd;
mod clean_cmd;
mod config_cmd;
mod config_hash;
mod demo;
mod drain_hint;
mod exec_cmd;
mod logging;
mod ops;
mod run_cmd;
mod sim_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "dynopilot", version, about = "An autopilot for Heroku dynos")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Summarise Heroku logs: drain captures or `heroku logs` output (auto-detected).
    ///
    /// Prints per-dyno memory and load, errors by code, request counts and latency percentiles
    /// per process type, and a timeline of restarts, crashes, releases and scale changes.
    Analyze {
        /// Files to read; `-` reads standard input (e.g. `heroku logs --tail | dynopilot analyze -`).
        #[arg(default_value = "-")]
        files: Vec<PathBuf>,
        /// Print one JSON object per log entry (NDJSON) instead of the summary.
        #[arg(long)]
        json: bool,
    },
    /// Run a simulated Heroku app and dynopilot watching it, on this machine, no setup needed.
    ///
    /// Starts the simulator (traffic surges, leaking workers) and the daemon on SQLite, connects
    /// them with a drain, and prints each decision with its reason. Ctrl-C stops.
    Demo {
        /// Port on 127.0.0.1 for dynopilot (drain endpoint and dashboard).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// SQLite file to keep the demo's data in (default: a new file in the temp directory).
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// Check or show the daemon configuration (file + environment).
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Run the daemon: watch the configured (or discovered) apps and act on them.
    ///
    /// Reads the TOML file (or `$DYNOPILOT_CONFIG`) and the environment; on Heroku,
    /// `HEROKU_API_KEY` alone gives memory guard and zombie restarts for every app.
    Run {
        /// Configuration file (see dynopilot.example.toml).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Also read `heroku logs` lines from standard input for this app
        /// (`heroku logs --tail -a shop | dynopilot run --stdin shop`).
        #[arg(long, value_name = "APP")]
        stdin: Option<String>,
    },
    /// Print the dyno size table dynopilot uses (memory, compute, price, R15 kill point).
    Sizes {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the simulated Heroku (Platform API, log sessions, drains) in real time with demo apps.
    ///
    /// `--faults` injects 5xx answers, 429 bursts, latency, dropped connections and
    /// apply-then-fail (the write lands, the answer is lost); see docs/simulator-faults.md.
    Sim(sim_cmd::SimArgs),
    /// What the running daemon sees, per app: mode, formation, dynos, holds, blind policies,
    /// recent decisions and alerts. Reads the store when the daemon does not answer.
    Status(ops::StatusArgs),
    /// The app's dynos, like `heroku ps`, with each dyno's memory, load and restarts.
    Ps(ops::PsArgs),
    /// The decision journal: what dynopilot (or a person) decided, why, and how it ended.
    Decisions(ops::DecisionsArgs),
    /// Scale process types by hand (`web=3`), through dynopilot's guardrails and journal.
    Scale(ops::ScaleArgs),
    /// Restart a dyno (`web.2`), a process type (`web`) or the whole app, through the
    /// guardrails and journal.
    Restart(ops::RestartArgs),
    /// Stop autoscaling the app (or one process type), for a while with `--for`.
    Pause(ops::PauseArgs),
    /// Let autoscaling act again.
    Resume(ops::ResumeArgs),
    /// Run a command in a new one-off dyno (attached, like `heroku run`): output streamed, exit
    /// status passed on; on timeout or Ctrl-C the dyno is stopped (exit 124 / 130).
    Exec(exec_cmd::ExecArgs),
    /// Remove old files with one safe `find` in a new one-off dyno (`--dry-run` lists them), or
    /// print that command for the app's own dynos (`--print-command`). Only /tmp, /app/tmp,
    /// /app/log and below; never follows symbolic links; keeps dotfiles unless asked.
    Clean(clean_cmd::CleanArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff) generated from these definitions.
    Man,
    /// Ask the daemon's `/healthz`: exit 0 when it answers 200, else 1 (or 3 when it does not
    /// answer); for container health checks.
    Healthcheck(ops::HealthArgs),
    /// Alerts: send a test alert through the configured channels.
    #[command(subcommand)]
    Alert(alert_cmd::AlertCommand),
    /// Replay traffic traces through a simulated Heroku with dynopilot, its peers and an oracle.
    ///
    /// Prints cost and lateness per policy (`--json` for machines); see docs/backtest.md.
    Backtest(Box<backtest_cmd::BacktestArgs>),
}

/// Errors are printed as their cause chain (`error: a: b`), never as a backtrace, whatever
/// `RUST_BACKTRACE` says: a person reading `config check` output wants the key and line. Any
/// URL in the message (a store URL quoted by a parser or driver) has its password masked.
fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // `dynopilot status --json | head`: the reader left; nothing is wrong.
        Err(err) if is_broken_pipe(&err) => std::process::ExitCode::SUCCESS,
        // `exec`/`clean`: the remote command's status, or 124/130 with what happened.
        Err(err) if err.downcast_ref::<exec_cmd::ExitWith>().is_some() => {
            let exit = err.downcast_ref::<exec_cmd::ExitWith>();
            if let Some(message) = exit.and_then(|e| e.message.as_deref()) {
                eprintln!("error: {message}");
            }
            std::process::ExitCode::from(exit.map_or(1, |e| e.code))
        }
        Err(err) => {
            let message = dynopilot_server::config::redact_urls_in(&format!("{err:#}"));
            eprintln!("error: {message}");
            std::process::ExitCode::from(ops::exit_code(&err))
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Analyze { files, json } => analyze::run(&files, json, &mut analyze::stdout())?,
        Command::Demo { port, store } => demo::run(port, store)?,
        Command::Config(cmd) => config_cmd::run(cmd)?,
        Command::Run { config, stdin } => run_cmd::run(config.as_deref(), stdin)?,
        Command::Sizes { json: false } => print_sizes(),
        Command::Sizes { json: true } => print_sizes_json()?,
        Command::Sim(args) => sim_cmd::run(&args)?,
        Command::Status(args) => ops::status(&args)?,
        Command::Ps(args) => ops::ps(&args)?,
        Command::Decisions(args) => ops::decisions(&args)?,
        Command::Scale(args) => ops::scale(&args)?,
        Command::Restart(args) => ops::restart(&args)?,
        Command::Pause(args) => ops::pause(&args)?,
        Command::Resume(args) => ops::resume(&args)?,
        Command::Exec(args) => exec_cmd::run(&args)?,
        Command::Clean(args) => clean_cmd::run(&args)?,
        Command::Completions { shell } => {
            let mut cli = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cli, "dynopilot", &mut std::io::stdout());
        }
        Command::Healthcheck(args) => ops::healthcheck(&args)?,
        Command::Man => {
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut std::io::stdout())?;
        }
        Command::Alert(cmd) => alert_cmd::run(cmd)?,
        Command::Backtest(args) => backtest_cmd::run(&args)?,
    }
    Ok(())
}

fn print_sizes() {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for s in dynopilot_core::SIZES {
        let _ = writeln!(
            out,
            "{:<20} {:>7} MB  compute {:>3}  ${:>7.4}/h  R15 at {:>7.0} MB",
            s.name,
            s.memory_mb,
            s.compute,
            s.dollars_per_hour(),
            s.r15_kill_mb()
        );
    }
}

fn print_sizes_json() -> anyhow::Result<()> {
    let sizes: Vec<serde_json::Value> = dynopilot_core::SIZES
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": s.name,
                "memory_mb": s.memory_mb,
                "compute": s.compute,
                "dollars_per_hour": s.dollars_per_hour(),
                "r15_kill_mb": s.r15_kill_mb(),
            })
        })
        .collect();
    use std::io::Write;
    // A closed pipe (`| head`) is not an error worth a message.
    let _ = writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&sizes)?
    );
    Ok(())
}
