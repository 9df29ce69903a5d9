//! Integration tests of the store: the conformance suite run against every backend, the
//! batch writer, and `open`'s URL handling.

#![allow(clippy::unwrap_used)] // suite pieces and helpers outside #[test] fns may unwrap too

mod conformance;
mod support;
mod unfinished;
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

#[tokio::test]
async fn a_reopened_sqlite_file_keeps_its_data_and_migrates_once() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("reopen-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("state.db").display());
    let state = serde_json::json!({"cooldowns": {"web": 1_700_000_000_000_i64}});
    let at = dynopilot_core::Timestamp::from_secs(1_700_000_000);

    let first = dynopilot_store::open(&url).await.unwrap();
    first.put_policy_state("app", at, &state).await.unwrap();
    first.close().await.unwrap();

    let second = dynopilot_store::open(&url).await.unwrap();
    let got = second.policy_state("app").await.unwrap().unwrap();
    assert_eq!((got.updated_at, got.state), (at, state));
    second.close().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
