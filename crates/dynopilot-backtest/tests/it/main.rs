//! Integration tests of the backtest crate: the oracle as a floor, fast against exact,
//! determinism, and bad input.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns may unwrap too

mod bad_input;
mod determinism;
mod fidelity;
mod history;
mod oracle;
mod support;
