//! Integration tests of the log crate: drain framing, messages from documented examples, and
//! properties (round trips, no panics on arbitrary bytes).

mod frames;
mod messages;
mod properties;
