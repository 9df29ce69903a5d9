//! `dynopilot backtest`: argument parsing and output for the backtest library — which trace,
//! which scenario, which policies, and where the table, JSON and charts go.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use dynopilot_backtest::{Fidelity, Scenario, Trace, report};

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// `t_seconds,requests_per_second` CSV traces (repeatable); see samples/traces.
    #[arg(long = "trace", value_name = "FILE.csv")]
    traces: Vec<PathBuf>,
    /// Derive the trace and mean service time from router lines (`heroku logs` output).
    #[arg(long, value_name = "FILE")]
    from_logs: Option<PathBuf>,
    /// Replay an app's own history from dynopilot's store (per-minute router rollups of `web`).
    #[arg(long, requires = "app")]
    from_store: bool,
    /// The app whose history `--from-store` replays.
    #[arg(long)]
    app: Option<String>,
    /// How far back `--from-store` reads, e.g. `7d`, `36h`.
    #[arg(long, default_value = "7d")]
    since: String,
    /// Store URL for `--from-store` (default: `DATABASE_URL`, else the daemon's default file).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    store: Option<String>,
    /// Scenario TOML (threads, service_ms, boot_s, size, min, max, late_ms, …); flags override it.
    #[arg(long, value_name = "FILE.toml")]
    scenario: Option<PathBuf>,
    /// Rescale each trace so its peak is this many requests per second.
    #[arg(long, value_name = "RPS", conflicts_with = "peak_dynos")]
    peak_rps: Option<f64>,
    /// Rescale each trace so its peak needs this many dynos at `--peak-busy` (e.g. 20 at 0.7).
    #[arg(long, value_name = "N")]
    peak_dynos: Option<u32>,
    #[arg(long, value_name = "SHARE", default_value_t = 0.7)]
    peak_busy: f64,
    /// Start of the time range to replay (seconds into the trace).
    #[arg(long = "from-s", value_name = "S", default_value_t = 0.0)]
    from_s: f64,
    /// End of the time range to replay (seconds into the trace).
    #[arg(long = "to-s", value_name = "S")]
    to_s: Option<f64>,
    #[arg(long)]
    threads: Option<u32>,
    #[arg(long, value_name = "MS")]
    service_ms: Option<f64>,
    #[arg(long, value_name = "S")]
    boot_s: Option<f64>,
    /// Dyno size name (price from `dynopilot sizes`).
    #[arg(long)]
    size: Option<String>,
    #[arg(long)]
    min: Option<u32>,
    #[arg(long)]
    max: Option<u32>,
    /// A request is late when its queue wait exceeds this (ms).
    #[arg(long, value_name = "MS")]
    late_ms: Option<f64>,
    /// Model step in seconds (60 for months of traffic).
    #[arg(long, value_name = "S")]
    resolution_s: Option<f64>,
    #[arg(long)]
    seed: Option<u64>,
    /// Policy to run (repeatable): dynopilot, dynopilot-streak, …, judoscale, hirefire, …
    #[arg(long = "policy", value_name = "NAME")]
    policies: Vec<String>,
    /// Run every policy and peer.
    #[arg(long)]
    all: bool,
    /// `fast` (queueing model) or `exact` (every request simulated).
    #[arg(long, default_value = "fast", value_parser = ["fast", "exact"])]
    fidelity: String,
    /// Print JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Write SVG and PNG charts into this directory.
    #[arg(long, value_name = "DIR")]
    charts: Option<PathBuf>,
}

pub fn run(args: &BacktestArgs) -> anyhow::Result<()> {
    let mut scenario = match &args.scenario {
        Some(p) => Scenario::from_toml(&read(p)?).with_context(|| p.display().to_string())?,
        None => Scenario::default(),
    };
    let mut traces = Vec::new();
    for path in &args.traces {
        let trace = Trace::from_csv(&read(path)?).with_context(|| path.display().to_string())?;
        traces.push((name_of(path), trace));
    }
    if let Some(path) = &args.from_logs {
        let derived = dynopilot_backtest::logs::from_lines(&read(path)?, 60)
            .with_context(|| path.display().to_string())?;
        if derived.service_mean_ms > 0.0 && args.service_ms.is_none() {
            scenario.service_ms = derived.service_mean_ms;
        }
        eprintln!(
            "{}: {} router lines ({} other lines skipped), mean service {:.0} ms",
            path.display(),
            derived.router_lines,
            derived.skipped,
            derived.service_mean_ms
        );
        traces.push((name_of(path), derived.trace));
    }
    if args.from_store {
        let app = args.app.clone().unwrap_or_default();
        let derived = from_store(args, &app)?;
        if derived.service_mean_ms > 0.0 && args.service_ms.is_none() {
            scenario.service_ms = derived.service_mean_ms;
        }
        traces.push((app, derived.trace));
    }
    if traces.is_empty() {
        bail!("give at least one --trace FILE.csv, --from-logs FILE or --from-store --app NAME");
    }
    apply_flags(args, &mut scenario);
    scenario.validate()?;
    let policies = if args.all || args.policies.is_empty() {
        report::all_policies()
    } else {
        args.policies.clone()
    };
    let fidelity = if args.fidelity == "exact" {
        Fidelity::Exact
    } else {
        Fidelity::Fast
    };
    let mut reports = Vec::new();
    // Hidden by indicatif itself when stderr is not a terminal.
    let bar = indicatif::ProgressBar::new((traces.len() * (policies.len() + 1)) as u64);
    for (name, trace) in traces {
        let trace = shape(args, &scenario, trace)?;
        bar.set_message(name.clone());
        let (report, runs) =
            report::compare(&name, &trace, &scenario, fidelity, &policies, &mut |_| {
                bar.inc(1)
            })?;
        if let Some(dir) = &args.charts {
            let files = crate::backtest_charts::write(dir, &report, &runs)?;
            eprintln!("{}: {} chart files in {}", name, files.len(), dir.display());
        }
        reports.push(report);
    }
    bar.finish_and_clear();
    if args.json {
        let body: Vec<String> = reports.iter().map(|r| r.json()).collect();
        println!("[{}]", body.join(",\n"));
    } else {
        for r in &reports {
            println!("{}", r.table());
        }
    }
    Ok(())
}

/// Reads the app's rollups for the last `--since` (the only I/O of a backtest, done here).
fn from_store(
    args: &BacktestArgs,
    app: &str,
) -> anyhow::Result<dynopilot_backtest::logs::FromLogs> {
    let since: jiff::Span = args.since.parse().with_context(|| {
        format!(
            "--since `{}`: expected a duration such as 7d or 36h",
            args.since
        )
    })?;
    let now = dynopilot_core::Clock::now(&dynopilot_clock::SystemClock);
    let back = since.to_duration(jiff::SpanRelativeTo::days_are_24_hours())?;
    let back_ms = i64::try_from(back.as_millis()).unwrap_or(i64::MAX);
    let start = dynopilot_core::Timestamp::from_millis(now.as_millis().saturating_sub(back_ms));
    let url = args
        .store
        .clone()
        .unwrap_or_else(|| "sqlite://dynopilot.sqlite".to_owned()); // the daemon's default store
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let rollups = runtime.block_on(async {
        let store = dynopilot_store::open(&url).await?;
        let range = dynopilot_store::TimeRange { start, end: now };
        let rollups = store
            .rollups(app, "web", range, std::time::Duration::from_secs(60))
            .await;
        let _ = store.close().await;
        rollups
    })?;
    Ok(dynopilot_backtest::history::from_rollups(app, &rollups)?)
}

fn shape(args: &BacktestArgs, s: &Scenario, trace: Trace) -> anyhow::Result<Trace> {
    let trace = trace.range(args.from_s, args.to_s)?;
    let peak = match (args.peak_rps, args.peak_dynos) {
        (Some(rps), _) => Some(rps),
        (None, Some(n)) => Some(s.rps_for(n, args.peak_busy)),
        (None, None) => None,
    };
    Ok(match peak {
        Some(p) => trace.rescaled_to_peak(p)?,
        None => trace,
    })
}

fn apply_flags(args: &BacktestArgs, s: &mut Scenario) {
    if let Some(v) = args.threads {
        s.threads = v;
    }
    if let Some(v) = args.service_ms {
        s.service_ms = v;
    }
    if let Some(v) = args.boot_s {
        s.boot_s = v;
    }
    if let Some(v) = &args.size {
        s.size = v.clone();
    }
    if let Some(v) = args.min {
        s.min = v;
    }
    if let Some(v) = args.max {
        s.max = v;
    }
    if let Some(v) = args.late_ms {
        s.late_ms = v;
    }
    if let Some(v) = args.resolution_s {
        s.resolution_s = v;
        s.evaluate_every_s = s.evaluate_every_s.max(v);
    }
    if let Some(v) = args.seed {
        s.seed = v;
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn name_of(path: &Path) -> String {
    path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}
