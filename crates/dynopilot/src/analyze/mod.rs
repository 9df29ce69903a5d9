//! `dynopilot analyze`: reads drain captures, `heroku logs` output or syslog files (files or
//! stdin) and prints a health summary, or one JSON object per record with `--json`.

mod input;
mod json;
mod progress;
mod report;
mod shapes;
mod summary;

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use dynopilot_logplex::{Message, parse_message_checked};

pub use input::InputStats;
use input::{Record, Sink};
pub use summary::Summary;

/// Analyses every input in order (`-` is stdin) and writes the result to `out`.
pub fn run(inputs: &[PathBuf], as_json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let mut stats = InputStats::default();
    let two = two_threads();
    if as_json {
        let mut sink = JsonSink::default();
        for path in inputs {
            input::read_all(open(path)?, &mut stats, two, &mut sink, |sink| {
                out.write_all(&sink.buffer)?;
                sink.buffer.clear();
                Ok(())
            })
            .context("writing JSON output")?;
        }
        report_problems_to_stderr(&stats, sink.not_utf8);
    } else {
        let mut sink = SummarySink::default();
        for path in inputs {
            input::read_all(open(path)?, &mut stats, two, &mut sink, |_| Ok(()))?;
        }
        let mut summary = sink.0;
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

/// Text is read on two threads when there are two cores, unless `DYNOPILOT_ANALYZE_THREADS=1`
/// (for comparing, and for machines where the second core is needed elsewhere).
fn two_threads() -> bool {
    let asked = std::env::var("DYNOPILOT_ANALYZE_THREADS").ok();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    asked.as_deref() != Some("1") && cores > 1
}

/// Classifies a readable entry; a message that is not UTF-8 is counted.
fn classify<'a>(entry: &input::Entry<'a>, not_utf8: &mut u64) -> Message<'a> {
    let message = parse_message_checked(entry.source, entry.process, entry.text, entry.message);
    if matches!(message, Message::Other("")) && std::str::from_utf8(entry.message).is_err() {
        *not_utf8 += 1;
    }
    message
}

/// Builds the summary.
#[derive(Default)]
struct SummarySink(Summary);

impl Sink for SummarySink {
    fn record(&mut self, record: Record<'_>) {
        match record {
            Record::Log(entry) => {
                let message = classify(&entry, &mut self.0.not_utf8);
                self.0.observe(entry.timestamp, entry.process, &message);
            }
            Record::Unknown(raw) => self.0.observe_unknown_line(raw),
        }
    }

    fn fork(&self) -> Self {
        Self::default()
    }

    fn join(&mut self, later: Self) {
        self.0.join(later.0);
    }
}

/// Writes NDJSON into a buffer that the caller empties after every chunk of input.
#[derive(Default)]
struct JsonSink {
    buffer: Vec<u8>,
    not_utf8: u64,
}

impl Sink for JsonSink {
    fn record(&mut self, record: Record<'_>) {
        match record {
            Record::Log(entry) => {
                let message = classify(&entry, &mut self.not_utf8);
                json::push_entry(&mut self.buffer, &entry, &message);
            }
            Record::Unknown(raw) => json::push_unknown(&mut self.buffer, raw),
        }
    }

    fn fork(&self) -> Self {
        Self::default()
    }

    fn join(&mut self, later: Self) {
        self.buffer.extend_from_slice(&later.buffer);
        self.not_utf8 += later.not_utf8;
    }
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
fn report_problems_to_stderr(stats: &InputStats, not_utf8: u64) {
    let skipped = stats.frame_issues + stats.unknown_lines + stats.oversized_lines + not_utf8;
    if skipped > 0 || !stats.read_errors.is_empty() {
        eprintln!(
            "dynopilot analyze: {} framing issue(s), {} line(s) of unknown layout (kind unknown), {} oversized line(s), {} non-UTF-8 message(s), {} read error(s)",
            stats.frame_issues,
            stats.unknown_lines,
            stats.oversized_lines,
            not_utf8,
            stats.read_errors.len()
        );
    }
}

/// Buffered stdout for the CLI.
pub fn stdout() -> BufWriter<io::StdoutLock<'static>> {
    BufWriter::with_capacity(1 << 16, io::stdout().lock())
}
