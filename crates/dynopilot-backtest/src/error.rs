//! Why a backtest could not run: bad trace rows, bad scenario values, unknown policy names.

/// Everything that stops a backtest before it starts; each names what to fix.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BacktestError {
    #[error("trace line {line}: {message}")]
    TraceLine { line: usize, message: String },
    #[error("trace: {0}")]
    Trace(String),
    #[error("scenario `{key}`: {message}")]
    Scenario { key: String, message: String },
    #[error("unknown policy `{0}` (known: {1})")]
    UnknownPolicy(String, String),
    #[error("logs: {0}")]
    Logs(String),
    #[error("no history for app `{0}` in that range: nothing to replay")]
    NoHistory(String),
    #[error("exact model: {0}")]
    Exact(String),
}
