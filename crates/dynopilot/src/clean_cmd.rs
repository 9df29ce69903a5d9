//! `dynopilot clean -a APP --dir /tmp --older-than 48h`: removes old files with one safe
//! command in a new one-off dyno and reports what went (or, with `--dry-run`, what would go);
//! `--print-command` prints that command for the app to run in its own dynos instead. A bad
//! directory is refused before anything is started.

use std::io::Write;
use std::time::Duration;

use dynopilot_heroku::OneOffEnd;
use dynopilot_server::clean::{CleanJob, CleanRun, CleanSpec, run_clean};

use crate::exec_cmd::{ExitWith, OneOffTarget, Session, cancel_on_ctrl_c, ended, parse_duration};

/// `dynopilot clean` arguments.
#[derive(Debug, clap::Args)]
pub struct CleanArgs {
    #[command(flatten)]
    pub target: OneOffTarget,
    /// Directory to clean: /tmp, /app/tmp, /app/log or below (never /, /app or the slug).
    #[arg(long)]
    pub dir: String,
    /// Remove regular files last modified longer ago than this (e.g. 48h, 90m; at least 1m).
    #[arg(long, value_parser = parse_duration)]
    pub older_than: Duration,
    /// Keep files matching this glob (the file name; the whole path when it holds a `/`).
    /// Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// List what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also clean dotfiles and files under dot-directories (kept by default).
    #[arg(long)]
    pub include_dotfiles: bool,
    /// Print the command instead of running it: for the app's own dynos (see
    /// docs/exec-and-clean.md), since a one-off dyno cannot reach their files.
    #[arg(long)]
    pub print_command: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &CleanArgs) -> anyhow::Result<()> {
    // Checked first: a refused directory starts nothing and asks Heroku nothing.
    let spec = CleanSpec::new(
        &args.dir,
        args.older_than,
        args.exclude.clone(),
        args.include_dotfiles,
    )?;
    if args.print_command {
        writeln!(std::io::stdout().lock(), "{}", spec.command(args.dry_run))?;
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(clean(args, spec))
}

async fn clean(args: &CleanArgs, spec: CleanSpec) -> anyhow::Result<()> {
    let session = Session::open(&args.target)?;
    let job = CleanJob {
        spec,
        dry_run: args.dry_run,
        size: session.size(&args.target).await?,
        timeout: args.target.timeout,
    };
    let cancel = cancel_on_ctrl_c();
    let run = run_clean(&session.client, &session.app, &job, &session.tls, &cancel).await?;
    report(args, &job, &run)?;
    for line in &run.output.other {
        eprintln!("{line}");
    }
    eprintln!(
        "note: {} is a new one-off dyno with its own filesystem; running web and worker dynos \
         keep their own /tmp (see docs/exec-and-clean.md and --print-command)",
        run.dyno
    );
    match run.end {
        OneOffEnd::Exited(status) if status != 0 => Err(ExitWith {
            code: u8::try_from(status & 0xff).unwrap_or(1),
            message: Some(format!(
                "find exited with status {status} on {}: some files could not be read or removed",
                run.dyno
            )),
        }
        .into()),
        end => ended(end, &run.dyno, run.stop_error.as_ref(), job.timeout),
    }
}

fn report(args: &CleanArgs, job: &CleanJob, run: &CleanRun) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let files = &run.output.files;
    if args.json {
        let json = serde_json::json!({
            "app": args.target.app,
            "dyno": run.dyno,
            "dir": job.spec.dir(),
            "dry_run": job.dry_run,
            "files": files,
            "file_count": files.len(),
            "bytes": run.output.bytes(),
            "exit_status": match run.end { OneOffEnd::Exited(s) => Some(s), _ => None },
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        return Ok(());
    }
    let verb = if job.dry_run {
        "would remove"
    } else {
        "removed"
    };
    writeln!(
        out,
        "{verb} {} file(s), {} bytes, from {} on {}{}",
        files.len(),
        run.output.bytes(),
        job.spec.dir(),
        run.dyno,
        if job.dry_run {
            " (dry run: nothing removed)"
        } else {
            ""
        }
    )?;
    for file in files {
        writeln!(out, "  {}\t{}", file.bytes, file.path)?;
    }
    Ok(())
}
