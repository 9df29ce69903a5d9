//! Integration tests of the store: the conformance suite run against every backend, the
//! batch writer, and `open`'s URL handling.

#![allow(clippy::unwrap_used)] // suite pieces and helpers outside #[test] fns may unwrap too

mod conformance;
mod support;
mod writer;

use dynopilot_store::{Backend, StoreError};

#[tokio::test]
async fn open_picks_the_backend_by_scheme() {
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    let err = dynopilot_store::open("mysql://localhost/x")
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::UnsupportedUrl { scheme } if scheme == "mysql"));
}

#[tokio::test]
async fn postgres_schema_names_are_checked_before_use() {
    let err = dynopilot_store::PostgresStore::open_in_schema("postgres://x@127.0.0.1/x", "a;b")
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
}
