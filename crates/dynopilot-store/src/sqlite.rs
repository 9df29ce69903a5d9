//! `SqliteStore`: the default backend, a file in WAL mode (or an in-memory database for tests).

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::{Backend, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a writer waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens `sqlite://path.db` (created if missing) or `sqlite::memory:`, and migrates it.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let mut options = SqliteConnectOptions::from_str(url)
            .map_err(|source| StoreError::InvalidUrl {
                backend: Backend::Sqlite,
                source,
            })?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        if !in_memory {
            // WAL lets the dashboard read while ingest writes; NORMAL is durable under WAL
            // except for the last transactions before a power loss.
            options = options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
        }
        // Every connection to `:memory:` is its own empty database, so the pool keeps exactly
        // one connection open forever.
        let pool_options = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(4)
        };
        let pool =
            pool_options
                .connect_with(options)
                .await
                .map_err(|source| StoreError::Connect {
                    backend: Backend::Sqlite,
                    source,
                })?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                backend: Backend::Sqlite,
                source,
            })?;
        Ok(SqliteStore { pool })
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl_store!(
    SqliteStore,
    sqlx::Sqlite,
    Backend::Sqlite,
    begin = "BEGIN IMMEDIATE",
    lock = ""
);
