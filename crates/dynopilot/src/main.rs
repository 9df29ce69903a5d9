//! The `dynopilot` command line: argument parsing and wiring only; every capability lives in a
//! library crate.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "dynopilot", version, about = "An autopilot for Heroku dynos")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the dyno size table dynopilot uses (memory, compute, price, R15 kill point).
    Sizes,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
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
