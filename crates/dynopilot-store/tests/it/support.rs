//! Test backends: in-memory SQLite, file SQLite under CARGO_TARGET_TMPDIR, and Postgres in a
//! throwaway schema when `DYNOPILOT_TEST_DATABASE_URL` (or the older
//! `DYNOPILOT_TEST_POSTGRES_URL`) is set; without it the Postgres tests are counted as ignored
//! (`build.rs` sets `dynopilot_has_postgres`).

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use dynopilot_store::{PostgresStore, SqliteStore, Store};

const PG_URL: &str = "DYNOPILOT_TEST_DATABASE_URL";
const PG_URL_OLD: &str = "DYNOPILOT_TEST_POSTGRES_URL";

pub async fn sqlite_memory() -> Arc<dyn Store> {
    Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap())
}

/// Runs `suite` against a fresh SQLite file, removed afterwards.
pub async fn with_sqlite_file<F, Fut>(suite: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("store-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("dynopilot.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await.unwrap());
    suite(store.clone()).await;
    store.close().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `suite` against Postgres in a new schema that is dropped afterwards, even when the
/// suite panics. Only called by tests that run when the URL was set at build time.
pub async fn with_postgres<F, Fut>(suite: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let url = std::env::var(PG_URL)
        .or_else(|_| std::env::var(PG_URL_OLD))
        .unwrap_or_else(|_| panic!("{PG_URL} is not set"));
    let schema = format!("test_{}", uuid::Uuid::new_v4().simple());
    let store: Arc<dyn Store> = match PostgresStore::open_in_schema(&url, &schema).await {
        Ok(store) => Arc::new(store),
        Err(e) => panic!("{PG_URL} is set but Postgres is unusable: {e:?}"),
    };
    let outcome = tokio::spawn(suite(store.clone())).await;
    store.close().await.unwrap();
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    let drop = format!("DROP SCHEMA {schema} CASCADE");
    sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Generates, for each suite piece, one test per backend.
macro_rules! conformance {
    ($($piece:ident),* $(,)?) => {
        mod sqlite_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $piece() {
                    super::$piece(crate::support::sqlite_memory().await).await;
                }
            )*
        }
        mod sqlite_file {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $piece() {
                    crate::support::with_sqlite_file(super::$piece).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(
                    not(dynopilot_has_postgres),
                    ignore = "needs Postgres: set DYNOPILOT_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
                )]
                async fn $piece() {
                    crate::support::with_postgres(super::$piece).await;
                }
            )*
        }
    };
}
pub(crate) use conformance;
