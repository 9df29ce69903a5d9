//! Probes and checks stay off the runner's critical path: the runner's tick (`tick_once` over
//! 50 apps, each with web on a streak of `probe_latency` and the dependency gate) timed with no
//! probes, then with every app running an HTTP heartbeat and an http status check against a
//! loopback endpoint, and a Redis check when `DYNOPILOT_TEST_REDIS_URL` is set, all on the
//! same runtime as the runner. Prints p50 / p99 / mean tick times and the difference.
//!
//! Run: `cargo bench -p dynopilot-server --bench probes` (optional argument: ticks, default
//! 300; ticks are 20 ms apart, probes run every second).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench: failing loudly is the point
#![allow(clippy::disallowed_methods)] // a bench measures real elapsed time

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dynopilot_clock::SystemClock;
use dynopilot_core::Clock;
use dynopilot_core::policy::{self, CheckKind, Formation, ProcessTypeConfig};
use dynopilot_core::scaling::{HorizontalConfig, Signal, StreakConfig};
use dynopilot_server::config::{AppProbes, CheckConfig, ProbeConfig, Secret, Threshold};
use dynopilot_server::ingest::Ingest;
use dynopilot_server::runner::Runner;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const APPS: usize = 50;
/// Every target runs this often: 20 times the default heartbeat rate (20 s).
const PROBE_EVERY: Duration = Duration::from_secs(1);
const TICK_EVERY: Duration = Duration::from_millis(20);

fn app_name(i: usize) -> String {
    format!("shop-{i:02}")
}

fn policy(app: &str) -> policy::Config {
    let mut config = policy::Config::new(app);
    config.guardrails.dry_run = true;
    config.process_types.insert(
        "web".into(),
        ProcessTypeConfig {
            min: Some(2),
            max: Some(2),
            autoscale: Some(HorizontalConfig::Streak(StreakConfig {
                signal: Signal::ProbeLatency,
                ..StreakConfig::default()
            })),
            ..ProcessTypeConfig::default()
        },
    );
    config
}

async fn runner(clock: &Arc<dyn Clock>) -> (Runner, mpsc::Receiver<policy::Decision>) {
    let ingest = Ingest::new(Arc::clone(clock));
    {
        let mut fleet = ingest.fleet.lock().unwrap();
        for i in 0..APPS {
            let web = fleet
                .app_mut(&app_name(i))
                .observed
                .process_types
                .entry("web".into())
                .or_default();
            web.formation = Some(Formation {
                quantity: 2,
                size: "Standard-1X".into(),
                updated_at: clock.now(),
            });
        }
    }
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let (tx, rx) = mpsc::channel(1024);
    let runner = Runner {
        ingest,
        store,
        clock: Arc::clone(clock),
        policies: (0..APPS)
            .map(|i| (app_name(i), policy(&app_name(i))))
            .collect(),
        states: BTreeMap::new(),
        executor: tx,
        tick: TICK_EVERY,
        blocked_seen: BTreeMap::new(),
        web: Default::default(),
        journal_down: Default::default(),
        blind: Default::default(),
        following: Default::default(),
    };
    (runner, rx)
}

fn probes(url: &str, redis: Option<&str>) -> AppProbes {
    let threshold = |d| Threshold {
        degraded: Some(d),
        down: None,
    };
    let mut checks = vec![CheckConfig {
        name: "site".into(),
        kind: CheckKind::Http,
        url: Secret::new(url),
        replica_url: None,
        interval: PROBE_EVERY,
        timeout: Duration::from_secs(1),
        expect_status: 200,
        thresholds: BTreeMap::from([("latency_ms".into(), threshold(500.0))]),
    }];
    if let Some(redis) = redis {
        checks.push(CheckConfig {
            name: "cache".into(),
            kind: CheckKind::Redis,
            url: Secret::new(redis),
            thresholds: BTreeMap::from([("memory_pct".into(), threshold(90.0))]),
            ..checks[0].clone()
        });
    }
    AppProbes {
        heartbeats: vec![ProbeConfig {
            name: "heartbeat".into(),
            url: url.into(),
            method: "GET".into(),
            expect_status: 200,
            body_contains: None,
            timeout: Duration::from_secs(1),
            interval: PROBE_EVERY,
            headers: Vec::new(),
            process_type: "web".into(),
        }],
        pingdom: None,
        checks,
    }
}

/// Times `ticks` runner ticks, 20 ms apart; returns each tick's duration in ms.
async fn measure(runner: &mut Runner, clock: &Arc<dyn Clock>, ticks: usize) -> Vec<f64> {
    let mut took = Vec::with_capacity(ticks);
    let mut decisions = 0;
    for _ in 0..ticks {
        tokio::time::sleep(TICK_EVERY).await;
        let started = Instant::now();
        decisions += runner.tick_once(clock.now()).await.len();
        took.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    if ticks > 1 {
        println!("  ({decisions} decisions)");
    }
    took
}

fn report(label: &str, mut ms: Vec<f64>) -> f64 {
    ms.sort_by(f64::total_cmp);
    let pick = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    println!(
        "{label}: {} ticks of {APPS} apps, p50 {:.3} ms, p99 {:.3} ms, mean {:.3} ms",
        ms.len(),
        pick(0.5),
        pick(0.99),
        mean
    );
    mean
}

fn main() {
    let ticks: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(300);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let endpoint = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        tokio::spawn(async move { axum::serve(listener, endpoint).await });
        let redis = std::env::var("DYNOPILOT_TEST_REDIS_URL").ok();

        let (mut bare, _rx) = runner(&clock).await;
        let without = report("without probes", measure(&mut bare, &clock, ticks).await);

        let (mut probed, _rx2) = runner(&clock).await;
        let (tasks, cancel) = (TaskTracker::new(), CancellationToken::new());
        let apps = (0..APPS)
            .map(|i| (app_name(i), probes(&url, redis.as_deref())))
            .collect();
        let stats = dynopilot_server::probes::spawn(apps, &probed.ingest, &clock, &tasks, &cancel);
        // Let every target run a few times before timing.
        tokio::time::sleep(PROBE_EVERY * 3).await;
        let with = report(
            &format!(
                "with probes (heartbeat + http check{} per app)",
                if redis.is_some() {
                    " + redis check"
                } else {
                    ""
                }
            ),
            measure(&mut probed, &clock, ticks).await,
        );
        // The machine's load moves whole phases by more than the effect: tick the two runners
        // alternately, probes still running, so both see the same load. The difference is what
        // the probe data costs the tick (cloning and evaluating it).
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..ticks {
            a.extend(measure(&mut bare, &clock, 1).await);
            b.extend(measure(&mut probed, &clock, 1).await);
        }
        let bare_alt = report("alternating, runner without probes", a);
        let probed_alt = report("alternating, runner with probes", b);
        cancel.cancel();
        tasks.close();
        tasks.wait().await;
        let runs: u64 = stats
            .targets()
            .iter()
            .map(|(_, t)| dynopilot_server::probes::TargetStats::get(&t.runs))
            .sum();
        println!(
            "probe runs during the bench: {runs} over {} targets; added to the mean tick: \
             {:.3} ms (phases one after the other), {:.3} ms (alternating ticks)",
            stats.targets().len(),
            with - without,
            probed_alt - bare_alt
        );
    });
}
