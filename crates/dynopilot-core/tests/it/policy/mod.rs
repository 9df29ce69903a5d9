//! Scenario transcripts and properties of the policies.

// Helpers outside `#[test]` functions panic on malformed fixtures by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod autoscale;
mod bounds;
mod config;
mod dependencies;
mod guardrails;
mod harness;
mod memory_guard;
mod observed_only;
mod properties;
mod rules;
mod schedule;
mod zombie_counter;
