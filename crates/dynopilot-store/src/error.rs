//! `StoreError`: everything a store operation can fail with. Messages never include the
//! database URL, which may carry a password.

/// Which implementation an error came from, for messages and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported store url scheme {scheme:?}: expected sqlite: or postgres://")]
    UnsupportedUrl { scheme: String },
    #[error("invalid {backend} store url")]
    InvalidUrl {
        backend: Backend,
        #[source]
        source: sqlx::Error,
    },
    #[error("failed to connect to the {backend} store")]
    Connect {
        backend: Backend,
        #[source]
        source: sqlx::Error,
    },
    #[error("failed to migrate the {backend} store")]
    Migrate {
        backend: Backend,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("{backend} store failed to {op}")]
    Query {
        backend: Backend,
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// The SQLite file failed its integrity check at open: dynopilot must not run on it.
    #[error("{}", damaged_message(path, problems))]
    Damaged { path: String, problems: String },
    #[error("corrupt {table} row: {detail}")]
    Corrupt { table: &'static str, detail: String },
    #[error("invalid argument: {0}")]
    Invalid(String),
}

impl StoreError {
    /// A `map_err` adapter naming the operation that failed.
    pub(crate) fn query(backend: Backend, op: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| StoreError::Query {
            backend,
            op,
            source,
        }
    }

    pub(crate) fn corrupt(table: &'static str, detail: impl std::fmt::Display) -> Self {
        StoreError::Corrupt {
            table,
            detail: detail.to_string(),
        }
    }
}

/// What a damaged SQLite store means and how to recover, for the person starting dynopilot.
fn damaged_message(path: &str, problems: &str) -> String {
    format!(
        "the SQLite store {path} is damaged (PRAGMA quick_check: {problems}); dynopilot will not \
         start on it, since it could act on a half-read decision journal.\n\
         To recover: stop dynopilot, move the store aside with its journal files \
         (mv {path} {path}.damaged; mv {path}-wal {path}.damaged-wal; mv {path}-shm {path}.damaged-shm; \
         the last two may not exist), and start dynopilot again: it creates a fresh, empty store.\n\
         What is lost: the stored samples and rollups (charts start empty), the decision journal, \
         actions and events, and the saved policy state (cooldowns and budgets start over). \
         Heroku and your apps are not affected. `sqlite3 {path}.damaged .recover` may salvage rows."
    )
}

/// Displays an error and its sources as `outer: inner: root`, for one-line logs.
pub(crate) struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}
