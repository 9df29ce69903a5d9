//! Backtests: replay a traffic trace through a simulated Heroku web formation in virtual time,
//! with dynopilot's real decision path (`core::policy::evaluate` and its guardrails), the peers'
//! algorithms and an oracle that knows the whole trace, and report cost and lateness.
//!
//! Pure and deterministic: no I/O, no clock reads, no HTTP; the same trace, scenario and seed
//! give byte-identical results.

pub mod dynopilot;
pub mod engine;
pub mod erlang;
pub mod error;
pub mod exact;
pub mod fast;
pub mod fleet;
pub mod histogram;
pub mod history;
pub mod logs;
pub mod oracle;
pub mod peers;
pub mod report;
pub mod scenario;
pub mod trace;

pub use engine::{Controller, Fidelity, RunResult, View, run};
pub use error::BacktestError;
pub use report::{PolicyRow, Report, compare};
pub use scenario::Scenario;
pub use trace::Trace;
