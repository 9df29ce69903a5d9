//! The app page lists each status check with its state and why, its last values and the
//! states of its recent runs.

use std::collections::BTreeMap;

use dynopilot_core::policy::{CheckKind, CheckSample, CheckState, CheckStatus};

use super::super::web::{Harness, at, text};

#[tokio::test]
async fn the_app_page_shows_each_check_with_state_values_and_history() {
    let h = Harness::loopback().await;
    h.observe_shop();
    {
        let mut fleet = h.ingest.fleet.lock().unwrap();
        let mut cache = CheckStatus::new(CheckKind::Redis);
        cache.record(CheckSample {
            at: at(10),
            state: CheckState::Ok,
            values: BTreeMap::from([("connected_clients".to_owned(), 3.0)]),
            detail: String::new(),
        });
        cache.record(CheckSample {
            at: at(20),
            state: CheckState::Down,
            values: BTreeMap::new(),
            detail: "connection refused".to_owned(),
        });
        let mut db = CheckStatus::new(CheckKind::Postgres);
        db.record(CheckSample {
            at: at(20),
            state: CheckState::Degraded,
            values: BTreeMap::from([("connections_pct".to_owned(), 93.0)]),
            detail: "connections_pct 93 ≥ 80".to_owned(),
        });
        let checks = &mut fleet.app_mut("shop").observed.checks;
        checks.insert("cache".to_owned(), cache);
        checks.insert("db".to_owned(), db);
    }
    let page = text(h.get("/apps/shop").await).await;
    assert!(
        page.contains(r#"<tr data-check="cache" class="check-down">"#),
        "{page}"
    );
    assert!(page.contains("down: connection refused"));
    assert!(page.contains(
        r#"<span class="h-ok" title="ok"></span><span class="h-down" title="down"></span>"#
    ));
    assert!(page.contains(r#"<tr data-check="db" class="check-degraded">"#));
    assert!(page.contains("connections_pct 93"));
    assert!(page.contains("degraded: connections_pct 93 ≥ 80"));
}
