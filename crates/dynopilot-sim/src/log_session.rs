//! Serving a log session's `logplex_url`: the backlog (`lines`, filtered by dyno and source),
//! then with `tail` the live lines, NUL heartbeats while idle, and an end after a maximum
//! duration, as Heroku ends sessions and clients must reconnect.
//!
//! A client sending `Accept: text/event-stream` (the official CLI reads `logplex_url` through an
//! EventSource) gets Server-Sent Events: one `data:` event per line and comment heartbeats;
//! anyone else gets plain chunked text with NUL heartbeats.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dynopilot_core::{Clock, Timestamp};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use crate::http::SimState;
use crate::http::error::ApiError;
use crate::logs::{LogFilter, LogRecord};

/// Heartbeat and lifetime of tailing sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// A NUL byte is sent after this long without a line.
    pub heartbeat: Duration,
    /// A tailing session ends this long after it was opened (Heroku: about 15 minutes).
    pub max_duration: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            heartbeat: Duration::from_secs(5),
            max_duration: Duration::from_secs(15 * 60),
        }
    }
}

/// How the session's lines are framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `line\n`, NUL heartbeats.
    Plain,
    /// `data: line\n\n`, `:` comment heartbeats.
    EventStream,
}

impl Framing {
    fn from_accept(headers: &HeaderMap) -> Framing {
        let wants_events = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("text/event-stream"));
        if wants_events {
            Framing::EventStream
        } else {
            Framing::Plain
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Framing::Plain => "text/plain; charset=utf-8",
            Framing::EventStream => "text/event-stream; charset=utf-8",
        }
    }

    fn push(self, out: &mut String, record: &LogRecord) {
        let line = record.to_line();
        match self {
            Framing::Plain => out.push_str(&line),
            Framing::EventStream => {
                out.push_str("data: ");
                out.push_str(line.trim_end_matches(['\r', '\n']));
                out.push_str("\n\n");
            }
        }
    }

    fn heartbeat(self) -> Bytes {
        match self {
            Framing::Plain => Bytes::from_static(b"\0"),
            Framing::EventStream => Bytes::from_static(b":\n\n"),
        }
    }
}

/// `GET /sessions/{id}`: single use; an unknown or already-read session is `404`.
pub async fn stream(
    State(state): State<SimState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let framing = Framing::from_accept(&headers);
    let opened = {
        let mut world = state.world();
        world.sessions.remove(&id).and_then(|spec| {
            let app = world.apps.iter().find(|a| a.id == spec.app_id)?;
            let (backlog, rx) = app.log.backlog_and_subscribe(&spec.filter, spec.lines);
            Some((spec, backlog, rx))
        })
    };
    let Some((spec, backlog, rx)) = opened else {
        return ApiError::not_found("log session").into_response();
    };
    let mut first = String::new();
    for record in &backlog {
        framing.push(&mut first, record);
    }
    let headers = [(header::CONTENT_TYPE, framing.content_type())];
    if !spec.tail {
        return (StatusCode::OK, headers, first).into_response();
    }
    let now = state.clock.now();
    let tail = Tail {
        pending: (!first.is_empty()).then(|| Bytes::from(first)),
        rx,
        filter: spec.filter,
        clock: Arc::clone(&state.clock),
        heartbeat: state.session.heartbeat,
        last_sent: now,
        ends_at: now.plus(state.session.max_duration),
        cancel: state.cancel.clone(),
        framing,
    };
    let body = futures_util::stream::unfold(tail, |mut tail| async move {
        let chunk = tail.next_chunk().await?;
        Some((Ok::<_, std::io::Error>(chunk), tail))
    });
    (StatusCode::OK, headers, Body::from_stream(body)).into_response()
}

struct Tail {
    pending: Option<Bytes>,
    rx: broadcast::Receiver<Arc<LogRecord>>,
    filter: LogFilter,
    clock: Arc<dyn Clock>,
    heartbeat: Duration,
    last_sent: Timestamp,
    ends_at: Timestamp,
    cancel: CancellationToken,
    framing: Framing,
}

impl Tail {
    /// The next bytes to send, or `None` when the session is over.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some(first) = self.pending.take() {
            self.last_sent = self.clock.now();
            return Some(first);
        }
        loop {
            if self.clock.now() >= self.ends_at {
                return None;
            }
            let beat_at = self.last_sent.plus(self.heartbeat).min(self.ends_at);
            tokio::select! {
                () = self.cancel.cancelled() => return None,
                () = self.clock.sleep_until(beat_at) => {
                    if self.clock.now() >= self.ends_at {
                        return None;
                    }
                    self.last_sent = self.clock.now();
                    return Some(self.framing.heartbeat());
                }
                received = self.rx.recv() => match received {
                    Ok(record) if self.filter.matches(&record) => {
                        self.last_sent = self.clock.now();
                        let mut out = String::new();
                        self.framing.push(&mut out, &record);
                        return Some(Bytes::from(out));
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }
}
