//! How an operator command failed, and the exit code each failure gets (docs/cli.md).

/// A failure with its own exit code; anything else exits 1.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The daemon did not answer at all.
    #[error("cannot reach the daemon at {url}: {cause}")]
    Unreachable { url: String, cause: String },
    /// A guardrail blocked the manual action; `--force` overrides it.
    #[error("{0}")]
    Blocked(String),
    /// The daemon wants a sign-in, or refused the one given.
    #[error("{0}")]
    NotSignedIn(String),
    /// The daemon (or the check before asking it) refused the request: unknown app, process
    /// type or dyno, a bad value. Nothing was done.
    #[error("{0}")]
    Refused(String),
}

pub const UNREACHABLE: u8 = 3;
pub const BLOCKED: u8 = 4;
pub const NOT_SIGNED_IN: u8 = 5;

/// The process exit code for an error from any command.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    match err.downcast_ref::<Failure>() {
        Some(Failure::Unreachable { .. }) => UNREACHABLE,
        Some(Failure::Blocked(_)) => BLOCKED,
        Some(Failure::NotSignedIn(_)) => NOT_SIGNED_IN,
        Some(Failure::Refused(_)) | None => 1,
    }
}
