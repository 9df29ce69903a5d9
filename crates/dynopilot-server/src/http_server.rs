//! The daemon's HTTP/1.1 server, built from hyper's connection builder and tower-http's body
//! timeout so that one client cannot take it down: a deadline for every request head (which
//! also closes idle keep-alive connections), a timeout between body chunks, header limits, a cap
//! on connections overall and per client IP, and shedding over the cap that still answers
//! `/healthz` and gives drains 503 + `Retry-After` (Logplex retries those) instead of silence.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// What `Retry-After` says on a shed request, in seconds.
pub const SHED_RETRY_AFTER_SECS: u64 = 5;
/// A shed connection gets at most this long to send its one request head.
const SHED_HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// At shutdown, requests in flight get this long to finish before their connections are cut.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// File descriptors kept free for the store, the Heroku client and the log-session tails.
const RESERVED_FDS: u64 = 128;

/// Limits of the HTTP server (`[server]` in the config file; defaults there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// The whole request head must arrive within this time from the moment the server waits
    /// for it, so it is also the idle keep-alive timeout.
    pub header_timeout: Duration,
    /// A request body that sends nothing for this long is cut off (a `Content-Length` larger
    /// than the body sent).
    pub body_timeout: Duration,
    /// Request line plus headers, in bytes; larger heads get 431.
    pub max_header_bytes: usize,
    /// Number of header fields; more get 431.
    pub max_headers: usize,
    /// Connections served normally. As many again are shed (one request, `/healthz` answered,
    /// everything else 503 + `Retry-After`); past that, a connection gets a 503 and is closed.
    pub max_connections: usize,
    /// Connections one peer IP may hold before its next ones are shed; 0 means no cap (behind
    /// a proxy every connection comes from the proxy's address).
    pub max_connections_per_client: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            max_connections: 1024,
            max_connections_per_client: 128,
        }
    }
}

/// Counters of what the server admitted and turned away.
#[derive(Debug, Default)]
pub struct HttpStats {
    /// Connections served normally, open now.
    pub open: AtomicU64,
    pub accepted: AtomicU64,
    /// Connections served in shedding mode (one request, 503 unless `/healthz`).
    pub shed: AtomicU64,
    /// Connections answered 503 at once and closed: even the shedding slots were full.
    pub refused: AtomicU64,
    /// Connections closed because their request head did not arrive in time (idle ones too).
    pub header_timeouts: AtomicU64,
    shedding: AtomicBool,
}

impl HttpStats {
    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// (accepted, shed, refused, header timeouts) so far.
    pub fn totals(&self) -> (u64, u64, u64, u64) {
        (
            Self::get(&self.accepted),
            Self::get(&self.shed),
            Self::get(&self.refused),
            Self::get(&self.header_timeouts),
        )
    }
}

/// Pending connections the kernel may queue before `accept` (capped by `net.core.somaxconn`);
/// under a connection flood a short queue drops the SYNs of well-behaved clients too.
const LISTEN_BACKLOG: u32 = 4096;

/// A listening socket on `addr` with address reuse (restarts don't wait out TIME_WAIT) and a
/// deep accept queue.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves `router` on `listener` until `stop` is cancelled, then lets requests in flight
/// finish (at most `SHUTDOWN_GRACE`) and returns once every connection is closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    stats: Arc<HttpStats>,
    stop: CancellationToken,
) {
    let limits = fit_to_fd_limit(limits);
    let router = router.layer(RequestBodyTimeoutLayer::new(limits.body_timeout));
    let gate = Arc::new(Gate::new(&limits));
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                accept_failed(&e).await;
                continue;
            }
        };
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        let slot = gate.admit(peer.ip());
        note_shedding(&stats, &slot, &gate, peer.ip());
        if let Slot::Refused = slot {
            // Inline, without a task: under a flood these are most connections.
            refuse(stream, &stats);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let conn = Connection {
            stream,
            peer,
            limits: limits.clone(),
            router: router.clone(),
            stats: Arc::clone(&stats),
            stop: stop.clone(),
        };
        connections.spawn(conn.run(slot));
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

/// Accept errors are per connection (reset before accept) or resource exhaustion; the latter
/// would spin, so wait a little before the next accept.
async fn accept_failed(e: &std::io::Error) {
    let exhausted = matches!(e.raw_os_error(), Some(23 | 24)); // ENFILE, EMFILE
    if exhausted {
        tracing::error!(error = %e, "out of file descriptors: cannot accept connections");
        tokio::time::sleep(Duration::from_millis(50)).await;
    } else {
        tracing::debug!(error = %e, "accept failed");
    }
}

/// Logs once when shedding starts (naming the cap that triggered it) and once when the server
/// is back under its caps.
fn note_shedding(stats: &HttpStats, slot: &Slot, gate: &Gate, peer: IpAddr) {
    match slot {
        Slot::Normal(..) => {
            if gate.normal.available_permits() > gate.capacity / 2
                && stats.shedding.swap(false, Ordering::Relaxed)
            {
                let (_, shed, refused, _) = stats.totals();
                tracing::info!(
                    shed,
                    refused,
                    "connections back under the cap: shedding ended"
                );
            }
        }
        Slot::Shed(_, cap) => {
            if !stats.shedding.swap(true, Ordering::Relaxed) {
                tracing::warn!(client = %peer, "{}", shedding_warning(*cap, gate));
            }
        }
        Slot::Refused => {
            if !stats.shedding.swap(true, Ordering::Relaxed) {
                tracing::warn!("{}", shedding_warning(Cap::Total, gate));
            }
        }
    }
}

/// The warning when shedding starts: it names the cap that was reached, with its setting, so
/// a flood from one client is not mistaken for the server being full (or the reverse).
fn shedding_warning(cap: Cap, gate: &Gate) -> String {
    const WHAT: &str = "healthz answered, drains get 503 + Retry-After";
    match cap {
        Cap::Total => format!(
            "over the connection cap (server.max_connections={}): shedding ({WHAT})",
            gate.capacity
        ),
        Cap::PerClient => format!(
            "a client is over its connection cap (server.max_connections_per_client={}): shedding its new connections ({WHAT})",
            gate.per_client_cap
        ),
    }
}

/// Lowers `max_connections` when the open-file limit could not hold twice as many sockets
/// (normal plus shedding) and what the rest of the daemon needs.
fn fit_to_fd_limit(mut limits: HttpLimits) -> HttpLimits {
    let Some(soft) = rustix::process::getrlimit(rustix::process::Resource::Nofile).current else {
        return limits;
    };
    let room = usize::try_from(soft.saturating_sub(RESERVED_FDS) / 2).unwrap_or(usize::MAX);
    if limits.max_connections > room {
        tracing::warn!(
            configured = limits.max_connections,
            used = room.max(1),
            open_file_limit = soft,
            "server.max_connections exceeds what the open-file limit allows: lowered"
        );
        limits.max_connections = room.max(1);
    }
    limits
}

/// Outcome of `raise_open_file_limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdLimit {
    pub before: Option<u64>,
    pub now: Option<u64>,
    pub hard: Option<u64>,
}

/// Raises this process's soft open-file limit to its hard limit (each connection is a file
/// descriptor, and the usual soft limit of 1024 is what a flood exhausts first) and logs it.
pub fn raise_open_file_limit() -> FdLimit {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let mut result = FdLimit {
        before: limit.current,
        now: limit.current,
        hard: limit.maximum,
    };
    // An unlimited hard limit is not a valid soft limit for files on Linux: leave it.
    if let (Some(soft), Some(hard)) = (limit.current, limit.maximum)
        && soft < hard
    {
        let raised = Rlimit {
            current: Some(hard),
            maximum: Some(hard),
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => result.now = Some(hard),
            Err(e) => tracing::warn!(soft, hard, error = %e, "cannot raise the open-file limit"),
        }
    }
    if result.now != result.before {
        tracing::info!(
            from = ?result.before,
            to = ?result.now,
            "raised the open-file limit (soft) to the hard limit"
        );
    } else {
        tracing::info!(soft = ?result.now, hard = ?result.hard, "open-file limit");
    }
    result
}

/// Connection slots: normal ones, shedding ones, and per-client counts of normal ones.
struct Gate {
    capacity: usize,
    normal: Arc<Semaphore>,
    shed: Arc<Semaphore>,
    per_client_cap: usize,
    per_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

enum Slot {
    Normal(OwnedSemaphorePermit, Option<ClientGuard>),
    /// Served in shedding mode because `Cap` was reached.
    Shed(OwnedSemaphorePermit, Cap),
    Refused,
}

/// The cap that sent a connection to shedding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cap {
    /// `max_connections`: the server as a whole is full.
    Total,
    /// `max_connections_per_client`: this client holds its share.
    PerClient,
}

impl Gate {
    fn new(limits: &HttpLimits) -> Self {
        let capacity = limits.max_connections.max(1);
        Gate {
            capacity,
            normal: Arc::new(Semaphore::new(capacity)),
            shed: Arc::new(Semaphore::new(capacity)),
            per_client_cap: limits.max_connections_per_client,
            per_client: Arc::default(),
        }
    }

    fn admit(&self, ip: IpAddr) -> Slot {
        let client = self.client_slot(ip);
        let within_client_cap = self.per_client_cap == 0 || client.is_some();
        if within_client_cap && let Ok(permit) = Arc::clone(&self.normal).try_acquire_owned() {
            return Slot::Normal(permit, client);
        }
        drop(client);
        let cap = if within_client_cap {
            Cap::Total
        } else {
            Cap::PerClient
        };
        match Arc::clone(&self.shed).try_acquire_owned() {
            Ok(permit) => Slot::Shed(permit, cap),
            Err(_) => Slot::Refused,
        }
    }

    /// Counts one more connection for `ip` if it is under its cap (`None` when the cap is off
    /// or reached).
    fn client_slot(&self, ip: IpAddr) -> Option<ClientGuard> {
        if self.per_client_cap == 0 {
            return None;
        }
        let mut counts = self.per_client.lock().ok()?;
        let count = counts.entry(ip).or_insert(0);
        if *count >= self.per_client_cap {
            return None;
        }
        *count += 1;
        Some(ClientGuard {
            ip,
            counts: Arc::clone(&self.per_client),
        })
    }
}

/// One connection counted against its client IP until dropped.
struct ClientGuard {
    ip: IpAddr,
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.counts.lock()
            && let Some(count) = counts.get_mut(&self.ip)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    limits: HttpLimits,
    router: Router,
    stats: Arc<HttpStats>,
    stop: CancellationToken,
}

impl Connection {
    async fn run(self, slot: Slot) {
        match slot {
            Slot::Normal(_permit, _client) => {
                let stats = Arc::clone(&self.stats);
                stats.open.fetch_add(1, Ordering::Relaxed);
                let builder = self.builder(self.limits.header_timeout, true);
                // The peer address, for what is limited per client (sign-in attempts).
                let peer = axum::extract::ConnectInfo(self.peer);
                let service = TowerToHyperService::new(self.router.clone().map_request(
                    move |mut request: Request<Incoming>| {
                        request.extensions_mut().insert(peer);
                        request
                    },
                ));
                self.drive(&builder, service).await;
                stats.open.fetch_sub(1, Ordering::Relaxed);
            }
            Slot::Shed(_permit, _) => {
                self.stats.shed.fetch_add(1, Ordering::Relaxed);
                let timeout = self.limits.header_timeout.min(SHED_HEADER_TIMEOUT);
                let builder = self.builder(timeout, false);
                let router = self.router.clone();
                let service = hyper::service::service_fn(move |request| {
                    shed_request(router.clone(), request)
                });
                self.drive(&builder, service).await;
            }
            Slot::Refused => refuse(self.stream, &self.stats),
        }
    }

    fn builder(&self, header_timeout: Duration, keep_alive: bool) -> http1::Builder {
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .keep_alive(keep_alive)
            .max_headers(self.limits.max_headers)
            .max_header_size(self.limits.max_header_bytes);
        builder
    }

    /// Serves the connection until it ends; on `stop`, finishes the request in flight (within
    /// the grace period) and closes.
    async fn drive<S>(self, builder: &http1::Builder, service: S)
    where
        S: hyper::service::Service<
                Request<Incoming>,
                Response = Response<Body>,
                Error = Infallible,
            >,
        S::Future: Send + 'static,
    {
        let Connection {
            stream,
            peer,
            stats,
            stop,
            ..
        } = self;
        let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), service));
        let ended = tokio::select! {
            ended = conn.as_mut() => ended,
            () = stop.cancelled() => {
                conn.as_mut().graceful_shutdown();
                match tokio::time::timeout(SHUTDOWN_GRACE, conn.as_mut()).await {
                    Ok(ended) => ended,
                    Err(_) => return,
                }
            }
        };
        if let Err(e) = ended {
            if e.is_timeout() {
                stats.header_timeouts.fetch_add(1, Ordering::Relaxed);
            }
            tracing::debug!(%peer, error = %e, "connection ended");
        }
    }
}

/// Answers 503 + `Retry-After` without reading the request, and closes.
fn refuse(stream: TcpStream, stats: &HttpStats) {
    stats.refused.fetch_add(1, Ordering::Relaxed);
    // Best effort: the socket buffer of a fresh connection has room for this.
    let _ = stream.try_write(REFUSED_RESPONSE);
}

const REFUSED_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 42\r\n\r\ndynopilot is over its connection limit. \r\n";

/// A request on a shed connection: `/healthz` is answered as usual, anything else (drains
/// included) gets 503 + `Retry-After`, and the connection closes after it.
async fn shed_request(
    router: Router,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let mut response = if request.uri().path() == "/healthz" {
        router.oneshot(request.map(Body::new)).await?
    } else {
        busy_response()
    };
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    Ok(response)
}

fn busy_response() -> Response<Body> {
    let mut response = Response::new(Body::from(
        "dynopilot is over its connection limit; retry later\n",
    ));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(
        header::RETRY_AFTER,
        HeaderValue::from(SHED_RETRY_AFTER_SECS),
    );
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refused_response_declares_its_exact_length() {
        let text = std::str::from_utf8(REFUSED_RESPONSE).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert!(head.contains(&format!("Retry-After: {SHED_RETRY_AFTER_SECS}")));
    }

    #[test]
    fn a_client_over_its_cap_is_shed_while_others_are_served() {
        let limits = HttpLimits {
            max_connections: 4,
            max_connections_per_client: 2,
            ..HttpLimits::default()
        };
        let gate = Gate::new(&limits);
        let flood: IpAddr = [127, 0, 0, 2].into();
        let other: IpAddr = [127, 0, 0, 1].into();
        let held: Vec<Slot> = (0..2).map(|_| gate.admit(flood)).collect();
        assert!(held.iter().all(|s| matches!(s, Slot::Normal(..))));
        assert!(matches!(gate.admit(flood), Slot::Shed(_, Cap::PerClient)));
        assert!(matches!(gate.admit(other), Slot::Normal(..)));
        drop(held);
        assert!(matches!(gate.admit(flood), Slot::Normal(..)));
    }

    #[test]
    fn past_the_shedding_slots_connections_are_refused() {
        let limits = HttpLimits {
            max_connections: 1,
            max_connections_per_client: 0,
            ..HttpLimits::default()
        };
        let gate = Gate::new(&limits);
        let ip: IpAddr = [127, 0, 0, 1].into();
        let _normal = gate.admit(ip);
        let shed = gate.admit(ip);
        assert!(matches!(shed, Slot::Shed(_, Cap::Total)));
        assert!(matches!(gate.admit(ip), Slot::Refused));
    }

    #[test]
    fn the_shedding_warning_names_the_cap_that_triggered() {
        let limits = HttpLimits {
            max_connections: 1024,
            max_connections_per_client: 2,
            ..HttpLimits::default()
        };
        let gate = Gate::new(&limits);
        let flood: IpAddr = [127, 0, 0, 2].into();
        let _held: Vec<Slot> = (0..2).map(|_| gate.admit(flood)).collect();
        let Slot::Shed(_, cap) = gate.admit(flood) else {
            panic!("the third connection of one client is shed");
        };
        let warning = shedding_warning(cap, &gate);
        assert!(
            warning.contains("max_connections_per_client=2"),
            "{warning}"
        );
        assert!(!warning.contains("max_connections=1024"), "{warning}");
        let total = shedding_warning(Cap::Total, &gate);
        assert!(total.contains("server.max_connections=1024"), "{total}");
    }
}
