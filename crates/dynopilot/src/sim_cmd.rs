//! `dynopilot sim`: runs the simulated Heroku in real time with the demo workload until
//! Ctrl-C, optionally injecting faults (`--faults` or the `[faults]` table of `--config`), and
//! prints where it listens and the API key to use.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use dynopilot_clock::SystemClock;
use dynopilot_core::Clock;
use dynopilot_sim::{FaultPlan, SimConfig, SimFile, Simulator};

const DEFAULT_PORT: u16 = 5050;
const DEFAULT_APPS: u32 = 1;

/// The `sim` subcommand's arguments.
#[derive(Debug, clap::Args)]
#[command(after_long_help = FAULTS_HELP)]
pub struct SimArgs {
    /// Port on 127.0.0.1 to listen on [default: 5050].
    #[arg(long)]
    port: Option<u16>,
    /// Number of demo apps to create [default: 1].
    #[arg(long)]
    apps: Option<u32>,
    /// Faults to inject into Platform API requests, e.g.
    /// `apply-then-fail=1:DELETE /apps/*/dynos/*:count=1,latency=200ms,reset=0.05,seed=7`
    /// (see below and docs/simulator-faults.md). Replaces the config file's faults.
    #[arg(long, value_name = "SPEC")]
    faults: Option<String>,
    /// A simulator TOML file (port, apps, [faults]); see docs/sim.example.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

const FAULTS_HELP: &str = "\
Fault SPEC: rules separated by `,`, each `KIND=VALUE` then `:`-separated fields.
  5xx=RATE               answer 503 (or answer=5NN) before the handler; nothing is applied
  429-burst=LEN/EVERY    LEN answers of 429 every EVERY matching requests
  latency=DURATION       wait before handling (200ms, 1.5s; at most 60s); rate=RATE optional
  reset=RATE             drop the connection without an answer; nothing is applied
  apply-then-fail=RATE   apply the write, then answer 503 (answer=5NN) or drop the
                         connection (answer=reset)
  seed=N                 seed of the random draws (same seed, same faults)
Fields: `METHOD`, `/path/glob` or `METHOD /path/glob` (`*` = one segment, final `**` = any
rest), count=N (the rule fires at most N times). RATE is between 0 and 1.
Rules are tried in order for every API request; the first that fires decides the answer,
latencies add up. GET /_sim/actions lists the writes that landed; GET /_sim/faults the rules
and what they injected.";

/// The settings from the file, overridden by the flags; an unusable spec or file is an error
/// naming the key and where it is.
fn resolve(args: &SimArgs) -> anyhow::Result<(u16, u32, FaultPlan)> {
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            SimFile::from_toml(&text, &path.display().to_string())?
        }
        None => SimFile::default(),
    };
    let faults = match &args.faults {
        Some(spec) => FaultPlan::parse(spec, "--faults")?,
        None => file.faults,
    };
    let port = args.port.or(file.port).unwrap_or(DEFAULT_PORT);
    let apps = args.apps.or(file.apps).unwrap_or(DEFAULT_APPS).max(1);
    Ok((port, apps, faults))
}

/// Starts the simulator on `127.0.0.1:port` with the demo apps and serves until Ctrl-C.
pub fn run(args: &SimArgs) -> anyhow::Result<()> {
    let (port, apps, faults) = resolve(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut config = SimConfig::demo(apps);
        config.addr = SocketAddr::from(([127, 0, 0, 1], port));
        config.faults = faults.clone();
        let names: Vec<String> = config.apps.iter().map(|a| a.name.clone()).collect();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let handle = Simulator::start(config, clock).await?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "Simulated Heroku Platform API at {}", handle.base_url)?;
        writeln!(out, "API key: {}", handle.token)?;
        writeln!(out, "Apps: {}", names.join(", "))?;
        print_faults(&mut out, &faults, &handle.base_url)?;
        writeln!(
            out,
            "Try: curl -H 'Authorization: Bearer {}' -H 'Accept: application/vnd.heroku+json; version=3' {}/apps/{}/dynos",
            handle.token,
            handle.base_url,
            names.first().map_or("demo-app-1", String::as_str)
        )?;
        writeln!(
            out,
            "Official CLI: HEROKU_HOST={} HEROKU_API_KEY={} heroku ps -a {} (see docs/simulator-heroku-cli.md)",
            handle.base_url,
            handle.token,
            names.first().map_or("demo-app-1", String::as_str)
        )?;
        writeln!(out, "Press Ctrl-C to stop.")?;
        drop(out);
        tokio::signal::ctrl_c().await?;
        handle.shutdown();
        Ok(())
    })
}

fn print_faults(out: &mut impl Write, faults: &FaultPlan, base_url: &str) -> std::io::Result<()> {
    if faults.rules.is_empty() {
        return writeln!(out, "Faults: none");
    }
    writeln!(out, "Faults (seed {}):", faults.seed)?;
    for rule in &faults.rules {
        writeln!(out, "  {rule}")?;
    }
    writeln!(out, "Applied actions: {base_url}/_sim/actions")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(faults: Option<&str>, config: Option<PathBuf>) -> SimArgs {
        SimArgs {
            port: None,
            apps: None,
            faults: faults.map(str::to_string),
            config,
        }
    }

    #[test]
    fn a_bad_spec_is_an_error_naming_the_key_and_column() {
        let err = resolve(&args(Some("latency=50ms,reset=1.5"), None)).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "--faults, column 14: `reset`: rate must be between 0 and 1, got 1.5"
        );
        let err = resolve(&args(Some("jitter=5ms"), None)).unwrap_err();
        assert!(
            format!("{err:#}").contains("`jitter`: unknown fault"),
            "{err:#}"
        );
    }

    #[test]
    fn flags_override_the_file_and_the_example_file_loads() {
        let example = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/sim.example.toml"
        ));
        let (port, apps, faults) = resolve(&args(None, Some(example.clone()))).unwrap();
        assert_eq!(
            (port, apps, faults.rules.len(), faults.seed),
            (5050, 1, 3, 42)
        );
        let (_, _, faults) = resolve(&args(Some("5xx=0.1"), Some(example))).unwrap();
        assert_eq!(faults.rules.len(), 1);
        assert_eq!(faults.seed, 0);
    }
}
