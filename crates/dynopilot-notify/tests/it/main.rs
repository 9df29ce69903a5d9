//! Integration tests of the notify crate: every channel against a real receiver on loopback.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns may unwrap too

mod email;
mod hook;
mod http_channels;
mod support;
