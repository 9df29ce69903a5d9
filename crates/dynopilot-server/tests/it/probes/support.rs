//! Shared pieces: service URLs (skipped visibly without them), a loopback HTTP endpoint whose
//! delay the test sets, a TCP relay that can be stopped to imitate a server going away, and
//! probe configs.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dynopilot_core::Clock;
use dynopilot_core::policy::CheckKind;
use dynopilot_server::config::{AppProbes, CheckConfig, ProbeConfig, Secret, Threshold};
use dynopilot_server::ingest::Ingest;
use dynopilot_server::probes::{self, ProbeStats};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The URL of a service for tests, from `vars` in order; `None` (with one visible line saying
/// what is skipped and how to enable it) when unset, a failure with `DYNOPILOT_REQUIRE_SERVICES=1`.
pub fn service(what: &str, vars: &[&str]) -> Option<String> {
    if let Some(url) = vars
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
    {
        return Some(url);
    }
    if std::env::var("DYNOPILOT_REQUIRE_SERVICES").as_deref() == Ok("1") {
        panic!("DYNOPILOT_REQUIRE_SERVICES=1 but {} is not set", vars[0]);
    }
    println!("SKIPPED {what}: set {} to run it", vars[0]);
    None
}

pub fn redis_url() -> Option<String> {
    service("probes Redis check test", &["DYNOPILOT_TEST_REDIS_URL"])
}

pub fn postgres_url() -> Option<String> {
    service(
        "probes Postgres check test",
        &["DYNOPILOT_TEST_DATABASE_URL", "DYNOPILOT_TEST_POSTGRES_URL"],
    )
}

/// A loopback endpoint answering `200 ok` after the delay the test sets; it records when each
/// request arrived (milliseconds since it started).
#[derive(Clone)]
pub struct Heartbeat {
    pub addr: SocketAddr,
    pub delay_ms: Arc<AtomicU64>,
    pub arrivals: Arc<Mutex<Vec<u128>>>,
}

impl Heartbeat {
    pub async fn start(delay_ms: u64) -> Heartbeat {
        let delay = Arc::new(AtomicU64::new(delay_ms));
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let started = tokio::time::Instant::now();
        let (d, a) = (Arc::clone(&delay), Arc::clone(&arrivals));
        let app = axum::Router::new().route(
            "/heartbeat",
            axum::routing::get(move || {
                let (d, a) = (Arc::clone(&d), Arc::clone(&a));
                async move {
                    a.lock().unwrap().push(started.elapsed().as_millis());
                    tokio::time::sleep(Duration::from_millis(d.load(Ordering::SeqCst))).await;
                    "ok"
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Heartbeat {
            addr,
            delay_ms: delay,
            arrivals,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/heartbeat", self.addr)
    }

    pub fn set_delay(&self, ms: u64) {
        self.delay_ms.store(ms, Ordering::SeqCst);
    }
}

pub fn heartbeat(url: &str, timeout_ms: u64, interval_ms: u64) -> ProbeConfig {
    ProbeConfig {
        name: "heartbeat".to_owned(),
        url: url.to_owned(),
        method: "GET".to_owned(),
        expect_status: 200,
        body_contains: Some("ok".to_owned()),
        timeout: Duration::from_millis(timeout_ms),
        interval: Duration::from_millis(interval_ms),
        headers: vec![("x-probe-token".to_owned(), Secret::new("hush"))],
        process_type: "web".to_owned(),
    }
}

pub fn check(
    name: &str,
    kind: CheckKind,
    url: &str,
    thresholds: &[(&str, Threshold)],
) -> CheckConfig {
    CheckConfig {
        name: name.to_owned(),
        kind,
        url: Secret::new(url),
        replica_url: None,
        interval: Duration::from_millis(100),
        timeout: Duration::from_secs(5),
        expect_status: 200,
        thresholds: thresholds
            .iter()
            .map(|(k, t)| ((*k).to_owned(), *t))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// Probes of one app running on their own, feeding `ingest`'s fleet.
pub struct Running {
    pub ingest: Ingest,
    pub stats: Arc<ProbeStats>,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl Running {
    pub fn start(app: &str, probes: AppProbes, clock: Arc<dyn Clock>) -> Running {
        let ingest = Ingest::new(Arc::clone(&clock));
        let (cancel, tasks) = (CancellationToken::new(), TaskTracker::new());
        let stats = probes::spawn(
            vec![(app.to_owned(), probes)],
            &ingest,
            &clock,
            &tasks,
            &cancel,
        );
        Running {
            ingest,
            stats,
            cancel,
            tasks,
        }
    }

    pub fn observed(&self, app: &str) -> dynopilot_core::policy::ObservedState {
        let fleet = self.ingest.fleet.lock().unwrap();
        fleet
            .app(app)
            .map(|a| a.observed.clone())
            .unwrap_or_default()
    }

    pub async fn stop(self) {
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// A TCP relay to `target` on a fixed loopback port; `stop` closes the port and cuts every
/// relayed connection (a server gone away), `start` opens it again.
pub struct Relay {
    pub port: u16,
    target: String,
    cut: Mutex<CancellationToken>,
}

impl Relay {
    pub async fn new(target: &str) -> Arc<Relay> {
        let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let relay = Arc::new(Relay {
            port,
            target: target.to_owned(),
            cut: Mutex::new(CancellationToken::new()),
        });
        relay.start().await;
        relay
    }

    pub async fn start(self: &Arc<Self>) {
        let cut = CancellationToken::new();
        *self.cut.lock().unwrap() = cut.clone();
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        let target = self.target.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = cut.cancelled() => return,
                    a = listener.accept() => a,
                };
                let Ok((mut inbound, _)) = accepted else {
                    continue;
                };
                let (target, cut) = (target.clone(), cut.clone());
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        () = cut.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    }
                });
            }
        });
    }

    pub fn stop(&self) {
        self.cut.lock().unwrap().cancel();
    }
}

/// host:port of a `scheme://[user@]host:port/...` URL.
pub fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap().to_owned()
}

/// Waits up to `limit` (real time) for `cond`.
pub async fn eventually(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("not within {limit:?}: {what}");
}
