//! Queue reads for 50 apps against the real Redis, and what they cost the runner's critical
//! path. Each app has a Sidekiq source with 3 queues of 100 jobs. Measured: one round of all 50
//! reads run concurrently (off the path: each poller is its own task), and the time the runner
//! would wait to take the fleet lock and copy one app's observed state (what a tick does per
//! app) with the 50 pollers polling flat out versus idle.
//!
//! Run: `DYNOPILOT_TEST_REDIS_URL=redis://127.0.0.1:6379 cargo bench -p dynopilot-server --bench queues`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench: failing loudly is the point
#![allow(clippy::disallowed_methods)] // a bench measures wall time

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dynopilot_core::Clock;
use dynopilot_queues::Adapter;
use dynopilot_server::config::{QueueSourceConfig, Secret};
use dynopilot_server::ingest::Ingest;
use dynopilot_server::queue_poll::{Polled, QueuePoller};
use redis::AsyncCommands;

const APPS: usize = 50;
const QUEUES: [&str; 3] = ["default", "mailers", "low"];
const JOBS: usize = 100;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn show(label: &str, mut v: Vec<Duration>) {
    v.sort();
    println!(
        "{label}: n={} p50={:?} p99={:?} max={:?}",
        v.len(),
        percentile(&v, 0.5),
        percentile(&v, 0.99),
        v[v.len() - 1]
    );
}

async fn fill(url: &str, ns: &str) {
    let client = redis::Client::open(url).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    for app in 0..APPS {
        let p = format!("{ns}-{app}");
        let _: () = c.sadd(format!("{p}:queues"), &QUEUES[..]).await.unwrap();
        for q in QUEUES {
            let jobs: Vec<String> = (0..JOBS)
                .map(|i| format!(r#"{{"class":"J","args":[{i}],"queue":"{q}","jid":"{i}","enqueued_at":1780000000.5}}"#))
                .collect();
            let _: () = c.lpush(format!("{p}:queue:{q}"), jobs).await.unwrap();
        }
    }
}

async fn clean(url: &str, ns: &str) {
    let client = redis::Client::open(url).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = c.keys(format!("{ns}-*")).await.unwrap();
    for chunk in keys.chunks(500) {
        let _: () = c.del(chunk).await.unwrap();
    }
}

/// 2,000 ticks' worth of what the runner does per app: lock the fleet, copy the app's
/// observed state; the sum over the 50 apps per tick.
async fn ticks(ingest: &Ingest) -> Vec<Duration> {
    let ingest = ingest.clone();
    tokio::task::spawn_blocking(move || {
        (0..2_000)
            .map(|_| {
                let started = Instant::now();
                for app in 0..APPS {
                    let fleet = ingest.fleet.lock().unwrap();
                    let observed = fleet.app(&format!("app-{app}")).map(|a| a.observed.clone());
                    drop(fleet);
                    std::hint::black_box(observed);
                }
                started.elapsed()
            })
            .collect()
    })
    .await
    .unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let url = std::env::var("DYNOPILOT_TEST_REDIS_URL").expect("set DYNOPILOT_TEST_REDIS_URL");
    let ns = format!("dp-bench-{}", std::process::id());
    fill(&url, &ns).await;
    let clock: Arc<dyn Clock> = Arc::new(dynopilot_clock::SystemClock);
    let ingest = Ingest::new(clock);
    let pollers: Vec<Arc<QueuePoller>> = (0..APPS)
        .map(|app| {
            let config = QueueSourceConfig {
                adapter: Adapter::Sidekiq,
                url: Secret::new(url.clone()),
                queues: Vec::new(),
                namespace: Some(format!("{ns}-{app}")),
                process_type: "worker".to_owned(),
                interval: Duration::from_secs(10),
                timeout: Duration::from_secs(5),
            };
            Arc::new(QueuePoller::new(&format!("app-{app}"), config, ingest.clone()).unwrap())
        })
        .collect();

    let mut rounds = Vec::new();
    for _ in 0..30 {
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for p in &pollers {
            let p = Arc::clone(p);
            tasks.spawn(async move { p.poll_once().await });
        }
        while let Some(outcome) = tasks.join_next().await {
            assert!(
                matches!(outcome.unwrap(), Polled::Sample(s) if s.depth == (QUEUES.len() * JOBS) as u64)
            );
        }
        rounds.push(started.elapsed());
    }
    show(
        "one round of 50 queue reads (3 queues each), concurrent, off the path",
        rounds,
    );

    show(
        "a tick's lock + copy of 50 apps, pollers idle",
        ticks(&ingest).await,
    );
    let busy = Arc::new(AtomicBool::new(true));
    let mut background = tokio::task::JoinSet::new();
    for p in &pollers {
        let (p, busy) = (Arc::clone(p), Arc::clone(&busy));
        background.spawn(async move {
            while busy.load(Ordering::Relaxed) {
                p.poll_once().await;
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let under_load = ticks(&ingest).await;
    busy.store(false, Ordering::Relaxed);
    let mut reads = 0;
    while background.join_next().await.is_some() {
        reads += 1;
    }
    assert_eq!(reads, APPS);
    show(
        "a tick's lock + copy of 50 apps, 50 pollers reading flat out",
        under_load,
    );
    clean(&url, &ns).await;
}
