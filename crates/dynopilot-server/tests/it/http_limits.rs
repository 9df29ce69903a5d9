//! The HTTP server under hostile clients, over raw loopback sockets: idle and half-sent
//! requests are closed on time, a body shorter than its `Content-Length` is cut off, and over
//! the connection caps `/healthz` still answers while drains get 503 + `Retry-After`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use dynopilot_clock::SystemClock;
use dynopilot_core::Clock;
use dynopilot_core::policy;
use dynopilot_server::daemon::{self, DaemonHandle};
use dynopilot_server::http_server::HttpLimits;
use dynopilot_server::web::WebSettings;
use dynopilot_sim::{AppSpec, SimHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

use super::scenarios::{SECRET, settings, start_sim};

struct Served {
    sim: SimHandle,
    daemon: DaemonHandle,
}

impl Served {
    async fn start(limits: HttpLimits) -> Served {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let sim = start_sim(
            AppSpec::plain("shop", dynopilot_sim::config::DEMO_EMAIL, 1, 0),
            &clock,
        )
        .await;
        let settings = settings(&sim, policy::Config::new("shop"));
        let mut web = WebSettings::for_listen(settings.listen, None);
        web.http = limits;
        let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
        let daemon = daemon::start_with_web(settings, web, store, clock)
            .await
            .unwrap();
        Served { sim, daemon }
    }

    async fn stop(self) {
        self.daemon.shutdown().await;
        self.sim.shutdown();
    }

    /// A connection from `from` (any 127.0.0.0/8 address), so tests can play several clients.
    async fn connect_from(&self, from: [u8; 4]) -> TcpStream {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(IpAddr::from(from), 0)).unwrap();
        socket.connect(self.daemon.addr).await.unwrap()
    }

    async fn connect(&self) -> TcpStream {
        self.connect_from([127, 0, 0, 1]).await
    }
}

fn short_timeouts() -> HttpLimits {
    HttpLimits {
        header_timeout: Duration::from_millis(600),
        body_timeout: Duration::from_millis(600),
        ..HttpLimits::default()
    }
}

fn drain_post(body: &str) -> String {
    format!(
        "POST /drain/shop/{SECRET} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/logplex-1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

const HEALTHZ: &str = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// Reads until the server closes the connection; `None` if it is still open after `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut seen = Vec::new();
    let read = timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&seen).into_owned())
}

/// Sends `request` and reads one response head (and whatever body came with it).
async fn exchange(stream: &mut TcpStream, request: &str) -> String {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("\r\n\r\n") {
        let n = timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("a response within 5 s")
            .unwrap();
        assert!(n > 0, "closed without a response: {seen:?}");
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

fn status(response: &str) -> &str {
    response.split(' ').nth(1).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_and_half_sent_heads_are_closed_at_the_header_timeout() {
    let s = Served::start(short_timeouts()).await;
    let mut idle = s.connect().await;
    let mut half = s.connect().await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    let mut kept_alive = s.connect().await;
    assert!(
        exchange(&mut kept_alive, HEALTHZ)
            .await
            .starts_with("HTTP/1.1 200")
    );
    // Still open well inside the 600 ms deadline…
    for stream in [&mut idle, &mut half, &mut kept_alive] {
        assert_eq!(
            read_until_closed(stream, Duration::from_millis(100)).await,
            None
        );
    }
    // …and closed by the server soon after it.
    for stream in [&mut idle, &mut half, &mut kept_alive] {
        let rest = read_until_closed(stream, Duration::from_secs(3)).await;
        assert!(
            rest.is_some(),
            "still open 3 s after a 600 ms head deadline"
        );
    }
    // The server counts a timeout just after closing the socket.
    for _ in 0..40 {
        if s.daemon.http_stats.totals().3 >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (_, _, _, header_timeouts) = s.daemon.http_stats.totals();
    assert!(header_timeouts >= 2, "{header_timeouts}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_shorter_than_its_content_length_is_cut_off_by_the_body_timeout() {
    let s = Served::start(short_timeouts()).await;
    let mut stream = s.connect().await;
    let head = format!(
        "POST /drain/shop/{SECRET} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/logplex-1\r\nContent-Length: 1000\r\n\r\n12 <45>1 short"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    assert_eq!(
        read_until_closed(&mut stream, Duration::from_millis(200)).await,
        None
    );
    let answer = read_until_closed(&mut stream, Duration::from_secs(3))
        .await
        .expect("the stalled body is cut off within 3 s");
    // Whatever the server said before closing, it did not accept the batch.
    assert!(
        answer.is_empty() || status(&answer).starts_with('4'),
        "{answer}"
    );
    assert_eq!(s.daemon.ingest.metrics.lines(), 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_over_the_size_limit_gets_431() {
    let s = Served::start(HttpLimits::default()).await;
    let mut stream = s.connect().await;
    let big = "a".repeat(20 * 1024);
    let request = format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {big}\r\n\r\n");
    let response = exchange(&mut stream, &request).await;
    assert_eq!(status(&response), "431", "{response}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_connection_cap_healthz_answers_and_drains_get_503_with_retry_after() {
    let limits = HttpLimits {
        max_connections: 3,
        max_connections_per_client: 0,
        ..HttpLimits::default()
    };
    let s = Served::start(limits).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(s.connect().await);
    }
    // Let the server admit the held connections before the next ones arrive.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut probe = s.connect().await;
    let health = exchange(&mut probe, HEALTHZ).await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    let mut drain = s.connect().await;
    let shed = exchange(&mut drain, &drain_post("5 hello")).await;
    assert_eq!(status(&shed), "503", "{shed}");
    assert!(
        shed.to_ascii_lowercase().contains("retry-after: 5"),
        "{shed}"
    );
    assert!(
        read_until_closed(&mut drain, Duration::from_secs(2))
            .await
            .is_some()
    );

    // With the shedding slots held too, a connection is answered 503 at once and closed.
    for _ in 0..3 {
        held.push(s.connect().await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut refused = s.connect().await;
    let answer = read_until_closed(&mut refused, Duration::from_secs(1))
        .await
        .expect("closed at once");
    assert_eq!(status(&answer), "503", "{answer}");
    assert!(answer.contains("Retry-After: 5"), "{answer}");

    let (_, shed_count, refused_count, _) = s.daemon.http_stats.totals();
    assert!(
        shed_count >= 2 && refused_count >= 1,
        "{shed_count} {refused_count}"
    );
    // Once the flood lets go, drains are served again.
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut after = s.connect().await;
    let accepted = exchange(&mut after, &drain_post("5 hello")).await;
    assert_eq!(status(&accepted), "204", "{accepted}");
    // The flood is visible to whoever scrapes /metrics.
    let mut scrape = s.connect().await;
    scrape
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let metrics = read_until_closed(&mut scrape, Duration::from_secs(5))
        .await
        .expect("a full /metrics answer");
    assert_eq!(status(&metrics), "200", "{metrics}");
    let counter = |name: &str| -> u64 {
        let prefix = format!("{name} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    };
    assert!(counter("dynopilot_http_connections_shed_total") >= shed_count);
    assert!(counter("dynopilot_http_connections_refused_total") >= refused_count);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_over_its_cap_is_shed_while_another_client_is_served() {
    let limits = HttpLimits {
        max_connections_per_client: 2,
        ..HttpLimits::default()
    };
    let s = Served::start(limits).await;
    let flood = [127, 0, 0, 2];
    let _held = [s.connect_from(flood).await, s.connect_from(flood).await];
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut third = s.connect_from(flood).await;
    let shed = exchange(&mut third, &drain_post("5 hello")).await;
    assert_eq!(status(&shed), "503", "{shed}");

    let mut other = s.connect().await;
    let served = exchange(&mut other, &drain_post("5 hello")).await;
    assert_eq!(status(&served), "204", "{served}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_idle_connections() {
    let s = Served::start(HttpLimits::default()).await;
    let _idle = [s.connect().await, s.connect().await];
    let mut kept_alive = s.connect().await;
    assert!(
        exchange(&mut kept_alive, HEALTHZ)
            .await
            .starts_with("HTTP/1.1 200")
    );
    timeout(Duration::from_secs(3), s.stop())
        .await
        .expect("shutdown within 3 s with idle connections open");
}
