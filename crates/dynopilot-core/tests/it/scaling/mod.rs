//! Scenario transcripts and properties of the scaling algorithms.

mod boot_time;
mod capacity;
mod config;
mod properties;
mod queue;
mod streak;
mod support;
mod target;
mod trend;
mod vertical;
