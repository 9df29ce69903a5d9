//! Conformance pieces for the alert delivery journal: insert once, claim due rows with a
//! lease, settle them, never reopen a sent row, list per app.

use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::Timestamp;
use dynopilot_store::{DeliveryRecord, DeliveryState, DeliveryUpdate, Store};
use serde_json::json;

use super::t;

fn pending(event_id: &str, channel: &str, app: &str, at: Timestamp) -> DeliveryRecord {
    DeliveryRecord {
        event_id: event_id.to_owned(),
        channel: channel.to_owned(),
        app: app.to_owned(),
        topic: "restart".to_owned(),
        decision_id: Some(format!("decision-{event_id}")),
        state: DeliveryState::Pending,
        attempts: 0,
        next_attempt_at: Some(at),
        last_error: None,
        receipt: None,
        created_at: at,
        updated_at: at,
        event: json!({"id": event_id, "topic": "restart", "app": app}),
    }
}

fn settle(
    d: &DeliveryRecord,
    state: DeliveryState,
    attempts: u32,
    at: Timestamp,
) -> DeliveryUpdate {
    DeliveryUpdate {
        event_id: d.event_id.clone(),
        channel: d.channel.clone(),
        state,
        attempts,
        next_attempt_at: None,
        last_error: (state == DeliveryState::Failed).then(|| "HTTP 500".to_owned()),
        receipt: (state == DeliveryState::Sent).then(|| "200 OK".to_owned()),
        updated_at: at,
    }
}

const LEASE: Duration = Duration::from_secs(60);

pub async fn delivery_insert_is_once_per_event_and_channel(store: Arc<dyn Store>) {
    let a = pending("e1", "email", "shop", t(0));
    assert!(store.insert_delivery(&a).await.unwrap());
    assert!(
        !store.insert_delivery(&a).await.unwrap(),
        "same event, same channel"
    );
    assert!(
        store
            .insert_delivery(&pending("e1", "slack", "shop", t(0)))
            .await
            .unwrap(),
        "same event, another channel"
    );
    let rows = store.deliveries("shop", 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    let email = rows.iter().find(|r| r.channel == "email").unwrap();
    assert_eq!(email, &a, "every field round-trips");
}

pub async fn due_deliveries_are_claimed_once_per_lease_oldest_first(store: Arc<dyn Store>) {
    for (i, id) in ["e1", "e2", "e3"].iter().enumerate() {
        let mut d = pending(id, "webhook", "shop", t(i as i64));
        d.next_attempt_at = Some(t(10 * i as i64));
        store.insert_delivery(&d).await.unwrap();
    }
    let mut dropped = pending("e4", "webhook", "shop", t(0));
    dropped.state = DeliveryState::DroppedByCooling;
    dropped.next_attempt_at = None;
    store.insert_delivery(&dropped).await.unwrap();

    // At t(10): e1 (due t(0)) and e2 (due t(10)); e3 is due at t(20); the dropped row never.
    let claimed = store.claim_due_deliveries(t(10), LEASE, 10).await.unwrap();
    let ids: Vec<&str> = claimed.iter().map(|d| d.event_id.as_str()).collect();
    assert_eq!(ids, ["e1", "e2"]);
    assert!(claimed.iter().all(|d| d.next_attempt_at == Some(t(70))));
    // Claimed rows wait out their lease; e3 is due now.
    let again = store.claim_due_deliveries(t(20), LEASE, 10).await.unwrap();
    let ids: Vec<&str> = again.iter().map(|d| d.event_id.as_str()).collect();
    assert_eq!(ids, ["e3"]);
    // A claimer that died mid-send: after the lease, e1 and e2 are due again.
    let after_lease = store.claim_due_deliveries(t(70), LEASE, 1).await.unwrap();
    assert_eq!(after_lease.len(), 1, "the limit holds");
    assert_eq!(after_lease[0].event_id, "e1");
}

pub async fn a_sent_delivery_is_never_reopened_or_claimed(store: Arc<dyn Store>) {
    let d = pending("e1", "pagerduty", "shop", t(0));
    store.insert_delivery(&d).await.unwrap();
    let mut retry = settle(&d, DeliveryState::Pending, 1, t(1));
    retry.next_attempt_at = Some(t(5));
    retry.last_error = Some("HTTP 500".to_owned());
    assert!(store.update_delivery(&retry).await.unwrap());
    assert!(
        store
            .claim_due_deliveries(t(4), LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .claim_due_deliveries(t(5), LEASE, 10)
            .await
            .unwrap()
            .len(),
        1
    );

    assert!(
        store
            .update_delivery(&settle(&d, DeliveryState::Sent, 2, t(6)))
            .await
            .unwrap()
    );
    // A late writer (a second process, a stale retry) cannot turn it back.
    assert!(!store.update_delivery(&retry).await.unwrap());
    assert!(
        !store
            .update_delivery(&settle(&d, DeliveryState::Failed, 3, t(7)))
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_due_deliveries(t(1000), LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let row = &store.deliveries("shop", 10).await.unwrap()[0];
    assert_eq!(row.state, DeliveryState::Sent);
    assert_eq!(row.attempts, 2);
    assert_eq!(row.receipt.as_deref(), Some("200 OK"));
    assert_eq!(row.last_error, None);
    assert_eq!(row.updated_at, t(6));
    assert_eq!(row.next_attempt_at, None);
}

pub async fn deliveries_are_listed_per_app_newest_first(store: Arc<dyn Store>) {
    for i in 0..5 {
        let d = pending(&format!("e{i}"), "email", "shop", t(i));
        store.insert_delivery(&d).await.unwrap();
    }
    store
        .insert_delivery(&pending("other", "email", "billing", t(9)))
        .await
        .unwrap();
    let rows = store.deliveries("shop", 3).await.unwrap();
    let ids: Vec<&str> = rows.iter().map(|d| d.event_id.as_str()).collect();
    assert_eq!(ids, ["e4", "e3", "e2"]);
    let failed = settle(&rows[0], DeliveryState::Failed, 5, t(20));
    store.update_delivery(&failed).await.unwrap();
    let row = &store.deliveries("shop", 1).await.unwrap()[0];
    assert_eq!(
        (row.state, row.last_error.as_deref()),
        (DeliveryState::Failed, Some("HTTP 500"))
    );
    assert_eq!(store.deliveries("billing", 10).await.unwrap().len(), 1);
}

pub async fn prune_deletes_old_settled_deliveries_and_keeps_pending_ones(store: Arc<dyn Store>) {
    let day = 86_400;
    let old = pending("old-sent", "email", "shop", t(0));
    let old_pending = pending("old-pending", "email", "shop", t(0));
    let recent = pending("recent-sent", "email", "shop", t(40 * day));
    for d in [&old, &old_pending, &recent] {
        store.insert_delivery(d).await.unwrap();
    }
    for (d, at) in [(&old, t(1)), (&recent, t(40 * day + 1))] {
        store
            .update_delivery(&settle(d, DeliveryState::Sent, 1, at))
            .await
            .unwrap();
    }
    let report = store
        .prune(t(41 * day), &dynopilot_store::Retention::default())
        .await
        .unwrap();
    assert_eq!(report.deliveries_deleted, 1);
    let mut left: Vec<String> = store
        .deliveries("shop", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.event_id)
        .collect();
    left.sort();
    assert_eq!(left, ["old-pending", "recent-sent"]);
}
