//! `dynopilot analyze`: reads drain captures or `heroku logs` output (files or stdin) and prints
//! a health summary, or one JSON object per entry with `--json`.

mod input;
mod json;
mod progress;
mod report;
mod summary;

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use dynopilot_logplex::{Message, parse_message_checked};

pub use input::InputStats;
pub use summary::Summary;

/// Analyses every input in order (`-` is stdin) and writes the result to `out`.
pub fn run(inputs: &[PathBuf], as_json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let mut stats = InputStats::default();
    let mut summary = Summary::default();
    let mut json_error = None;
    for path in inputs {
        let reader = open(path)?;
        input::read_all(reader, &mut stats, |entry| {
            let message =
                parse_message_checked(entry.source, entry.process, entry.text, entry.message);
            if matches!(message, Message::Other("")) && std::str::from_utf8(entry.message).is_err()
            {
                summary.not_utf8 += 1;
            }
            if as_json {
                if json_error.is_none() {
                    let value = json::entry_json(&entry, &message);
                    if let Err(e) = serde_json::to_writer(&mut *out, &value)
                        .map_err(io::Error::from)
                        .and_then(|()| out.write_all(b"\n"))
                    {
                        json_error = Some(e);
                    }
                }
            } else {
                summary.observe(entry.timestamp, entry.process, &message);
            }
        });
        if let Some(e) = json_error.take() {
            return Err(e).context("writing JSON output");
        }
    }
    if as_json {
        report_problems_to_stderr(&stats, &summary);
    } else {
        summary.finish();
        out.write_all(report::render(&summary, &stats, inputs.len()).as_bytes())?;
    }
    out.flush()?;
    // What was read is reported above; the exit code still says the input was not all read.
    if let Some(first) = stats.read_errors.first() {
        anyhow::bail!(
            "{} read error(s); the first: {first}",
            stats.read_errors.len()
        );
    }
    Ok(())
}

fn open(path: &PathBuf) -> anyhow::Result<Box<dyn Read>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(io::stdin().lock()));
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        anyhow::bail!(
            "cannot read {}: it is a directory (give the log files in it)",
            path.display()
        );
    }
    Ok(progress::wrap(file, path, meta.len()))
}

/// With `--json` stdout is data, so problems go to stderr.
fn report_problems_to_stderr(stats: &InputStats, summary: &Summary) {
    let skipped =
        stats.frame_issues + stats.unparseable_lines + stats.oversized_lines + summary.not_utf8;
    if skipped > 0 || !stats.read_errors.is_empty() {
        eprintln!(
            "dynopilot analyze: {} framing issue(s), {} unparseable line(s), {} oversized line(s), {} non-UTF-8 message(s), {} read error(s)",
            stats.frame_issues,
            stats.unparseable_lines,
            stats.oversized_lines,
            summary.not_utf8,
            stats.read_errors.len()
        );
    }
}

/// Buffered stdout for the CLI.
pub fn stdout() -> BufWriter<io::StdoutLock<'static>> {
    BufWriter::with_capacity(1 << 16, io::stdout().lock())
}
