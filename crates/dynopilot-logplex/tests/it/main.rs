//! Integration tests of the log crate: drain framing, messages from documented examples, and
//! properties (round trips, no panics on arbitrary bytes).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns may unwrap too

mod forms;
mod frames;
mod messages;
mod properties;
