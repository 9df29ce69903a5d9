//! Server time to render the dashboard and answer the chart API over a realistic store: ten
//! apps, 30 days of per-minute rollups, samples as retention leaves them (raw for 6 h,
//! five-minute rows to 48 h), and a month of decisions, actions and events, in a SQLite file.
//! Requests go through the axum router with `oneshot` (no socket); the time includes reading
//! the whole body. Target: under 100 ms for each page and endpoint.
//!
//! Run: `cargo bench -p dynopilot-server --bench pages` (optional argument: iterations, 30).
//! `DYNOPILOT_BENCH_DB=path.db` keeps the filled database between runs (filled if missing).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench: failing loudly is the point

mod fill;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use dynopilot_core::{Clock, ManualClock, Timestamp};
use dynopilot_server::ingest::Ingest;
use dynopilot_server::web::link::RunnerLink;
use dynopilot_server::web::{self, WebSettings, WebState};
use tower::ServiceExt;

/// 2026-03-02T14:30:00Z: an afternoon, near the daily peak.
const NOW_MS: i64 = 1_772_461_800_000;
const TARGET_MS: f64 = 100.0;

fn main() {
    let iterations: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(30);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(iterations));
}

async fn run(iterations: usize) {
    let now = Timestamp::from_millis(NOW_MS);
    let (path, keep) = match std::env::var_os("DYNOPILOT_BENCH_DB") {
        Some(p) => (PathBuf::from(p), true),
        None => (
            std::env::temp_dir().join(format!("dynopilot-pages-{}.db", std::process::id())),
            false,
        ),
    };
    let fresh = !path.exists();
    let store = dynopilot_store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    if fresh {
        let began = wall();
        let filled = fill::fill_store(store.as_ref(), now).await;
        println!(
            "filled {} in {:.1} s: {filled:?}",
            path.display(),
            began.elapsed().as_secs_f64()
        );
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("database: {:.0} MB", size as f64 / 1e6);
    let router = router(Arc::clone(&store), now);
    let app = format!("app-{:02}", fill::APPS - 1);
    let pages = [
        ("fleet page", "/".to_owned()),
        ("fleet table (htmx)", "/fleet/table".to_owned()),
        ("app page", format!("/apps/{app}")),
        ("app panel (htmx)", format!("/apps/{app}/panel")),
        ("GET /api/v1/apps", "/api/v1/apps".to_owned()),
        ("series 1h", format!("/api/v1/apps/{app}/series?range=1h")),
        ("series 24h", format!("/api/v1/apps/{app}/series?range=24h")),
        ("series 7d", format!("/api/v1/apps/{app}/series?range=7d")),
        ("series 30d", format!("/api/v1/apps/{app}/series?range=30d")),
        (
            "decisions (7d, 100)",
            format!("/api/v1/apps/{app}/decisions"),
        ),
        ("actions (7d, 100)", format!("/api/v1/apps/{app}/actions")),
        ("events (7d, 100)", format!("/api/v1/apps/{app}/events")),
        ("/metrics", "/metrics".to_owned()),
    ];
    println!(
        "{:<22} {:>9} {:>9} {:>9} {:>10}",
        "request", "p50 ms", "p95 ms", "max ms", "body KB"
    );
    let mut missed = Vec::new();
    for (name, uri) in &pages {
        let (times, bytes) = measure(&router, uri, iterations).await;
        let p95 = percentile(&times, 0.95);
        println!(
            "{name:<22} {:>9.2} {p95:>9.2} {:>9.2} {:>10.1}",
            percentile(&times, 0.5),
            percentile(&times, 1.0),
            bytes as f64 / 1e3
        );
        if p95 >= TARGET_MS {
            missed.push(*name);
        }
    }
    if missed.is_empty() {
        println!("every request under {TARGET_MS} ms at p95");
    } else {
        println!("over {TARGET_MS} ms at p95: {}", missed.join(", "));
    }
    store.close().await.unwrap();
    if !keep {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}

fn router(store: Arc<dyn dynopilot_store::Store>, now: Timestamp) -> Router {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now));
    let ingest = Ingest::new(Arc::clone(&clock));
    {
        let mut fleet = ingest.fleet.lock().unwrap();
        let mut rng = fill::Rng::new(11);
        for shape in fill::shapes() {
            fleet.app_mut(&shape.name).observed = fill::observed(&shape, now, &mut rng);
        }
    }
    let policies: BTreeMap<_, _> = fill::policies();
    // No runner: the pages only read, and controls are not measured.
    let (controls, _) = tokio::sync::mpsc::channel(1);
    let state = WebState::new(
        ingest,
        store,
        clock,
        policies,
        controls,
        &RunnerLink::default(),
        WebSettings::default(),
    );
    web::router(state)
}

#[allow(clippy::disallowed_methods)] // benches measure wall time
fn wall() -> std::time::Instant {
    std::time::Instant::now()
}

/// Milliseconds per request (after two warm-up requests) and the body size.
async fn measure(router: &Router, uri: &str, iterations: usize) -> (Vec<f64>, usize) {
    let mut times = Vec::with_capacity(iterations);
    let mut bytes = 0;
    for i in 0..iterations + 2 {
        let began = wall();
        let response = router
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .unwrap();
        let elapsed = began.elapsed();
        assert!(status.is_success(), "GET {uri}: {status}");
        if i >= 2 {
            times.push(elapsed.as_secs_f64() * 1e3);
        }
        bytes = body.len();
    }
    times.sort_by(f64::total_cmp);
    (times, bytes)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}
