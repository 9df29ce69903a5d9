//! The `dynopilot` command line: argument parsing and wiring only; every capability lives in a
//! library crate.

mod analyze;

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
    /// Print the dyno size table dynopilot uses (memory, compute, price, R15 kill point).
    Sizes,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Analyze { files, json } => analyze::run(&files, json, &mut analyze::stdout())?,
        Command::Sizes => print_sizes(),
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
