//! End-to-end tests of the `dynopilot` binary, run as a user would run it.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns may unwrap too

mod alert;
mod analyze;
mod analyze_forms;
mod backtest;
mod backtest_daemon;
mod config;
mod config_check;
mod crash;
mod deploy;
mod exec;
mod ops;
mod sim;
