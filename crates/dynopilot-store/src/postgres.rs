//! `PostgresStore`: the backend for Heroku Postgres and other shared deployments.

use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::error::{Backend, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Fail fast when the server is unreachable instead of sqlx's default 30 s.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `postgres://…` and migrates the default schema.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::connect(parse(url)?).await
    }

    /// Like `open`, but keeps every table in `schema` (created if missing), so several
    /// installations or test runs can share one database. `schema` must be
    /// `[a-z0-9_]+`, since it is written into SQL.
    pub async fn open_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        let plain = !schema.is_empty()
            && schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !plain {
            return Err(StoreError::Invalid(format!(
                "postgres schema name {schema:?} must match [a-z0-9_]+"
            )));
        }
        let options = parse(url)?;
        let setup = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(connect_error)?;
        let create = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(create))
            .execute(&setup)
            .await
            .map_err(StoreError::query(Backend::Postgres, "create the schema"))?;
        setup.close().await;
        Self::connect(options.options([("search_path", schema)])).await
    }

    async fn connect(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                backend: Backend::Postgres,
                source,
            })?;
        Ok(PostgresStore { pool })
    }
}

fn parse(url: &str) -> Result<PgConnectOptions, StoreError> {
    PgConnectOptions::from_str(url).map_err(|source| StoreError::InvalidUrl {
        backend: Backend::Postgres,
        source,
    })
}

fn connect_error(source: sqlx::Error) -> StoreError {
    StoreError::Connect {
        backend: Backend::Postgres,
        source,
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

impl_store!(
    PostgresStore,
    sqlx::Postgres,
    Backend::Postgres,
    begin = "BEGIN",
    lock = " FOR UPDATE"
);
