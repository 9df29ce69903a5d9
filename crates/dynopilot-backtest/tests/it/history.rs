//! Replaying an app's own history: an empty store range says so; stored rollups become a
//! per-minute trace.

use dynopilot_backtest::history::from_rollups;
use dynopilot_core::Timestamp;
use dynopilot_store::{Rollup, TimeRange};

fn range(from_s: i64, to_s: i64) -> TimeRange {
    TimeRange {
        start: Timestamp::from_secs(from_s),
        end: Timestamp::from_secs(to_s),
    }
}

#[tokio::test]
async fn an_empty_store_range_says_there_is_no_history() {
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let rollups = store
        .rollups(
            "shop",
            "web",
            range(0, 7 * 86_400),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    let err = from_rollups("shop", &rollups).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no history for app `shop` in that range: nothing to replay"
    );
}

#[tokio::test]
async fn stored_minutes_become_a_trace_with_gaps_as_zero() {
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let minute = |m: i64, requests: u64| {
        let mut r = Rollup::new("shop", "web", Timestamp::from_secs(1_767_225_600 + 60 * m));
        r.requests = requests;
        r.service.add_n(120.0, requests);
        r
    };
    let batch = dynopilot_store::Batch {
        rollups: vec![minute(0, 600), minute(1, 1_200), minute(3, 300)],
        ..Default::default()
    };
    store.write_batch(&batch).await.unwrap();
    let rollups = store
        .rollups(
            "shop",
            "web",
            range(1_767_225_600, 1_767_225_600 + 3_600),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    let got = from_rollups("shop", &rollups).unwrap();
    assert_eq!(
        got.trace.points(),
        &[(0.0, 10.0), (60.0, 20.0), (120.0, 0.0), (180.0, 5.0)]
    );
    assert!(
        (got.service_mean_ms - 120.0).abs() < 2.0,
        "{}",
        got.service_mean_ms
    );
    assert_eq!(got.router_lines, 2_100);
}
