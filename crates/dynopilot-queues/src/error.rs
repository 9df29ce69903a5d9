//! Why a whole queue source could not be read (a single bad queue is a `QueueFault` instead).

/// The source as a whole failed: nothing it returned may be read as "empty".
/// Messages never carry the URL (it may hold a password).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("invalid {adapter} url: {reason}")]
    Url {
        adapter: &'static str,
        reason: String,
    },
    #[error("{adapter}: cannot reach Redis: {reason}")]
    Redis {
        adapter: &'static str,
        reason: String,
    },
    #[error("{adapter}: Postgres query failed: {reason}")]
    Postgres {
        adapter: &'static str,
        reason: String,
    },
    #[error("{adapter}: no answer within {timeout_ms} ms")]
    Timeout {
        adapter: &'static str,
        timeout_ms: u128,
    },
}

impl SourceError {
    /// A short stable word for metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceError::Url { .. } => "url",
            SourceError::Redis { .. } => "redis",
            SourceError::Postgres { .. } => "postgres",
            SourceError::Timeout { .. } => "timeout",
        }
    }
}
