//! The batch writer: size- and clock-triggered flushes, failure counting and catch-up,
//! bounded backlog, and a final write when the last sender goes away.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dynopilot_core::{ManualClock, Timestamp};
use dynopilot_store::{
    ActionRecord, Backend, Batch, BatchWriter, DecisionRecord, DeliveryRecord, DeliveryUpdate,
    Event, PolicyStateRecord, PruneReport, Retention, Rollup, Sample, SampleFilter, Store,
    StoreError, StoreFuture, TimeRange, UnfinishedAction, WriterConfig,
};
use serde_json::Value;

use crate::conformance::t;

/// A store whose batch writes fail while `failing` is set; everything else is delegated.
struct FlakyStore {
    inner: Arc<dyn Store>,
    failing: AtomicBool,
}

impl Store for FlakyStore {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }
    fn write_batch<'a>(&'a self, batch: &'a Batch) -> StoreFuture<'a, ()> {
        if self.failing.load(Ordering::SeqCst) {
            return Box::pin(async { Err(StoreError::Invalid("database is down".into())) });
        }
        self.inner.write_batch(batch)
    }
    fn samples<'a>(
        &'a self,
        app: &'a str,
        f: &'a SampleFilter,
        r: TimeRange,
    ) -> StoreFuture<'a, Vec<Sample>> {
        self.inner.samples(app, f, r)
    }
    fn rollups<'a>(
        &'a self,
        app: &'a str,
        pt: &'a str,
        r: TimeRange,
        step: Duration,
    ) -> StoreFuture<'a, Vec<Rollup>> {
        self.inner.rollups(app, pt, r, step)
    }
    fn insert_decision<'a>(&'a self, d: &'a DecisionRecord) -> StoreFuture<'a, bool> {
        self.inner.insert_decision(d)
    }
    fn decisions<'a>(
        &'a self,
        app: &'a str,
        r: TimeRange,
        limit: u32,
    ) -> StoreFuture<'a, Vec<DecisionRecord>> {
        self.inner.decisions(app, r, limit)
    }
    fn record_action<'a>(&'a self, a: &'a ActionRecord) -> StoreFuture<'a, ()> {
        self.inner.record_action(a)
    }
    fn actions<'a>(
        &'a self,
        app: &'a str,
        r: TimeRange,
        limit: u32,
    ) -> StoreFuture<'a, Vec<ActionRecord>> {
        self.inner.actions(app, r, limit)
    }
    fn completed_decision_ids<'a>(&'a self, app: &'a str) -> StoreFuture<'a, HashSet<String>> {
        self.inner.completed_decision_ids(app)
    }
    fn unfinished_actions<'a>(&'a self, app: &'a str) -> StoreFuture<'a, Vec<UnfinishedAction>> {
        self.inner.unfinished_actions(app)
    }
    fn unattempted_decisions<'a>(&'a self, app: &'a str) -> StoreFuture<'a, Vec<DecisionRecord>> {
        self.inner.unattempted_decisions(app)
    }
    fn events<'a>(&'a self, app: &'a str, r: TimeRange, limit: u32) -> StoreFuture<'a, Vec<Event>> {
        self.inner.events(app, r, limit)
    }
    fn put_policy_state<'a>(
        &'a self,
        app: &'a str,
        at: Timestamp,
        s: &'a Value,
    ) -> StoreFuture<'a, ()> {
        self.inner.put_policy_state(app, at, s)
    }
    fn policy_state<'a>(&'a self, app: &'a str) -> StoreFuture<'a, Option<PolicyStateRecord>> {
        self.inner.policy_state(app)
    }
    fn prune<'a>(&'a self, now: Timestamp, r: &'a Retention) -> StoreFuture<'a, PruneReport> {
        self.inner.prune(now, r)
    }
    fn insert_delivery<'a>(&'a self, d: &'a DeliveryRecord) -> StoreFuture<'a, bool> {
        self.inner.insert_delivery(d)
    }
    fn claim_due_deliveries(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> StoreFuture<'_, Vec<DeliveryRecord>> {
        self.inner.claim_due_deliveries(now, lease, limit)
    }
    fn update_delivery<'a>(&'a self, u: &'a DeliveryUpdate) -> StoreFuture<'a, bool> {
        self.inner.update_delivery(u)
    }
    fn deliveries<'a>(&'a self, app: &'a str, limit: u32) -> StoreFuture<'a, Vec<DeliveryRecord>> {
        self.inner.deliveries(app, limit)
    }
    fn close(&self) -> StoreFuture<'_, ()> {
        self.inner.close()
    }
}

fn sample(i: i64) -> Sample {
    Sample {
        memory_total_mb: Some(100.0),
        ..Sample::new("app", "web.1", t(i))
    }
}

async fn stored(store: &Arc<dyn Store>) -> usize {
    let range = TimeRange::new(t(-1), t(10_000));
    store
        .samples("app", &SampleFilter::AllDynos, range)
        .await
        .unwrap()
        .len()
}

/// Waits (in real time, bounded) for the writer task to get `n` samples into the store.
async fn until_stored(store: &Arc<dyn Store>, n: usize) {
    for _ in 0..500 {
        if stored(store).await == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!(
        "store never reached {n} samples (has {})",
        stored(store).await
    );
}

async fn setup(
    config: WriterConfig,
) -> (Arc<FlakyStore>, Arc<dyn Store>, ManualClock, BatchWriter) {
    let inner = crate::support::sqlite_memory().await;
    let flaky = Arc::new(FlakyStore {
        inner: inner.clone(),
        failing: AtomicBool::new(false),
    });
    let clock = ManualClock::new(t(0));
    let (writer, _task) = BatchWriter::spawn(flaky.clone(), Arc::new(clock.clone()), config);
    (flaky, inner, clock, writer)
}

fn config(max_items: usize) -> WriterConfig {
    WriterConfig {
        max_items,
        max_delay: Duration::from_secs(2),
        ..WriterConfig::default()
    }
}

#[tokio::test]
async fn writes_once_max_items_are_waiting() {
    let (_, store, _, writer) = setup(config(3)).await;
    assert!(writer.sample(sample(1)) && writer.sample(sample(2)));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        stored(&store).await,
        0,
        "below max_items and before max_delay nothing is written"
    );
    writer.sample(sample(3));
    until_stored(&store, 3).await;
    assert_eq!(writer.stats().written(), 3);
}

#[tokio::test]
async fn writes_max_delay_after_the_first_item_by_the_injected_clock() {
    let (_, store, clock, writer) = setup(config(100)).await;
    writer.sample(sample(1));
    // The deadline is set when the task receives the item, which happens asynchronously.
    let deadline = t(0).plus(Duration::from_secs(2));
    for _ in 0..500 {
        if clock.next_deadline() == Some(deadline) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(clock.next_deadline(), Some(deadline));
    clock.advance(Duration::from_millis(1999));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(stored(&store).await, 0);
    clock.advance(Duration::from_millis(1));
    until_stored(&store, 1).await;
}

#[tokio::test]
async fn failed_writes_are_counted_kept_and_caught_up() {
    let (flaky, store, clock, writer) = setup(config(2)).await;
    flaky.failing.store(true, Ordering::SeqCst);
    for i in 0..5 {
        writer.sample(sample(i));
    }
    assert!(
        !writer.flush().await,
        "flush reports that the batch is still pending"
    );
    let failures = writer.stats().failed_writes();
    assert!(failures >= 1);
    assert_eq!(
        writer.stats().pending(),
        5,
        "the backlog gauge shows what is held"
    );
    // Backing off: more items do not trigger writes before the retry time.
    writer.sample(sample(5));
    assert!(!writer.flush().await);
    flaky.failing.store(false, Ordering::SeqCst);
    clock.advance(Duration::from_secs(2));
    until_stored(&store, 6).await;
    assert_eq!(writer.stats().written(), 6);
    assert_eq!(writer.stats().dropped(), 0);
    assert_eq!(writer.stats().pending(), 0);
}

#[tokio::test]
async fn backlog_beyond_max_pending_drops_the_oldest_and_counts_them() {
    let (flaky, store, _, writer) = setup(WriterConfig {
        max_pending: 4,
        ..config(100)
    })
    .await;
    flaky.failing.store(true, Ordering::SeqCst);
    for i in 0..7 {
        writer.sample(sample(i));
    }
    assert!(!writer.flush().await);
    assert_eq!(writer.stats().dropped(), 3);
    assert_eq!(writer.stats().pending(), 4);
    flaky.failing.store(false, Ordering::SeqCst);
    assert!(writer.flush().await);
    let kept: Vec<Timestamp> = store
        .samples("app", &SampleFilter::AllDynos, TimeRange::new(t(0), t(10)))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.at)
        .collect();
    assert_eq!(kept, [t(3), t(4), t(5), t(6)]);
}

#[tokio::test]
async fn dropping_every_sender_writes_what_is_left_and_ends_the_task() {
    let store = crate::support::sqlite_memory().await;
    let clock = ManualClock::new(t(0));
    let (writer, task) = BatchWriter::spawn(store.clone(), Arc::new(clock), config(100));
    writer.sample(sample(1));
    writer.sample(sample(2));
    let stats = writer.stats().clone();
    drop(writer);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored(&store).await, 2);
    assert_eq!(stats.written(), 2);
}
