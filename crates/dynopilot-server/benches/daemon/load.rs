//! The bench's load generator (realistic drain batches over several keep-alive connections),
//! the reaction-time trials, and reading a process's RSS from /proc.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dynopilot_core::Timestamp;
use dynopilot_logplex::corpus::{self, Corpus, CorpusConfig};
use dynopilot_logplex::encode::{self, Record};
use dynopilot_logplex::message::MemorySample;
use dynopilot_sim::SimHandle;

/// One drain POST body and its `Logplex-Msg-Count`.
pub struct Body {
    pub bytes: bytes::Bytes,
    pub lines: usize,
}

/// `count` batches of about `size` bytes each from the generated corpus (a busy app: 10 web
/// dynos at 2,000 requests/s, so mostly router lines plus runtime metrics and app output).
pub fn bodies(size: usize, count: usize) -> Vec<Body> {
    let mut corpus = Corpus::new(CorpusConfig {
        web_dynos: 4,
        worker_dynos: 2,
        requests_per_second: 2_000,
        incidents: false,
        ..CorpusConfig::default()
    });
    let mut out = Vec::with_capacity(count);
    let mut pending = Vec::new();
    while out.len() < count {
        pending.extend(corpus.next_second());
        while out.len() < count {
            let mut bytes = Vec::with_capacity(size + 1024);
            let mut lines = 0;
            while bytes.len() < size && lines < pending.len() {
                corpus::write_drain(&pending[lines..=lines], &mut bytes);
                lines += 1;
            }
            if bytes.len() < size {
                break; // need another second of entries
            }
            pending.drain(..lines);
            out.push(Body {
                bytes: bytes.into(),
                lines,
            });
        }
    }
    out
}

pub struct LoadResult {
    pub seconds: f64,
    pub lines: u64,
    pub bytes: u64,
    pub accepted: u64,
    pub shed: u64,
    pub other: u64,
    pub peak_rss_mb: f64,
}

#[derive(Default)]
struct Counters {
    lines: AtomicU64,
    bytes: AtomicU64,
    accepted: AtomicU64,
    shed: AtomicU64,
    other: AtomicU64,
    frame: AtomicU64,
}

/// Posts `bodies` round-robin over `connections` keep-alive connections for `duration`, each
/// with a fresh `Logplex-Frame-Id` (a repeated one would be dropped as a retry), sampling the
/// daemon's RSS meanwhile.
pub async fn drive(
    url: &str,
    bodies: Arc<Vec<Body>>,
    connections: usize,
    duration: Duration,
    pid: u32,
) -> LoadResult {
    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    #[expect(clippy::disallowed_methods)] // a bench measures wall time
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .unwrap();
        let (url, bodies, counters, stop) = (
            url.to_owned(),
            Arc::clone(&bodies),
            Arc::clone(&counters),
            Arc::clone(&stop),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let body = &bodies[i % bodies.len()];
                i += connections;
                post(&client, &url, body, &counters).await;
            }
        }));
    }
    let mut peak: f64 = 0.0;
    while started.elapsed() < duration {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak = peak.max(rss(pid).rss_mb);
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    LoadResult {
        seconds,
        lines: counters.lines.load(Ordering::Relaxed),
        bytes: counters.bytes.load(Ordering::Relaxed),
        accepted: counters.accepted.load(Ordering::Relaxed),
        shed: counters.shed.load(Ordering::Relaxed),
        other: counters.other.load(Ordering::Relaxed),
        peak_rss_mb: peak,
    }
}

async fn post(client: &reqwest::Client, url: &str, body: &Body, counters: &Counters) {
    let frame = counters.frame.fetch_add(1, Ordering::Relaxed);
    let sent = client
        .post(url)
        .header("content-type", "application/logplex-1")
        .header("logplex-msg-count", body.lines.to_string())
        .header("logplex-frame-id", format!("bench-{frame:016x}"))
        .header("logplex-drain-token", "d.bench")
        .body(body.bytes.clone())
        .send()
        .await;
    match sent.map(|r| r.status().as_u16()) {
        Ok(204) => {
            counters.accepted.fetch_add(1, Ordering::Relaxed);
            counters
                .lines
                .fetch_add(body.lines as u64, Ordering::Relaxed);
            counters
                .bytes
                .fetch_add(body.bytes.len() as u64, Ordering::Relaxed);
        }
        Ok(503) => {
            counters.shed.fetch_add(1, Ordering::Relaxed);
        }
        _ => {
            counters.other.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Resident and peak-resident memory of a process, from /proc/<pid>/status.
pub struct Rss {
    pub rss_mb: f64,
    pub hwm_mb: f64,
}

pub fn rss(pid: u32) -> Rss {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    Rss {
        rss_mb: field("VmRSS:"),
        hwm_mb: field("VmHWM:"),
    }
}

/// `trials` times: POST one over-quota memory sample for a dyno not restarted yet
/// (web.`first_dyno`, web.`first_dyno`+1, …) and wait for its restart at the simulator.
/// Returns the milliseconds each took.
pub async fn reactions(base: &str, sim: &SimHandle, trials: usize, first_dyno: usize) -> Vec<f64> {
    let client = reqwest::Client::new();
    let url = format!("{base}/drain/{}/{}", super::APP, super::SECRET);
    let mut out = Vec::with_capacity(trials);
    for t in 0..trials {
        let dyno = format!("web.{}", first_dyno + t);
        let body = memory_frame(&dyno);
        let path = format!("/apps/{}/dynos/{dyno}", super::APP);
        #[expect(clippy::disallowed_methods)] // a bench measures wall time
        let started = Instant::now();
        let status = client
            .post(&url)
            .header("logplex-msg-count", "1")
            .body(body)
            .send()
            .await
            .map(|r| r.status().as_u16());
        assert_eq!(status.ok(), Some(204), "trial {t}: drain POST failed");
        loop {
            if sim
                .actions()
                .iter()
                .any(|a| a.method == "DELETE" && a.path == path)
            {
                out.push(started.elapsed().as_secs_f64() * 1e3);
                break;
            }
            if started.elapsed() > Duration::from_secs(10) {
                println!("trial {t}: no restart of {dyno} within 10 s");
                break;
            }
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    out
}

/// One drain frame: a runtime-metrics memory sample of 600 MB on a 512 MB quota, stamped now.
fn memory_frame(dyno: &str) -> Vec<u8> {
    let sample = MemorySample {
        source: Some(dyno),
        dyno_id: Some("heroku.1.4b88c98d-6243-4194-af49-8db9b53be371"),
        total_mb: Some(600.0),
        rss_mb: Some(600.0),
        cache_mb: Some(0.0),
        swap_mb: Some(0.0),
        pgpgin_pages: Some(1),
        pgpgout_pages: Some(1),
        quota_mb: Some(512.0),
        quota_pct: None,
    };
    let message = encode::memory(&sample);
    let timestamp = dynopilot_logplex::timestamp::format(now());
    let mut out = Vec::new();
    encode::push_frame(
        &mut out,
        &Record {
            priority: encode::default_priority("heroku", dyno),
            timestamp: &timestamp,
            source: "heroku",
            process: dyno,
            message: &message,
        },
    );
    out
}

fn now() -> Timestamp {
    use dynopilot_core::Clock as _;
    dynopilot_clock::SystemClock.now()
}
