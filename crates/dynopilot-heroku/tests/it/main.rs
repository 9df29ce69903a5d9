//! Integration tests for the Heroku client against an in-process fake Platform API.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fns panic on purpose when the fake misbehaves"
)]

mod api;
mod checked;
mod errors;
mod fake;
mod log_stream;
mod rate_budget;
mod rendezvous;
mod rendezvous_tls;
mod secrets;
