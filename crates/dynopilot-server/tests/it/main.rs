//! Integration tests of the daemon library.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns may unwrap too

mod agents;
mod alerts;
mod alerts_channels;
mod clean_schedule;
mod config;
mod drain;
mod e2e;
mod exactly_once;
mod fleet;
mod fleet_actionable;
mod fleet_config;
mod heroku_attempts;
mod http_limits;
mod probes;
mod scenarios;
mod scenarios_apps;
mod scenarios_escalation;
mod scenarios_observed;
mod scenarios_queues;
mod scenarios_restart;
mod scenarios_restart_requests;
mod scenarios_scale;
mod scenarios_store;
mod schema_fuzz;
mod tails;
mod web;
