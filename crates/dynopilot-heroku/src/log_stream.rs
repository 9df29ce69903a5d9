//! Streaming a log session as lines, reconnecting when Heroku ends a tailing session.
//!
//! A log session's `logplex_url` answers a chunked text body, one log line per `\n`, with
//! single NUL bytes sent as heartbeats; asked with `Accept: text/event-stream` (as the official
//! CLI's EventSource does) it answers Server-Sent Events instead, one `data:` field per line.
//! Both are read, by the answer's `Content-Type`. Heroku closes tailing sessions after a while (about
//! 15 minutes), so with `tail` set we create a fresh session and carry on. Reconnects ask for
//! `lines: 0` by default so the backlog is not replayed (which would double-count events).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::client::HerokuClient;
use crate::error::HerokuError;
use crate::wire::LogSessionCreate;

/// Longest line kept whole; Heroku splits log lines at 10000 bytes, so anything longer is
/// junk and is cut here rather than growing the buffer without bound.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Splits a byte stream into lines: drops NUL heartbeats, strips `\r`, skips empty lines.
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    pub fn new() -> Self {
        LineSplitter::default()
    }

    /// Feeds one chunk; `emit` receives each completed line (without its newline).
    pub fn push(&mut self, chunk: &[u8], emit: &mut dyn FnMut(&str)) {
        for &byte in chunk {
            match byte {
                0 => {}
                b'\n' => self.flush(emit),
                _ => {
                    self.buf.push(byte);
                    if self.buf.len() >= MAX_LINE_BYTES {
                        self.flush(emit);
                    }
                }
            }
        }
    }

    /// Emits a final unterminated line, if any (the stream ended).
    pub fn finish(&mut self, emit: &mut dyn FnMut(&str)) {
        self.flush(emit);
    }

    fn flush(&mut self, emit: &mut dyn FnMut(&str)) {
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if !self.buf.is_empty() {
            emit(&String::from_utf8_lossy(&self.buf));
        }
        self.buf.clear();
    }
}

/// Turns a Server-Sent Events stream into log lines: each `data:` field is one line; comments
/// (`:` heartbeats), `id:`, `event:`, `retry:` and the blank lines between events are dropped.
#[derive(Debug, Default)]
pub struct EventStreamSplitter {
    lines: LineSplitter,
}

impl EventStreamSplitter {
    pub fn new() -> Self {
        EventStreamSplitter::default()
    }

    /// Feeds one chunk; `emit` receives each log line carried by a `data:` field.
    pub fn push(&mut self, chunk: &[u8], emit: &mut dyn FnMut(&str)) {
        self.lines.push(chunk, &mut |field| data_field(field, emit));
    }

    /// Emits a final unterminated field, if it is data.
    pub fn finish(&mut self, emit: &mut dyn FnMut(&str)) {
        self.lines.finish(&mut |field| data_field(field, emit));
    }
}

fn data_field(field: &str, emit: &mut dyn FnMut(&str)) {
    if let Some(value) = field.strip_prefix("data:") {
        let value = value.strip_prefix(' ').unwrap_or(value);
        if !value.is_empty() {
            emit(value);
        }
    }
}

/// One session's body, split by the framing its `Content-Type` names.
enum Splitter {
    Plain(LineSplitter),
    Events(EventStreamSplitter),
}

impl Splitter {
    fn for_response(response: &reqwest::Response) -> Splitter {
        let events = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
        if events {
            Splitter::Events(EventStreamSplitter::new())
        } else {
            Splitter::Plain(LineSplitter::new())
        }
    }

    fn push(&mut self, chunk: &[u8], emit: &mut dyn FnMut(&str)) {
        match self {
            Splitter::Plain(s) => s.push(chunk, emit),
            Splitter::Events(s) => s.push(chunk, emit),
        }
    }

    fn finish(&mut self, emit: &mut dyn FnMut(&str)) {
        match self {
            Splitter::Plain(s) => s.finish(emit),
            Splitter::Events(s) => s.finish(emit),
        }
    }
}

/// How [`HerokuClient::stream_logs`] behaves around reconnects.
#[derive(Debug, Clone, PartialEq)]
pub struct LogStreamOptions {
    /// A stream silent (not even a heartbeat) this long is treated as dead.
    pub idle_timeout: Duration,
    /// `lines` asked for when reconnecting (None = Heroku's default backlog).
    pub reconnect_lines: Option<u32>,
    /// Give up after this many reconnects in a row that produced no data.
    pub max_failed_reconnects: u32,
    /// Ask for Server-Sent Events (`Accept: text/event-stream`) instead of plain text.
    pub event_stream: bool,
}

impl Default for LogStreamOptions {
    fn default() -> Self {
        LogStreamOptions {
            idle_timeout: Duration::from_secs(30),
            reconnect_lines: Some(0),
            max_failed_reconnects: 10,
            event_stream: false,
        }
    }
}

/// Why a log stream stopped without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The cancellation token fired.
    Cancelled,
    /// A non-tailing session delivered its backlog and ended.
    Finished,
}

enum SessionOutcome {
    Cancelled,
    Ended { got_data: bool },
}

impl HerokuClient {
    /// Creates a log session for `app` and passes every line to `on_line` until the session
    /// ends (without `tail`), `cancel` fires, or reconnecting keeps failing.
    pub async fn stream_logs(
        &self,
        app: &str,
        create: LogSessionCreate,
        options: &LogStreamOptions,
        cancel: &CancellationToken,
        on_line: &mut (dyn FnMut(&str) + Send),
    ) -> Result<StreamEnd, HerokuError> {
        let tail = create.tail == Some(true);
        let mut create = create;
        let mut failures = 0u32;
        loop {
            let session = tokio::select! {
                () = cancel.cancelled() => return Ok(StreamEnd::Cancelled),
                session = self.log_session_create(app, &create) => session?,
            };
            let outcome = self
                .read_session(&session.logplex_url, options, cancel, on_line)
                .await;
            match outcome {
                Ok(SessionOutcome::Cancelled) => return Ok(StreamEnd::Cancelled),
                Ok(SessionOutcome::Ended { .. }) if !tail => return Ok(StreamEnd::Finished),
                Ok(SessionOutcome::Ended { got_data: true }) => failures = 0,
                Ok(SessionOutcome::Ended { got_data: false }) => failures += 1,
                // 403/404 on a session URL means it expired: a new session fixes that.
                Err(err) if tail && stream_error_is_recoverable(&err) => {
                    tracing::debug!(error = %err, "log stream broke; reconnecting");
                    failures += 1;
                    if failures > options.max_failed_reconnects {
                        return Err(err);
                    }
                }
                Err(err) => return Err(err),
            }
            if failures > options.max_failed_reconnects {
                return Err(HerokuError::Transport {
                    message: format!("log stream ended {failures} times without data"),
                });
            }
            if failures > 0 {
                let delay = self.retry_policy().backoff(failures, &*self.jitter);
                tokio::select! {
                    () = cancel.cancelled() => return Ok(StreamEnd::Cancelled),
                    () = self.clock.sleep(delay) => {}
                }
            }
            create.lines = options.reconnect_lines;
        }
    }

    async fn read_session(
        &self,
        url: &str,
        options: &LogStreamOptions,
        cancel: &CancellationToken,
        on_line: &mut (dyn FnMut(&str) + Send),
    ) -> Result<SessionOutcome, HerokuError> {
        let mut response = tokio::select! {
            () = cancel.cancelled() => return Ok(SessionOutcome::Cancelled),
            response = self.open_stream(url, options.event_stream) => response?,
        };
        let mut splitter = Splitter::for_response(&response);
        let mut got_data = false;
        loop {
            let chunk = tokio::select! {
                () = cancel.cancelled() => return Ok(SessionOutcome::Cancelled),
                () = self.clock.sleep(options.idle_timeout) => {
                    return Err(HerokuError::Transport {
                        message: format!("log stream silent for {:?}", options.idle_timeout),
                    });
                }
                chunk = response.chunk() => chunk.map_err(HerokuError::transport)?,
            };
            let Some(chunk) = chunk else {
                splitter.finish(on_line);
                return Ok(SessionOutcome::Ended { got_data });
            };
            // Heartbeats (a NUL, or an SSE comment) are not data.
            got_data |= match splitter {
                Splitter::Plain(_) => chunk.iter().any(|&b| b != 0),
                Splitter::Events(_) => chunk.windows(5).any(|w| w == b"data:"),
            };
            splitter.push(&chunk, on_line);
        }
    }
}

fn stream_error_is_recoverable(err: &HerokuError) -> bool {
    err.is_retryable()
        || matches!(
            err,
            HerokuError::NotFound { .. } | HerokuError::Forbidden { .. }
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut splitter = LineSplitter::new();
        let mut emit = |l: &str| lines.push(l.to_string());
        for chunk in chunks {
            splitter.push(chunk, &mut emit);
        }
        splitter.finish(&mut emit);
        lines
    }

    #[test]
    fn drops_nul_heartbeats_and_joins_lines_across_chunks() {
        let lines = split(&[
            b"\0",
            b"2024-01-01T00:00:00+00:00 app[web.1]: hel",
            b"\0lo\r\n\0",
            b"\0\n2024-01-01T00:00:01+00:00 heroku[router]: at=info\n",
        ]);
        assert_eq!(
            lines,
            [
                "2024-01-01T00:00:00+00:00 app[web.1]: hello",
                "2024-01-01T00:00:01+00:00 heroku[router]: at=info",
            ]
        );
    }

    fn split_events(chunks: &[&[u8]]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut splitter = EventStreamSplitter::new();
        let mut emit = |l: &str| lines.push(l.to_string());
        for chunk in chunks {
            splitter.push(chunk, &mut emit);
        }
        splitter.finish(&mut emit);
        lines
    }

    #[test]
    fn event_stream_data_fields_are_lines_and_comments_are_dropped() {
        let lines = split_events(&[
            b":\n\n",
            b"data: 2024-01-01T00:00:00+00:00 app[web.1]: hel",
            b"lo\r\n\r\nid: 7\nevent: message\ndata:no-space\n\n",
            b"retry: 1000\n:\n\ndata: last",
        ]);
        assert_eq!(
            lines,
            [
                "2024-01-01T00:00:00+00:00 app[web.1]: hello",
                "no-space",
                "last",
            ]
        );
    }

    #[test]
    fn unterminated_last_line_is_emitted_on_finish() {
        assert_eq!(split(&[b"a\nb"]), ["a", "b"]);
    }

    #[test]
    fn overlong_lines_are_cut_not_buffered_forever() {
        let big = vec![b'x'; MAX_LINE_BYTES + 10];
        let lines = split(&[&big, b"\n"]);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), MAX_LINE_BYTES);
        assert_eq!(lines[1].len(), 10);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(split(&[b"caf\xe9\n"]), ["caf\u{fffd}"]);
    }
}
