//! Integration tests of the workload model: queueing theory, memory, lifecycle, logs.

// Test helpers outside `#[test]` functions unwrap too; a panic there is a test failure.
#![allow(clippy::unwrap_used)]

mod lifecycle;
mod logs;
mod memory;
mod queueing;
mod support;
