//! Integration tests of the daemon library.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns may unwrap too

mod config;
mod drain;
mod e2e;
mod fleet;
mod scenarios;
mod scenarios_apps;
mod scenarios_restart;
mod scenarios_scale;
mod scenarios_store;
mod web;
