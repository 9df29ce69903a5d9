//! The dynopilot daemon as a library: configuration, ingest (drains, log sessions, stdin),
//! agent reports (Judoscale, HireFire), fleet state, the policy runner and the executor. The `dynopilot` binary only wires it up.

pub mod access;
pub mod agents;
pub mod alerts;
pub mod blind_watch;
pub mod clean;
pub mod clients;
pub mod config;
pub mod daemon;
pub mod discovery;
pub mod executor;
pub mod fleet;
pub mod http_server;
pub mod ingest;
pub mod notice;
pub mod outcomes;
pub mod poll;
pub mod probes;
pub mod queue_poll;
pub mod reconcile;
pub mod runner;
pub mod store_health;
pub mod tails;
pub mod watched;
pub mod web;
