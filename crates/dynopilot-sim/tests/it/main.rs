//! Integration tests: the real `dynopilot_heroku::HerokuClient` against the simulator over
//! loopback HTTP, on a `ManualClock` wherever time matters.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns panic on purpose when the simulator misbehaves"
)]

mod api;
mod drains;
mod faults;
mod harness;
mod heroku_cli;
mod log_sessions;
mod one_off;
mod schema;
