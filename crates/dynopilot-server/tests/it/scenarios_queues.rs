//! Scenarios with a job queue read from the real Redis (`[[apps.queues]]`, Sidekiq's key
//! layout): a backlog scales workers 0 → N and a drained queue takes them back to 0 only after
//! `scale_to_zero_after`; Redis going away mid-run (a loopback proxy to it is shut) and a
//! queue key holding garbage are counted read errors that never scale anything down.

use std::time::Duration;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::{self, ProcessTypeConfig};
use dynopilot_core::scaling::{HorizontalConfig, QueueConfig};
use dynopilot_heroku::HerokuClient;
use dynopilot_queues::Adapter;
use dynopilot_server::config::QueueSourceConfig;
use dynopilot_server::config::Secret;
use dynopilot_server::daemon::DaemonHandle;
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, Workload};
use dynopilot_workload::{TrafficPattern, WorkloadConfig};
use jiff::SignedDuration;
use redis::AsyncCommands;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::scenarios::{FastClock, quantity, sim_client, start_daemon, start_sim};

const IDLE_WINDOW_S: u64 = 20;
const NEEDS_REDIS: &str = "needs Redis: set DYNOPILOT_TEST_REDIS_URL=redis://127.0.0.1:6379";

fn redis_url() -> String {
    std::env::var("DYNOPILOT_TEST_REDIS_URL").expect(NEEDS_REDIS)
}

/// The demo app with `workers` worker dynos and no modelled jobs: only the Redis queue speaks.
fn app(workers: u32) -> AppSpec {
    let mut model = WorkloadConfig::demo();
    model.traffic = TrafficPattern::Constant { rps: 1.0 };
    model.jobs = None;
    model.platform.cycling = false;
    for p in &mut model.process_types {
        p.crashes_per_day = 0.0;
        p.memory.leak_mb_per_hour = 0.0;
        p.boot_s = 2.0;
        if p.name == "worker" {
            p.quantity = workers;
        }
    }
    AppSpec {
        name: "shop".to_owned(),
        owner: DEMO_EMAIL.to_owned(),
        formation: Vec::new(),
        workload: Workload::Model(Box::new(model)),
    }
}

fn worker_policy() -> policy::Config {
    let mut config = policy::Config::new("shop");
    config.guardrails.deploy_freeze = policy::ConfigDuration::from_secs(0);
    let queue = QueueConfig {
        jobs_per_dyno: Some(20.0),
        scale_to_zero_after: Some(SignedDuration::from_secs(IDLE_WINDOW_S as i64)),
        max_step_down: None,
        up_cooldown: SignedDuration::from_secs(5),
        down_cooldown: SignedDuration::from_secs(5),
        ..QueueConfig::default()
    };
    config.process_types.insert(
        "worker".to_owned(),
        ProcessTypeConfig {
            min: Some(0),
            max: Some(6),
            autoscale: Some(HorizontalConfig::Queue(queue)),
            ..ProcessTypeConfig::default()
        },
    );
    config
}

fn sidekiq(url: &str, namespace: &str) -> QueueSourceConfig {
    QueueSourceConfig {
        adapter: Adapter::Sidekiq,
        url: Secret::new(url),
        queues: Vec::new(),
        namespace: Some(namespace.to_owned()),
        process_type: "worker".to_owned(),
        interval: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
    }
}

async fn redis() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(redis_url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// Enqueues `n` jobs the way Sidekiq 7 does (`LPUSH`, `enqueued_at` in float seconds).
async fn enqueue(
    c: &mut redis::aio::MultiplexedConnection,
    ns: &str,
    queue: &str,
    n: usize,
    at: Timestamp,
) {
    let _: () = c.sadd(format!("{ns}:queues"), queue).await.unwrap();
    for i in 0..n {
        let job = serde_json::json!({
            "class": "ReportJob", "args": [i], "queue": queue, "retry": true,
            "jid": format!("{i:024x}"), "created_at": at.as_millis() as f64 / 1000.0,
            "enqueued_at": at.as_millis() as f64 / 1000.0,
        });
        let _: () = c
            .lpush(format!("{ns}:queue:{queue}"), job.to_string())
            .await
            .unwrap();
    }
}

async fn clean(c: &mut redis::aio::MultiplexedConnection, ns: &str) {
    let keys: Vec<String> = c.keys(format!("{ns}:*")).await.unwrap();
    if !keys.is_empty() {
        let _: () = c.del(keys).await.unwrap();
    }
}

/// `dynopilot_queue_read_errors_total` of shop's workers with `kind`, from `/metrics`.
async fn read_errors(daemon: &DaemonHandle, kind: &str) -> f64 {
    let text = reqwest::get(format!("{}/metrics", daemon.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("dynopilot_queue_read_errors_total{"))
        .filter(|l| l.contains("app=\"shop\"") && l.contains(&format!("kind=\"{kind}\"")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn workers(client: &HerokuClient) -> u32 {
    quantity(client, "shop", "worker").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(dynopilot_has_redis),
    ignore = "needs Redis: set DYNOPILOT_TEST_REDIS_URL=redis://127.0.0.1:6379"
)]
async fn a_sidekiq_backlog_scales_workers_from_zero_and_a_drained_queue_back_after_the_window() {
    let ns = format!("dp-scenario-{}", uuid::Uuid::new_v4().simple());
    let mut c = redis().await;
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let sim = start_sim(app(0), &clock).await;
    let daemon = start_daemon(&sim, worker_policy(), "sqlite::memory:", &clock).await;
    daemon
        .spawn_queue_pollers("shop", &[sidekiq(&redis_url(), &ns)])
        .unwrap();
    let client = sim_client(&sim, &clock);

    fast.sleep(Duration::from_secs(10)).await;
    assert_eq!(workers(&client).await, 0, "an empty queue starts nothing");
    enqueue(&mut c, &ns, "default", 70, fast.now()).await;
    // 70 jobs at 20 per dyno: 4 workers.
    fast.until(
        "workers up for the backlog",
        Duration::from_secs(60),
        async || workers(&client).await == 4,
    )
    .await;

    let _: () = c.del(format!("{ns}:queue:default")).await.unwrap();
    let drained_at = fast.now();
    fast.until(
        "workers back at zero",
        Duration::from_secs(120),
        async || workers(&client).await == 0,
    )
    .await;
    let waited = fast.now().since(drained_at);
    assert!(
        waited >= Duration::from_secs(IDLE_WINDOW_S),
        "scaled to zero {waited:?} after the queue drained, before the {IDLE_WINDOW_S} s window"
    );
    assert_eq!(read_errors(&daemon, "redis").await, 0.0);
    clean(&mut c, &ns).await;
    daemon.shutdown().await;
    sim.shutdown();
}

/// A loopback TCP proxy to Redis that can be shut, closing its port and every connection.
struct Proxy {
    url: String,
    tasks: JoinSet<()>,
}

impl Proxy {
    async fn start() -> Proxy {
        let upstream = redis_url()
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut conns = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                conns.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Proxy { url, tasks }
    }

    /// Redis "stops": the listener and every proxied connection are dropped.
    async fn stop(mut self) {
        self.tasks.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(dynopilot_has_redis),
    ignore = "needs Redis: set DYNOPILOT_TEST_REDIS_URL=redis://127.0.0.1:6379"
)]
async fn redis_stopping_mid_run_is_counted_and_scales_nothing_down() {
    let ns = format!("dp-scenario-{}", uuid::Uuid::new_v4().simple());
    let mut c = redis().await;
    let proxy = Proxy::start().await;
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let sim = start_sim(app(0), &clock).await;
    let daemon = start_daemon(&sim, worker_policy(), "sqlite::memory:", &clock).await;
    daemon
        .spawn_queue_pollers("shop", &[sidekiq(&proxy.url, &ns)])
        .unwrap();
    let client = sim_client(&sim, &clock);
    enqueue(&mut c, &ns, "default", 30, fast.now()).await;
    fast.until(
        "workers up for the backlog",
        Duration::from_secs(60),
        async || workers(&client).await == 2,
    )
    .await;

    proxy.stop().await;
    // Had the outage read as an empty queue, workers would be at 0 after the idle window.
    let stopped_at = fast.now();
    fast.until("read errors counted", Duration::from_secs(30), async || {
        read_errors(&daemon, "redis").await + read_errors(&daemon, "timeout").await >= 3.0
    })
    .await;
    while fast.now().since(stopped_at) < Duration::from_secs(IDLE_WINDOW_S * 3) {
        assert_eq!(
            workers(&client).await,
            2,
            "a Redis outage changed the workers"
        );
        fast.sleep(Duration::from_secs(5)).await;
    }
    clean(&mut c, &ns).await;
    daemon.shutdown().await;
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(dynopilot_has_redis),
    ignore = "needs Redis: set DYNOPILOT_TEST_REDIS_URL=redis://127.0.0.1:6379"
)]
async fn a_queue_key_holding_garbage_is_counted_and_holds_the_workers() {
    let ns = format!("dp-scenario-{}", uuid::Uuid::new_v4().simple());
    let mut c = redis().await;
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let sim = start_sim(app(2), &clock).await;
    let daemon = start_daemon(&sim, worker_policy(), "sqlite::memory:", &clock).await;
    // The default queue is empty; "broken" is a string where Sidekiq keeps a list.
    let _: () = c
        .sadd(format!("{ns}:queues"), &["default", "broken"])
        .await
        .unwrap();
    let _: () = c
        .set(format!("{ns}:queue:broken"), "{\"oops\":")
        .await
        .unwrap();
    daemon
        .spawn_queue_pollers("shop", &[sidekiq(&redis_url(), &ns)])
        .unwrap();
    let client = sim_client(&sim, &clock);

    fast.until(
        "garbage reads counted",
        Duration::from_secs(30),
        async || read_errors(&daemon, "garbage").await >= 3.0,
    )
    .await;
    let started = fast.now();
    // A partial read is no sample: the empty default queue must not take workers to zero.
    while fast.now().since(started) < Duration::from_secs(IDLE_WINDOW_S * 3) {
        assert_eq!(
            workers(&client).await,
            2,
            "a garbage key changed the workers"
        );
        fast.sleep(Duration::from_secs(5)).await;
    }
    let observed = daemon
        .ingest
        .fleet
        .lock()
        .unwrap()
        .app("shop")
        .unwrap()
        .observed
        .clone();
    let queue = observed
        .process_types
        .get("worker")
        .map(|p| p.queue.len())
        .unwrap_or(0);
    assert_eq!(queue, 0, "no sample from a read with a fault");
    clean(&mut c, &ns).await;
    daemon.shutdown().await;
    sim.shutdown();
}
