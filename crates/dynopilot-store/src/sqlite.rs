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
        let path = options.get_filename().display().to_string();
        let pool = pool_options.connect_with(options).await.map_err(|source| {
            match corruption(&source) {
                Some(problem) => StoreError::Damaged {
                    path: path.clone(),
                    problems: problem,
                },
                None => StoreError::Connect {
                    backend: Backend::Sqlite,
                    source,
                },
            }
        })?;
        if !in_memory && let Err(e) = check_integrity(&pool, &path).await {
            pool.close().await;
            return Err(e);
        }
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

/// At most five problems are reported: the first few say enough.
const QUICK_CHECK: &str = "PRAGMA quick_check(5)";

/// `PRAGMA quick_check` over the whole file: every b-tree page and record is read, indexes
/// are not compared with their tables (that is `integrity_check`, much slower). Linear in the
/// file's size.
async fn check_integrity(pool: &SqlitePool, path: &str) -> Result<(), StoreError> {
    let rows: Vec<String> = match sqlx::query_scalar(QUICK_CHECK).fetch_all(pool).await {
        Ok(rows) => rows,
        Err(source) => {
            return Err(match corruption(&source) {
                Some(problem) => StoreError::Damaged {
                    path: path.to_owned(),
                    problems: problem,
                },
                None => StoreError::Query {
                    backend: Backend::Sqlite,
                    op: "check the store's integrity",
                    source,
                },
            });
        }
    };
    if rows.len() == 1 && rows[0] == "ok" {
        return Ok(());
    }
    Err(StoreError::Damaged {
        path: path.to_owned(),
        problems: rows.join("; "),
    })
}

/// SQLite's own word that the file is damaged or not a database (`SQLITE_CORRUPT`,
/// `SQLITE_NOTADB`, and their extended codes).
fn corruption(err: &sqlx::Error) -> Option<String> {
    const SQLITE_CORRUPT: i64 = 11;
    const SQLITE_NOTADB: i64 = 26;
    let db = err.as_database_error()?;
    let code: i64 = db.code()?.parse().ok()?;
    matches!(code & 0xff, SQLITE_CORRUPT | SQLITE_NOTADB).then(|| db.message().to_owned())
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
