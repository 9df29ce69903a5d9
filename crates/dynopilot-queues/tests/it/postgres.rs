//! GoodJob, Que, Solid Queue and delayed_job read from the real Postgres: each test creates
//! the library's tables (its migration's columns) in a schema of its own and inserts jobs
//! as the library would. `now()` is 2026-05-28 20:26:40 UTC.

use dynopilot_queues::{Adapter, Snapshot};
use sqlx::{AssertSqlSafe, PgPool};

use crate::support::{now, postgres_url, read, spec, unique};

/// The schema's URL: the tests' URL with `search_path` set, as an app would configure one.
fn schema_url(schema: &str) -> String {
    let base = postgres_url();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

async fn admin() -> PgPool {
    PgPool::connect(&postgres_url()).await.unwrap()
}

async fn exec(pool: &PgPool, schema: &str, sql: &str) {
    let sql = format!("SET search_path TO {schema}; {sql}");
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(pool)
        .await
        .unwrap();
}

/// Creates a schema, runs `setup` in it, reads it with `adapter`, drops it.
async fn read_schema(adapter: Adapter, queues: &[&str], setup: &str) -> Snapshot {
    let admin = admin().await;
    let schema = unique("dp_queues_");
    exec(&admin, "public", &format!("CREATE SCHEMA {schema}")).await;
    exec(&admin, &schema, setup).await;
    let snapshot = read(spec(adapter, &schema_url(&schema), queues, None)).await;
    exec(&admin, "public", &format!("DROP SCHEMA {schema} CASCADE")).await;
    admin.close().await;
    snapshot
}

#[tokio::test]
#[cfg_attr(
    not(dynopilot_has_postgres),
    ignore = "needs Postgres: set DYNOPILOT_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
)]
async fn good_job_counts_unperformed_runnable_jobs_and_running_ones() {
    let setup = "
      CREATE TABLE good_jobs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(), queue_name text, priority integer,
        serialized_params jsonb, scheduled_at timestamp(6), performed_at timestamp(6),
        finished_at timestamp(6), error text, created_at timestamp(6) NOT NULL,
        updated_at timestamp(6) NOT NULL, active_job_id uuid, concurrency_key text, cron_key text,
        retried_good_job_id uuid, cron_at timestamp(6), batch_id uuid, batch_callback_id uuid,
        is_discrete boolean, executions_count integer, job_class text, error_event smallint,
        labels text[], locked_by_id uuid, locked_at timestamp(6));
      INSERT INTO good_jobs (queue_name, scheduled_at, performed_at, finished_at, created_at, updated_at, job_class) VALUES
        ('default', '2026-05-28 20:25:40', NULL, NULL, '2026-05-28 20:25:40', now(), 'A'),  -- waiting 60 s
        ('default', '2026-05-28 20:26:30', NULL, NULL, '2026-05-28 20:26:30', now(), 'A'),  -- waiting 10 s
        ('default', '2026-05-28 21:00:00', NULL, NULL, '2026-05-28 20:00:00', now(), 'A'),  -- scheduled later
        ('default', '2026-05-28 20:20:00', '2026-05-28 20:26:00', NULL, '2026-05-28 20:20:00', now(), 'A'), -- running
        ('default', '2026-05-28 20:00:00', '2026-05-28 20:00:01', '2026-05-28 20:00:02', '2026-05-28 20:00:00', now(), 'A'), -- done
        ('mailers', NULL, NULL, NULL, '2026-05-28 20:26:35', now(), 'B');  -- GoodJob < 3: no scheduled_at
    ";
    let snapshot = read_schema(Adapter::GoodJob, &[], setup).await;
    let default = snapshot.reading("default").unwrap();
    assert_eq!((default.depth, default.busy), (2, Some(1)));
    assert_eq!(default.latency_ms(now()), Some(60_000.0));
    let mailers = snapshot.reading("mailers").unwrap();
    assert_eq!((mailers.depth, mailers.busy), (1, Some(0)));
    assert_eq!(mailers.latency_ms(now()), Some(5_000.0));
}

#[tokio::test]
#[cfg_attr(
    not(dynopilot_has_postgres),
    ignore = "needs Postgres: set DYNOPILOT_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
)]
async fn que_counts_runnable_jobs_and_takes_advisory_locked_ones_as_running() {
    // Ids far from other tests' advisory lock keys in the same database.
    let first: i64 = 7_000_000_000 + i64::from(rand_u16()) * 100;
    let setup = format!("
      CREATE TABLE que_jobs (
        priority smallint DEFAULT 100 NOT NULL, run_at timestamptz DEFAULT now() NOT NULL,
        id bigserial PRIMARY KEY, job_class text NOT NULL, error_count integer DEFAULT 0 NOT NULL,
        last_error_message text, queue text DEFAULT 'default' NOT NULL, last_error_backtrace text,
        finished_at timestamptz, expired_at timestamptz, args jsonb DEFAULT '[]' NOT NULL,
        data jsonb DEFAULT '{{}}' NOT NULL, job_schema_version integer NOT NULL,
        kwargs jsonb DEFAULT '{{}}' NOT NULL);
      INSERT INTO que_jobs (id, job_class, queue, run_at, finished_at, expired_at, error_count, job_schema_version) VALUES
        ({first},     'A', 'default', '2026-05-28 20:26:10+00', NULL, NULL, 0, 2),  -- waiting 30 s
        ({first} + 1, 'A', 'default', '2026-05-28 20:26:20+00', NULL, NULL, 1, 2),  -- retried, waiting
        ({first} + 2, 'A', 'default', '2026-05-28 20:25:00+00', NULL, NULL, 0, 2),  -- being worked
        ({first} + 3, 'A', 'default', '2026-05-28 21:00:00+00', NULL, NULL, 0, 2),  -- later
        ({first} + 4, 'A', 'default', '2026-05-28 20:00:00+00', now(), NULL, 0, 2), -- finished
        ({first} + 5, 'A', 'default', '2026-05-28 20:00:00+00', NULL, now(), 5, 2); -- expired
    ");
    let admin = admin().await;
    let schema = unique("dp_queues_");
    exec(&admin, "public", &format!("CREATE SCHEMA {schema}")).await;
    exec(&admin, &schema, &setup).await;
    // A Que worker holds a session advisory lock on the job it works.
    let mut worker = admin.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(first + 2)
        .execute(&mut *worker)
        .await
        .unwrap();
    let snapshot = read(spec(
        Adapter::Que,
        &schema_url(&schema),
        &["default", "other"],
        None,
    ))
    .await;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(first + 2)
        .execute(&mut *worker)
        .await
        .unwrap();
    drop(worker);
    exec(&admin, "public", &format!("DROP SCHEMA {schema} CASCADE")).await;
    admin.close().await;

    let default = snapshot.reading("default").unwrap();
    assert_eq!((default.depth, default.busy), (2, Some(1)));
    assert_eq!(default.latency_ms(now()), Some(30_000.0));
    // A named queue with no jobs is empty, not missing.
    let other = snapshot.reading("other").unwrap();
    assert_eq!((other.depth, other.busy), (0, Some(0)));
}

fn rand_u16() -> u16 {
    uuid::Uuid::new_v4().as_bytes()[0] as u16 * 256 + uuid::Uuid::new_v4().as_bytes()[1] as u16
}

#[tokio::test]
#[cfg_attr(
    not(dynopilot_has_postgres),
    ignore = "needs Postgres: set DYNOPILOT_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
)]
async fn solid_queue_reads_ready_and_claimed_executions() {
    let setup = "
      CREATE TABLE solid_queue_jobs (
        id bigserial PRIMARY KEY, queue_name varchar NOT NULL, class_name varchar NOT NULL,
        arguments text, priority integer DEFAULT 0 NOT NULL, active_job_id varchar,
        scheduled_at timestamp(6), finished_at timestamp(6), concurrency_key varchar,
        created_at timestamp(6) NOT NULL, updated_at timestamp(6) NOT NULL);
      CREATE TABLE solid_queue_ready_executions (
        id bigserial PRIMARY KEY, job_id bigint NOT NULL REFERENCES solid_queue_jobs(id),
        queue_name varchar NOT NULL, priority integer DEFAULT 0 NOT NULL, created_at timestamp(6) NOT NULL);
      CREATE TABLE solid_queue_claimed_executions (
        id bigserial PRIMARY KEY, job_id bigint NOT NULL REFERENCES solid_queue_jobs(id),
        process_id bigint, created_at timestamp(6) NOT NULL);
      INSERT INTO solid_queue_jobs (id, queue_name, class_name, scheduled_at, created_at, updated_at) VALUES
        (1, 'default', 'A', '2026-05-28 20:26:00', '2026-05-28 20:26:00', now()),
        (2, 'default', 'A', '2026-05-28 20:26:25', '2026-05-28 20:26:25', now()),
        (3, 'default', 'A', '2026-05-28 20:20:00', '2026-05-28 20:20:00', now()),
        (4, 'batch',   'B', '2026-05-28 20:10:00', '2026-05-28 20:10:00', now());
      INSERT INTO solid_queue_ready_executions (job_id, queue_name, created_at) VALUES
        (1, 'default', '2026-05-28 20:26:00'), (2, 'default', '2026-05-28 20:26:25');
      INSERT INTO solid_queue_claimed_executions (job_id, process_id, created_at) VALUES
        (3, 9, '2026-05-28 20:26:30'), (4, 9, '2026-05-28 20:26:30');
    ";
    let snapshot = read_schema(Adapter::SolidQueue, &[], setup).await;
    let default = snapshot.reading("default").unwrap();
    assert_eq!((default.depth, default.busy), (2, Some(1)));
    assert_eq!(default.latency_ms(now()), Some(40_000.0));
    let batch = snapshot.reading("batch").unwrap();
    assert_eq!((batch.depth, batch.busy), (0, Some(1)));
    let total = snapshot.total(now());
    assert_eq!(
        (total.depth, total.busy, total.latency_ms),
        (2, Some(2), Some(40_000.0))
    );
}

#[tokio::test]
#[cfg_attr(
    not(dynopilot_has_postgres),
    ignore = "needs Postgres: set DYNOPILOT_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
)]
async fn delayed_job_counts_unlocked_runnable_jobs_and_locked_ones_as_running() {
    let setup = "
      CREATE TABLE delayed_jobs (
        id bigserial PRIMARY KEY, priority integer DEFAULT 0 NOT NULL, attempts integer DEFAULT 0 NOT NULL,
        handler text NOT NULL, last_error text, run_at timestamp, locked_at timestamp,
        failed_at timestamp, locked_by varchar, queue varchar, created_at timestamp(6), updated_at timestamp(6));
      INSERT INTO delayed_jobs (handler, run_at, locked_at, failed_at, locked_by, queue) VALUES
        ('--- !ruby/object:Job {}', '2026-05-28 20:24:40', NULL, NULL, NULL, NULL),          -- waiting 120 s
        ('--- !ruby/object:Job {}', '2026-05-28 20:26:00', NULL, NULL, NULL, NULL),
        ('--- !ruby/object:Job {}', '2026-05-28 20:25:00', '2026-05-28 20:26:00', NULL, 'host:1', NULL), -- running
        ('--- !ruby/object:Job {}', '2026-05-28 20:00:00', NULL, '2026-05-28 20:10:00', NULL, NULL),   -- failed
        ('--- !ruby/object:Job {}', '2026-05-28 22:00:00', NULL, NULL, NULL, 'mail');                 -- later
    ";
    let snapshot = read_schema(Adapter::DelayedJob, &[], setup).await;
    let default = snapshot.reading("default").unwrap();
    assert_eq!((default.depth, default.busy), (2, Some(1)));
    assert_eq!(default.latency_ms(now()), Some(120_000.0));
    let mail = snapshot.reading("mail").unwrap();
    assert_eq!(
        (mail.depth, mail.busy, mail.latency_ms(now())),
        (0, Some(0), Some(0.0))
    );
}

#[tokio::test]
#[cfg_attr(
    not(dynopilot_has_postgres),
    ignore = "needs Postgres: set DYNOPILOT_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
)]
async fn a_missing_table_is_a_source_error_naming_it() {
    let admin = admin().await;
    let schema = unique("dp_queues_");
    exec(&admin, "public", &format!("CREATE SCHEMA {schema}")).await;
    let source =
        dynopilot_queues::QueueSource::new(spec(Adapter::GoodJob, &schema_url(&schema), &[], None))
            .unwrap();
    let err = source.read(now()).await.unwrap_err();
    assert_eq!(err.kind(), "postgres");
    assert!(err.to_string().contains("good_jobs"), "{err}");
    source.close().await;
    exec(&admin, "public", &format!("DROP SCHEMA {schema} CASCADE")).await;
    admin.close().await;
}
