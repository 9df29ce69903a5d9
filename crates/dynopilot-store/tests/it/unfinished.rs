//! A journal row in an outcome this version does not know comes back as text from the
//! unfinished-actions query (to be reported), instead of failing the whole read.

use std::path::PathBuf;

use dynopilot_core::Timestamp;
use dynopilot_store::{ActionOutcome, ActionRecord, DecisionRecord, SqliteStore, Store};

#[tokio::test]
async fn an_unknown_outcome_word_is_returned_as_text_not_an_error() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("unfinished-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dynopilot.db");
    let url = format!("sqlite://{}", path.display());
    let store = SqliteStore::open(&url).await.unwrap();
    let at = Timestamp::from_secs(1_704_067_200);
    let decision = DecisionRecord {
        id: "odd".into(),
        app: "shop".into(),
        at,
        kind: "restart_dyno".into(),
        executed: true,
        dry_run: false,
        reason: "memory".into(),
        decision: serde_json::json!({"id": "odd"}),
    };
    store.insert_decision(&decision).await.unwrap();
    let attempt = ActionRecord {
        decision_id: "odd".into(),
        attempt: 1,
        started_at: at,
        finished_at: None,
        outcome: ActionOutcome::Started,
        error: None,
    };
    store.record_action(&attempt).await.unwrap();
    // A newer dynopilot (or a hand edit) wrote a state this version does not know.
    let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("UPDATE actions SET outcome = 'paused-by-operator' WHERE decision_id = 'odd'")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;

    let unfinished = store.unfinished_actions("shop").await.unwrap();
    assert_eq!(unfinished.len(), 1);
    assert_eq!(unfinished[0].outcome, "paused-by-operator");
    assert_eq!(unfinished[0].known_outcome(), None);
    // The journal listing stays readable: the row shows as unsettled and says why.
    let listed = store
        .actions(
            "shop",
            dynopilot_store::TimeRange::new(
                Timestamp::from_secs(0),
                Timestamp::from_secs(2_000_000_000),
            ),
            10,
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].outcome, ActionOutcome::Unknown);
    assert!(
        listed[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("`paused-by-operator`")),
        "{listed:?}"
    );
    store.close().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
