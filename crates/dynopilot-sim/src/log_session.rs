//! Serving a log session's `logplex_url`: the backlog (`lines`, filtered by dyno and source),
//! then with `tail` the live lines, NUL heartbeats while idle, and an end after a maximum
//! duration, as Heroku ends sessions and clients must reconnect.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
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

/// `GET /sessions/{id}`: single use; an unknown or already-read session is `404`.
pub async fn stream(State(state): State<SimState>, Path(id): Path<String>) -> Response {
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
        first.push_str(&record.to_line());
    }
    let headers = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
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
                    return Some(Bytes::from_static(b"\0"));
                }
                received = self.rx.recv() => match received {
                    Ok(record) if self.filter.matches(&record) => {
                        self.last_sent = self.clock.now();
                        return Some(Bytes::from(record.to_line()));
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }
}
