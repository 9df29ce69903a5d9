//! Integration tests of the queue readers against the real Redis and Postgres: each test
//! writes jobs in the library's own on-disk format under its own key prefix or schema.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns may unwrap too

mod postgres;
mod redis;
mod support;
