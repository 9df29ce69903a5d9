//! Where the model's log lines go: the `LogSink` trait, the `LogEntry` record, and two sinks
//! (collect everything; count without formatting) for tests and benchmarks.

use dynopilot_core::Timestamp;
use dynopilot_logplex::encode::{self, Record};
use dynopilot_logplex::timestamp;

/// One log line as Heroku would deliver it: `TIME SOURCE[PROCESS]: MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub at: Timestamp,
    /// `app` or `heroku`.
    pub source: &'static str,
    /// `router`, `api`, `web.1`, …
    pub process: String,
    pub message: String,
}

impl LogEntry {
    /// The `heroku logs` form of this line (no trailing newline).
    pub fn to_line(&self) -> String {
        let stamp = timestamp::format(self.at);
        let mut out = String::with_capacity(stamp.len() + self.message.len() + 32);
        encode::push_line(&mut out, &self.record(&stamp));
        out.pop();
        out
    }

    /// A borrowed encoder record (priority as Heroku typically sets it) for drain frames.
    pub fn record<'a>(&'a self, stamp: &'a str) -> Record<'a> {
        Record {
            priority: encode::default_priority(self.source, &self.process),
            timestamp: stamp,
            source: self.source,
            process: &self.process,
            message: &self.message,
        }
    }
}

/// Receives the model's lines in time order.
pub trait LogSink {
    /// Whether the sink wants the text of a line from `source[process]`. Returning `false`
    /// lets the model skip formatting it (the hot path at 500 rps); the line still happened and
    /// is still in the ground truth.
    fn wants(&mut self, source: &'static str, process: &str) -> bool {
        let _ = (source, process);
        true
    }

    fn log(&mut self, line: LogEntry);
}

/// Keeps every line.
#[derive(Debug, Default)]
pub struct VecSink {
    pub lines: Vec<LogEntry>,
}

impl LogSink for VecSink {
    fn log(&mut self, line: LogEntry) {
        self.lines.push(line);
    }
}

/// Counts lines without formatting any (benchmarks, long backtests).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CountingSink {
    pub router: u64,
    pub other: u64,
}

impl LogSink for CountingSink {
    fn wants(&mut self, _source: &'static str, process: &str) -> bool {
        if process == "router" {
            self.router += 1;
        } else {
            self.other += 1;
        }
        false
    }

    fn log(&mut self, _line: LogEntry) {}
}

/// Discards everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl LogSink for NullSink {
    fn wants(&mut self, _source: &'static str, _process: &str) -> bool {
        false
    }

    fn log(&mut self, _line: LogEntry) {}
}
