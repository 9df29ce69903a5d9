//! One client (127.0.0.2) holding 20,000 idle or half-sent connections against the daemon, run
//! in a child process with the default `[server]` limits: `/healthz` latency (p50/p99/max, a
//! fresh connection per probe) and drain ingest rate with and without the flood, the daemon's
//! RSS, and how long the server took to close each held connection. The client reconnects a
//! second after each close, so the pressure lasts the whole run.
//!
//! Run: `cargo bench -p dynopilot-server --bench flood`. Optional arguments: connections
//! (default 20000), seconds per measurement (default 5), reconnect delay in ms (default 1000).

// A bench: failing loudly is the point, and latency is measured with the monotonic clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

#[path = "../daemon/load.rs"]
#[allow(dead_code)]
mod load;

use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dynopilot_core::{Clock, policy};
use dynopilot_heroku::{ApiKey, ClientConfig};
use dynopilot_server::daemon::{self, AppSettings, DaemonSettings, LogSource};
use dynopilot_server::http_server::{HttpLimits, SHED_RETRY_AFTER_SECS};
use dynopilot_server::ingest::drain::DrainSettings;
use dynopilot_server::web::WebSettings;
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, SimConfig, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;

const APP: &str = "shop";
const SECRET: &str = "bench-drain-secret-0123456789";
const FLOOD_FROM: [u8; 4] = [127, 0, 0, 2];

struct Args {
    connections: usize,
    seconds: u64,
    reconnect_ms: u64,
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--serve") {
        return serve(&argv[2], &argv[3], argv[4].parse().unwrap());
    }
    let numbers: Vec<u64> = argv.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
    let args = Args {
        connections: numbers.first().map_or(20_000, |&n| n as usize),
        seconds: numbers.get(1).copied().unwrap_or(5),
        reconnect_ms: numbers.get(2).copied().unwrap_or(1000),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(args));
}

/// The child: the daemon with default limits on 127.0.0.1:`port`, until stdin closes.
fn serve(sim_url: &str, token: &str, port: u16) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let clock: Arc<dyn Clock> = Arc::new(dynopilot_clock::SystemClock);
        let mut heroku = ClientConfig::new(ApiKey::new(token.to_owned()));
        heroku.base_url = sim_url.to_owned();
        let settings = DaemonSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            drain: DrainSettings {
                secret: SECRET.to_owned(),
                max_body_bytes: 2 << 20,
                max_in_flight: 32,
            },
            heroku,
            apps: vec![AppSettings {
                name: APP.to_owned(),
                policy: policy::Config::new(APP),
                log_source: LogSource::Drain,
            }],
            poll_interval: Duration::from_secs(30),
            tick: Duration::from_secs(1),
            reconcile_deadline: dynopilot_server::reconcile::DEFAULT_DEADLINE,
            options: Default::default(),
        };
        let web = WebSettings::for_listen(settings.listen, None);
        let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
        let handle = daemon::start_with_web(settings, web, store, clock)
            .await
            .unwrap();
        // The parent closes our stdin to stop us.
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink)
        })
        .await;
        let (accepted, shed, refused, timeouts) = handle.http_stats.totals();
        eprintln!(
            "daemon: {accepted} connections accepted, {shed} shed, {refused} refused, {timeouts} closed at the head deadline"
        );
        handle.shutdown().await;
    });
}

async fn run(args: Args) {
    raise_own_fd_limit(args.connections as u64 + 4096);
    let limits = HttpLimits::default();
    println!(
        "limits: header_timeout {:?}, max_connections {}, per client {}, shed head deadline 2s, Retry-After {SHED_RETRY_AFTER_SECS}s",
        limits.header_timeout, limits.max_connections, limits.max_connections_per_client
    );
    let clock: Arc<dyn Clock> = Arc::new(dynopilot_clock::SystemClock);
    let mut sim_config = SimConfig::empty();
    sim_config.apps.push(AppSpec::plain(APP, DEMO_EMAIL, 2, 0));
    let sim = Simulator::start(sim_config, clock).await.unwrap();
    let port = free_port();
    let mut child = spawn_daemon(&sim.base_url, &sim.token, port);
    let pid = child.id();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_healthy(addr).await;
    let bodies = Arc::new(load::bodies(100 * 1024, 64));
    let url = format!("http://{addr}/drain/{APP}/{SECRET}");

    // Warm the daemon (allocator, store, caches) so the unloaded rate is not its cold start.
    load::drive(&url, Arc::clone(&bodies), 4, Duration::from_secs(2), pid).await;
    let quiet = measure(addr, &url, &bodies, pid, args.seconds).await;
    quiet.print("unloaded");

    let flood = Flood::start(addr, args.connections, args.reconnect_ms);
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!(
        "flood from {}: {} connections opened so far, {} open now, {} connect errors",
        IpAddr::from(FLOOD_FROM),
        flood.stats.opened.load(Ordering::Relaxed),
        flood.stats.open_now(),
        flood.stats.connect_errors.load(Ordering::Relaxed)
    );
    let loaded = measure(addr, &url, &bodies, pid, args.seconds).await;
    loaded.print("flooded");
    // Long enough for connections admitted at the start to reach the head deadline.
    let settle = limits.header_timeout + Duration::from_secs(2);
    tokio::time::sleep(settle.saturating_sub(Duration::from_secs(3 + 2 * args.seconds))).await;
    let held_open = flood.stats.open_now();
    let rss = load::rss(pid);
    let flood_stats = Arc::clone(&flood.stats);
    flood.stop().await;
    println!(
        "drain ingest under flood: {:.0}% of unloaded",
        100.0 * loaded.lines_per_s / quiet.lines_per_s
    );
    println!(
        "daemon RSS: VmRSS {:.1} MB at the end of the flood, VmHWM {:.1} MB",
        rss.rss_mb, rss.hwm_mb
    );
    flood_stats.print_closes(limits.header_timeout, held_open);

    drop(child.stdin.take());
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    let log = std::fs::read_to_string(daemon_log()).unwrap_or_default();
    print!("{log}");
    sim.shutdown();
}

struct Measured {
    healthz_ms: Vec<f64>,
    healthz_failed: usize,
    lines_per_s: f64,
    accepted: u64,
    shed: u64,
    peak_rss_mb: f64,
}

impl Measured {
    fn print(&self, label: &str) {
        let q = |p| quantile(&self.healthz_ms, p);
        println!(
            "{label}: /healthz {} probes, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} failed",
            self.healthz_ms.len(),
            q(0.5),
            q(0.99),
            self.healthz_ms.last().copied().unwrap_or(f64::NAN),
            self.healthz_failed
        );
        println!(
            "{label}: drain {:.0} lines/s ({} batches 204, {} 503), daemon peak RSS {:.1} MB",
            self.lines_per_s, self.accepted, self.shed, self.peak_rss_mb
        );
    }
}

/// `/healthz` probes every 20 ms for `seconds`, then drain load for `seconds`.
async fn measure(
    addr: SocketAddr,
    url: &str,
    bodies: &Arc<Vec<load::Body>>,
    pid: u32,
    seconds: u64,
) -> Measured {
    let (mut healthz_ms, mut healthz_failed) = (Vec::new(), 0);
    let end = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < end {
        match probe(addr).await {
            Some(ms) => healthz_ms.push(ms),
            None => healthz_failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    healthz_ms.sort_by(f64::total_cmp);
    let load = load::drive(
        url,
        Arc::clone(bodies),
        4,
        Duration::from_secs(seconds),
        pid,
    )
    .await;
    Measured {
        healthz_ms,
        healthz_failed,
        lines_per_s: load.lines as f64 / load.seconds,
        accepted: load.accepted,
        shed: load.shed,
        peak_rss_mb: load.peak_rss_mb,
    }
}

/// Milliseconds for connect + `GET /healthz` + a 200 response head; `None` on failure.
async fn probe(addr: SocketAddr) -> Option<f64> {
    let start = Instant::now();
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        stream.write_all(request).await.ok()?;
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        seen.starts_with(b"HTTP/1.1 200").then_some(())
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .ok()??;
    Some(start.elapsed().as_secs_f64() * 1000.0)
}

#[derive(Default)]
struct FloodStats {
    opened: AtomicU64,
    closed: AtomicU64,
    connect_errors: AtomicU64,
    /// Milliseconds from connect to the server's close, and whether a 503 came first.
    closes: Mutex<Vec<(u32, bool)>>,
}

impl FloodStats {
    fn open_now(&self) -> u64 {
        self.opened.load(Ordering::Relaxed) - self.closed.load(Ordering::Relaxed)
    }

    fn print_closes(&self, header_timeout: Duration, held_open: u64) {
        let closes = self.closes.lock().unwrap();
        let limit_ms = header_timeout.as_millis() as u32;
        let refused = closes.iter().filter(|(_, answered)| *answered).count();
        let silent: Vec<u32> = closes.iter().filter(|c| !c.1).map(|c| c.0).collect();
        let within = |ms: u32| silent.iter().filter(|&&t| t <= ms).count();
        let late = silent.iter().filter(|&&t| t > limit_ms + 1000).count();
        println!(
            "server closes during the flood: {} total; {refused} answered 503 + Retry-After and closed at once; \
             {} idle closed within 2.5 s (shed, 2 s deadline), {} within {:.1} s (served, head deadline); \
             {late} later than the deadline + 1 s; slowest {:.2} s; {held_open} held open when the flood stopped",
            closes.len(),
            within(2500),
            within(limit_ms + 1000) - within(2500),
            header_timeout.as_secs_f64() + 1.0,
            f64::from(silent.iter().copied().max().unwrap_or(0)) / 1000.0,
        );
    }
}

struct Flood {
    stats: Arc<FloodStats>,
    stop: CancellationToken,
    runtime: tokio::runtime::Runtime,
}

impl Flood {
    /// `connections` holders on a runtime of their own, so the probes' timing is not theirs.
    fn start(addr: SocketAddr, connections: usize, reconnect_ms: u64) -> Flood {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let stats = Arc::new(FloodStats::default());
        let stop = CancellationToken::new();
        for i in 0..connections {
            let (stats, stop) = (Arc::clone(&stats), stop.clone());
            let half_sent = i % 2 == 1;
            runtime.spawn(hold(addr, half_sent, reconnect_ms, stats, stop));
        }
        Flood {
            stats,
            stop,
            runtime,
        }
    }

    async fn stop(self) {
        self.stop.cancel();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let runtime = self.runtime;
        tokio::task::spawn_blocking(move || runtime.shutdown_timeout(Duration::from_secs(2)))
            .await
            .unwrap();
    }
}

/// Holds one connection open (idle, or with half a request head), records when the server
/// closes it, and opens a new one `reconnect_ms` later.
async fn hold(
    addr: SocketAddr,
    half_sent: bool,
    reconnect_ms: u64,
    stats: Arc<FloodStats>,
    stop: CancellationToken,
) {
    while !stop.is_cancelled() {
        let Some(mut stream) = connect_from(FLOOD_FROM, addr).await else {
            stats.connect_errors.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(reconnect_ms)).await;
            continue;
        };
        stats.opened.fetch_add(1, Ordering::Relaxed);
        let start = Instant::now();
        if half_sent {
            let _ = stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                .await;
        }
        let mut first = [0u8; 12];
        let read = tokio::select! {
            () = stop.cancelled() => return,
            read = stream.read(&mut first) => read,
        };
        let answered = matches!(read, Ok(n) if first[..n].starts_with(b"HTTP/1.1 503"));
        // Wait for the close itself after a 503.
        if answered {
            let mut rest = [0u8; 256];
            while matches!(stream.read(&mut rest).await, Ok(n) if n > 0) {}
        }
        let ms = start.elapsed().as_millis() as u32;
        stats.closed.fetch_add(1, Ordering::Relaxed);
        stats.closes.lock().unwrap().push((ms, answered));
        drop(stream);
        tokio::time::sleep(Duration::from_millis(reconnect_ms)).await;
    }
}

async fn connect_from(from: [u8; 4], addr: SocketAddr) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::new(IpAddr::from(from), 0)).ok()?;
    tokio::time::timeout(Duration::from_secs(5), socket.connect(addr))
        .await
        .ok()?
        .ok()
}

/// The client needs a descriptor per held connection: raise the soft limit (and, as root,
/// the hard one) for this process only.
fn raise_own_fd_limit(wanted: u64) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let hard = getrlimit(Resource::Nofile).maximum;
    let to = |n| Rlimit {
        current: n,
        maximum: n,
    };
    // Above the hard limit only root may go; otherwise settle for the hard limit.
    let raised =
        hard.is_some_and(|h| h >= wanted) || setrlimit(Resource::Nofile, to(Some(wanted))).is_ok();
    if !raised || hard.is_some_and(|h| h >= wanted) {
        let _ = setrlimit(Resource::Nofile, to(hard));
    }
    println!(
        "bench client open-file limit: {:?} (wanted {wanted})",
        getrlimit(Resource::Nofile).current
    );
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn spawn_daemon(sim_url: &str, token: &str, port: u16) -> Child {
    let log = std::fs::File::create(daemon_log()).unwrap();
    Command::new(std::env::current_exe().unwrap())
        .args(["--serve", sim_url, token, &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn daemon_log() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("dynopilot-flood-{}.log", std::process::id()))
}

async fn wait_healthy(addr: SocketAddr) {
    for _ in 0..200 {
        if probe(addr).await.is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the daemon did not answer /healthz within 10 s");
}
