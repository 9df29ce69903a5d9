//! An app's log output: owned log records, the 1500-line history log sessions replay, and the
//! live fan-out to tailing sessions.

use std::collections::VecDeque;
use std::sync::Arc;

use dynopilot_core::Timestamp;
use dynopilot_logplex::encode::{self, Record};
use tokio::sync::broadcast;

/// Lines Logplex keeps per app for `heroku logs` (`log_history`).
pub const HISTORY_LINES: usize = 1500;
/// Live lines a slow tailing session may fall behind before it skips some.
const LIVE_CAPACITY: usize = 4096;

/// One log message as the world emitted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub at: Timestamp,
    /// `app` or `heroku`.
    pub source: String,
    /// `web.1`, `router`, `api`, `logplex`, …
    pub process: String,
    pub message: String,
}

impl LogRecord {
    pub fn new(
        at: Timestamp,
        source: impl Into<String>,
        process: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        LogRecord {
            at,
            source: source.into(),
            process: process.into(),
            message: message.into(),
        }
    }

    /// Calls `f` with the encoder's view of this record (the timestamp formatted as Heroku's).
    pub fn with_record<R>(&self, f: impl FnOnce(&Record<'_>) -> R) -> R {
        let timestamp = dynopilot_logplex::timestamp::format(self.at);
        f(&Record {
            priority: encode::default_priority(&self.source, &self.process),
            timestamp: &timestamp,
            source: &self.source,
            process: &self.process,
            message: &self.message,
        })
    }

    /// The `heroku logs` line, newline included.
    pub fn to_line(&self) -> String {
        let mut out = String::new();
        self.with_record(|r| encode::push_line(&mut out, r));
        out
    }
}

/// Which lines a log session wants (`dyno_name`/`type` and `source`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// Exact process name, or a process type matching `<type>.N` (as Logplex does).
    pub dyno: Option<String>,
    pub source: Option<String>,
}

impl LogFilter {
    pub fn matches(&self, record: &LogRecord) -> bool {
        let dyno_ok = self.dyno.as_deref().is_none_or(|want| {
            record.process == want
                || record
                    .process
                    .strip_prefix(want)
                    .is_some_and(|rest| rest.starts_with('.'))
        });
        let source_ok = self.source.as_deref().is_none_or(|s| record.source == s);
        dyno_ok && source_ok
    }
}

/// An app's history and live channel.
#[derive(Debug)]
pub struct AppLog {
    history: VecDeque<Arc<LogRecord>>,
    live: broadcast::Sender<Arc<LogRecord>>,
}

impl Default for AppLog {
    fn default() -> Self {
        AppLog {
            history: VecDeque::with_capacity(HISTORY_LINES),
            live: broadcast::channel(LIVE_CAPACITY).0,
        }
    }
}

impl AppLog {
    /// Records a line in the history and sends it to every tailing session.
    pub fn push(&mut self, record: Arc<LogRecord>) {
        if self.history.len() == HISTORY_LINES {
            self.history.pop_front();
        }
        self.history.push_back(Arc::clone(&record));
        // No receivers is fine: nobody is tailing.
        let _ = self.live.send(record);
    }

    /// The last `lines` records matching `filter`, oldest first, plus a live receiver that
    /// starts right after them (taken together so no line is lost or doubled).
    pub fn backlog_and_subscribe(
        &self,
        filter: &LogFilter,
        lines: usize,
    ) -> (Vec<Arc<LogRecord>>, broadcast::Receiver<Arc<LogRecord>>) {
        let mut backlog: Vec<Arc<LogRecord>> = self
            .history
            .iter()
            .rev()
            .filter(|r| filter.matches(r))
            .take(lines)
            .cloned()
            .collect();
        backlog.reverse();
        (backlog, self.live.subscribe())
    }

    pub fn history_len(&self) -> usize {
        self.history.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(process: &str, message: &str) -> Arc<LogRecord> {
        Arc::new(LogRecord::new(
            Timestamp::from_secs(1_700_000_000),
            "app",
            process,
            message,
        ))
    }

    #[test]
    fn line_has_heroku_logs_shape() {
        let line = rec("web.1", "hello").to_line();
        assert!(line.ends_with(" app[web.1]: hello\n"), "{line}");
        let parsed = dynopilot_logplex::parse_line(line.as_bytes()).unwrap();
        assert_eq!(parsed.process, "web.1");
    }

    #[test]
    fn filter_matches_exact_name_or_type_prefix_and_source() {
        let by_type = LogFilter {
            dyno: Some("web".into()),
            source: None,
        };
        assert!(by_type.matches(&rec("web.1", "x")));
        assert!(!by_type.matches(&rec("webhook.1", "x")));
        assert!(!by_type.matches(&rec("worker.1", "x")));
        let by_source = LogFilter {
            dyno: None,
            source: Some("heroku".into()),
        };
        assert!(!by_source.matches(&rec("web.1", "x")));
    }

    #[test]
    fn history_keeps_the_last_1500_and_backlog_takes_the_newest() {
        let mut log = AppLog::default();
        for i in 0..HISTORY_LINES + 10 {
            log.push(rec("web.1", &i.to_string()));
        }
        assert_eq!(log.history_len(), HISTORY_LINES);
        let (backlog, _rx) = log.backlog_and_subscribe(&LogFilter::default(), 3);
        let texts: Vec<&str> = backlog.iter().map(|r| r.message.as_str()).collect();
        assert_eq!(texts, ["1507", "1508", "1509"]);
    }
}
