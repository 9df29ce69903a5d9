//! Alert delivery off the runner's path: the runner hands journaled decisions to an
//! `AlertSender` (never waiting), and the `Dispatcher` task routes, cools, journals each
//! delivery as pending before calling its channel, retries transient failures with backoff,
//! and resumes pending deliveries from the store at start.
//!
//! Codemap: `sender` (the hand-off), `dispatcher` (the task), `retry` (backoff and limits),
//! `stats` (counters for `/metrics`).

mod dispatcher;
mod retry;
mod sender;
mod stats;

pub use dispatcher::{AlertSettings, Dispatcher};
pub use retry::RetryPolicy;
pub use sender::{AlertSender, Handoff};
pub use stats::AlertStats;
