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
