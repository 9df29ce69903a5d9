//! Integration tests of the backtest crate.
