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

mod damaged {
    use std::io::{Seek as _, SeekFrom, Write as _};

    use dynopilot_core::Timestamp;
    use dynopilot_store::{Batch, Sample, StoreError};

    const PAGE: u64 = 4096;

    fn sample(i: i64) -> Sample {
        Sample {
            app: "shop".to_owned(),
            dyno: format!("web.{}", i % 7 + 1),
            instance_id: Some(format!("heroku.{i}.abcdef")),
            at: Timestamp::from_millis(1_700_000_000_000 + i * 1000),
            memory_total_mb: Some(200.0 + (i % 50) as f64),
            memory_rss_mb: Some(180.0),
            memory_swap_mb: Some(0.0),
            memory_quota_mb: Some(512.0),
            load_1m: Some(0.5),
            span: std::time::Duration::ZERO,
            count: 1,
        }
    }

    /// A store file of a few hundred pages, closed (so the WAL is checkpointed into it).
    pub async fn filled_store(name: &str) -> (std::path::PathBuf, String) {
        let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("{name}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dynopilot.db");
        let url = format!("sqlite://{}", path.display());
        let store = dynopilot_store::open(&url).await.unwrap();
        let batch = Batch {
            samples: (0..5000).map(sample).collect(),
            ..Batch::default()
        };
        store.write_batch(&batch).await.unwrap();
        store.close().await.unwrap();
        (path, url)
    }

    /// Overwrites the page in the middle of the file with garbage.
    pub fn damage_middle_page(path: &std::path::Path) {
        let len = std::fs::metadata(path).unwrap().len();
        let pages = len / PAGE;
        assert!(
            pages > 20,
            "the store is too small to damage mid-file: {len} bytes"
        );
        let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        file.seek(SeekFrom::Start(pages / 2 * PAGE)).unwrap();
        let garbage: Vec<u8> = (0..PAGE).map(|i| (i * 31 % 251) as u8 ^ 0xA5).collect();
        file.write_all(&garbage).unwrap();
        file.sync_all().unwrap();
    }

    #[tokio::test]
    async fn a_store_damaged_mid_file_is_refused_at_open_with_the_way_to_recover() {
        let (path, url) = filled_store("damaged").await;
        damage_middle_page(&path);

        let err = dynopilot_store::open(&url).await.err().unwrap();
        assert!(matches!(err, StoreError::Damaged { .. }), "{err:?}");
        let message = err.to_string();
        let shown = path.display().to_string();
        assert!(
            message.contains(&format!("the SQLite store {shown} is damaged")),
            "{message}"
        );
        assert!(
            message.contains(&format!("mv {shown} {shown}.damaged")),
            "{message}"
        );
        assert!(message.contains("fresh, empty store"), "{message}");
        assert!(message.contains("decision journal"), "{message}");

        // Following the message's advice gives a working store.
        std::fs::rename(&path, path.with_extension("damaged")).unwrap();
        let fresh = dynopilot_store::open(&url).await.unwrap();
        fresh.close().await.unwrap();
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_database_is_refused_as_damaged() {
        let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("notadb-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dynopilot.db");
        std::fs::write(&path, vec![0x5A_u8; 64 * 1024]).unwrap();
        let err = dynopilot_store::open(&format!("sqlite://{}", path.display()))
            .await
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::Damaged { .. }), "{err:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn an_intact_store_passes_the_check() {
        let (path, url) = filled_store("intact").await;
        let store = dynopilot_store::open(&url).await.unwrap();
        store.close().await.unwrap();
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
