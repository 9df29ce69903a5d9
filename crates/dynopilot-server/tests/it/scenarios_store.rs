//! Scenario: the store goes away under a running daemon and comes back. Ingest keeps answering
//! the drain, the writer holds samples in memory (counted in its backlog gauge), decisions wait
//! for the journal instead of acting unjournaled, and everything is written once the store
//! returns. Real Postgres (`DYNOPILOT_TEST_DATABASE_URL` or the older
//! `DYNOPILOT_TEST_POSTGRES_URL`; counted as ignored without it, a build failure with
//! `DYNOPILOT_REQUIRE_SERVICES=1`); the outage is the daemon's tables renamed away.

use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::Timestamp;
use dynopilot_server::daemon::{self, DaemonHandle};
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, SimHandle};
use dynopilot_store::{ActionOutcome, PostgresStore, SampleFilter, Store, TimeRange};

use super::scenarios::{
    FastClock, SECRET, memory_line, restarts_of, settings, sim_client, start_sim, until_all_up,
};
use super::scenarios_restart::crash_policy;

const PG_URL: &str = "DYNOPILOT_TEST_DATABASE_URL";
const PG_URL_OLD: &str = "DYNOPILOT_TEST_POSTGRES_URL";
/// What the outage takes away: where samples, decisions and actions are written.
const TABLES: [&str; 3] = ["samples", "decisions", "actions"];

fn postgres_url() -> String {
    std::env::var(PG_URL)
        .or_else(|_| std::env::var(PG_URL_OLD))
        .unwrap_or_else(|_| panic!("{PG_URL} is not set"))
}

async fn rename_tables(admin: &sqlx::PgPool, schema: &str, away: bool) {
    for table in TABLES {
        let (from, to) = if away {
            (table.to_owned(), format!("{table}_away"))
        } else {
            (format!("{table}_away"), table.to_owned())
        };
        let sql = format!("ALTER TABLE {schema}.{from} RENAME TO {to}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(admin)
            .await
            .unwrap();
    }
}

/// A memory sample of web.1 every simulated second for `seconds`; returns their times.
async fn emit_samples(fast: &FastClock, sim: &SimHandle, seconds: u64) -> Vec<Timestamp> {
    let mut sent = Vec::new();
    for _ in 0..seconds {
        let at = fast.now();
        assert!(sim.emit("shop", memory_line(at, "web.1", 200.0)));
        sent.push(at);
        fast.sleep(Duration::from_secs(1)).await;
    }
    sent
}

async fn start(sim: &SimHandle, store: Arc<dyn Store>, fast: &FastClock) -> DaemonHandle {
    let clock = fast.dyn_clock();
    let daemon = daemon::start(settings(sim, crash_policy()), store, Arc::clone(&clock))
        .await
        .unwrap();
    sim_client(sim, &clock)
        .log_drain_add(
            "shop",
            &format!("{}/drain/shop/{SECRET}", daemon.base_url()),
        )
        .await
        .unwrap();
    daemon
}

/// Drops the test's schema when the test ends, passed or panicked.
struct DropSchema {
    url: String,
    schema: String,
}

impl Drop for DropSchema {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        // Its own thread and runtime: this may run while the test's runtime unwinds.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let admin = sqlx::PgPool::connect(&url).await.unwrap();
                let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
            });
        })
        .join();
        if dropped.is_err() {
            eprintln!("could not drop schema {}", self.schema);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(dynopilot_has_postgres),
    ignore = "needs Postgres: set DYNOPILOT_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
)]
async fn a_store_outage_keeps_ingest_running_and_loses_nothing_once_it_is_back() {
    let url = postgres_url();
    let schema = format!("scenario_{}", uuid::Uuid::new_v4().simple());
    let _cleanup = DropSchema {
        url: url.clone(),
        schema: schema.clone(),
    };
    let store: Arc<dyn Store> =
        Arc::new(PostgresStore::open_in_schema(&url, &schema).await.unwrap());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    outage(Arc::clone(&store), &admin, &schema).await;
    store.close().await.unwrap();
    admin.close().await;
}

async fn outage(store: Arc<dyn Store>, admin: &sqlx::PgPool, schema: &str) {
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 3, 0), &clock).await;
    let daemon = start(&sim, Arc::clone(&store), &fast).await;
    let client = sim_client(&sim, &clock);
    until_all_up(&fast, &client, "shop", 3).await;
    let mut sent = emit_samples(&fast, &sim, 10).await;
    fast.until(
        "samples reach the store",
        Duration::from_secs(30),
        async || daemon.writer.written() > 0,
    )
    .await;

    rename_tables(admin, schema, true).await;
    let delivered_before = sim.drain_stats("shop")[0].delivered_batches;
    sent.extend(emit_samples(&fast, &sim, 10).await);
    // A crash while the journal is away: the restart must wait for it, not happen unrecorded.
    assert!(sim.crash_dyno("shop", "web.2", Duration::from_secs(3600)));
    sent.extend(emit_samples(&fast, &sim, 20).await);
    let drain = sim.drain_stats("shop")[0];
    assert!(
        drain.delivered_batches > delivered_before && drain.dropped_batches == 0,
        "the drain endpoint must keep accepting during the outage: {drain:?}"
    );
    let writer = &daemon.writer;
    assert!(writer.failed_writes() > 0, "no write failed?");
    assert!(writer.pending() > 0, "the backlog gauge shows nothing held");
    let metrics = reqwest::get(format!("{}/metrics", daemon.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let pending_line = metrics
        .lines()
        .find(|l| l.starts_with("dynopilot_store_items_pending "))
        .unwrap_or_else(|| panic!("no backlog gauge in /metrics:\n{metrics}"));
    let pending: f64 = pending_line
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("unparsable: {pending_line}"));
    assert!(pending > 0.0, "{pending_line}");
    assert_eq!(
        restarts_of(&sim, "shop", "web.2"),
        0,
        "acted without a journal"
    );

    rename_tables(admin, schema, false).await;
    fast.until(
        "the backlog is written and web.2 restarted",
        Duration::from_secs(60),
        async || writer.pending() == 0 && restarts_of(&sim, "shop", "web.2") == 1,
    )
    .await;
    // The recorder hands the newest samples over every 5 s: let it pass once more.
    fast.sleep(Duration::from_secs(10)).await;
    let range = TimeRange::new(Timestamp::EPOCH, fast.now());
    let stored: Vec<Timestamp> = store
        .samples("shop", &SampleFilter::Dyno("web.1".to_owned()), range)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.at)
        .collect();
    assert_eq!(stored, sent, "every sample, once, in order");
    assert_eq!(writer.dropped(), 0);
    let decisions = store.decisions("shop", range, 100).await.unwrap();
    let restarts: Vec<_> = decisions
        .iter()
        .filter(|d| d.kind == "restart_dyno" && d.executed)
        .collect();
    assert_eq!(restarts.len(), 1, "{decisions:?}");
    assert_eq!(restarts[0].decision["action"]["dyno"], "web.2");
    assert!(
        restarts[0].reason.contains("crashed"),
        "{}",
        restarts[0].reason
    );
    let actions = store.actions("shop", range, 100).await.unwrap();
    assert!(
        actions
            .iter()
            .any(|a| a.decision_id == restarts[0].id && a.outcome == ActionOutcome::Ok),
        "{actions:?}"
    );
    daemon.shutdown().await;
    sim.shutdown();
}

/// Renames the outage's tables of the SQLite file at `url` away (or back), from a connection
/// of its own, as another process damaging the store would.
async fn rename_sqlite_tables(url: &str, away: bool) {
    let admin = sqlx::SqlitePool::connect(url).await.unwrap();
    for table in TABLES {
        let (from, to) = if away {
            (table.to_owned(), format!("{table}_away"))
        } else {
            (format!("{table}_away"), table.to_owned())
        };
        let sql = format!("ALTER TABLE {from} RENAME TO {to}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .unwrap();
    }
    admin.close().await;
}

/// The body of `/healthz`, whose status must match it: 200 when ok, 503 when degraded.
async fn healthz(daemon: &DaemonHandle) -> serde_json::Value {
    let response = reqwest::get(format!("{}/healthz", daemon.base_url()))
        .await
        .unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    let expected = if body["status"] == "ok" { 200 } else { 503 };
    assert_eq!(status, expected, "{body}");
    body
}

async fn metric(daemon: &DaemonHandle, name: &str) -> f64 {
    let text = reqwest::get(format!("{}/metrics", daemon.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_degrades_healthz_alerts_once_each_way_and_the_api_answers_503() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("outage-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("dynopilot.db").display());
    let store = dynopilot_store::open(&url).await.unwrap();
    let fast = FastClock::start(10);
    let clock = fast.dyn_clock();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 3, 0), &clock).await;
    let daemon = start(&sim, Arc::clone(&store), &fast).await;
    let client = sim_client(&sim, &clock);
    until_all_up(&fast, &client, "shop", 3).await;
    emit_samples(&fast, &sim, 5).await;
    assert_eq!(healthz(&daemon).await["status"], "ok");
    assert_eq!(metric(&daemon, "dynopilot_store_up").await, 1.0);

    rename_sqlite_tables(&url, true).await;
    // A crash while the journal is away: the restart must wait for it.
    assert!(sim.crash_dyno("shop", "web.2", Duration::from_secs(3600)));
    emit_samples(&fast, &sim, 20).await;
    let health = healthz(&daemon).await;
    assert_eq!(health["status"], "degraded", "{health}");
    let store_part = &health["degraded"][0];
    assert_eq!(store_part["component"], "store", "{health}");
    let parts = store_part["parts"].to_string();
    assert!(
        parts.contains("decision journal") && parts.contains("recorder"),
        "{health}"
    );
    let actions = reqwest::get(format!("{}/api/v1/apps/shop/actions", daemon.base_url()))
        .await
        .unwrap();
    assert_eq!(actions.status(), 503);
    let body: serde_json::Value = actions.json().await.unwrap();
    assert_eq!(body["error"], "store_unavailable", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("store is not answering"),
        "{body}"
    );
    assert_eq!(
        restarts_of(&sim, "shop", "web.2"),
        0,
        "acted without a journal"
    );
    assert_eq!(metric(&daemon, "dynopilot_store_up").await, 0.0);

    rename_sqlite_tables(&url, false).await;
    fast.until(
        "the store is healthy again and web.2 restarted",
        Duration::from_secs(60),
        async || {
            healthz(&daemon).await["status"] == "ok" && restarts_of(&sim, "shop", "web.2") == 1
        },
    )
    .await;
    fast.until(
        "both alerts are written",
        Duration::from_secs(30),
        async || store_alerts(store.as_ref(), fast.now()).await.len() == 2,
    )
    .await;
    let alerts = store_alerts(store.as_ref(), fast.now()).await;
    assert!(
        alerts[1].message.starts_with("the store is failing"),
        "{alerts:?}"
    );
    assert!(
        alerts[0]
            .message
            .starts_with("the store is answering again"),
        "{alerts:?}"
    );
    assert_eq!(metric(&daemon, "dynopilot_store_outages_total").await, 1.0);
    daemon.shutdown().await;
    sim.shutdown();
    store.close().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The `store-error` alerts journaled for shop, newest first.
async fn store_alerts(store: &dyn Store, now: Timestamp) -> Vec<dynopilot_store::Event> {
    store
        .events("shop", TimeRange::new(Timestamp::EPOCH, now), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "alert:store-error")
        .collect()
}
