//! The `Store` trait every backend implements, and `open(url)`, which picks the backend by the
//! URL's scheme. The trait is object-safe (`Arc<dyn Store>`): methods return boxed futures.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::Timestamp;
use serde_json::Value;

use crate::delivery::{DeliveryRecord, DeliveryUpdate};
use crate::error::{Backend, StoreError};
use crate::model::{
    ActionRecord, Batch, DecisionRecord, Event, MemoryPeak, PolicyStateRecord, Sample,
    SampleFilter, TimeRange, UnfinishedAction,
};
use crate::retention::{PruneReport, Retention};
use crate::rollup::Rollup;

/// The future every store method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Persistence for samples, rollups, the decision journal, actions, events and policy state.
///
/// Ranges are half-open (`start` included, `end` excluded). List queries of the journal return
/// newest first.
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Writes samples, rollups (merged into existing minutes) and events in one transaction.
    fn write_batch<'a>(&'a self, batch: &'a Batch) -> StoreFuture<'a, ()>;

    /// Samples of `app` matching `filter` in `range`, oldest first.
    fn samples<'a>(
        &'a self,
        app: &'a str,
        filter: &'a SampleFilter,
        range: TimeRange,
    ) -> StoreFuture<'a, Vec<Sample>>;

    /// Per dyno of `app`, the highest memory total and quota in each `step` bucket of `range`
    /// (buckets start at `range.start`), ordered by bucket then dyno; buckets without samples
    /// are absent. Raw and downsampled rows count alike, by their `at`.
    ///
    /// The default reads every sample and buckets them here; the SQL backends aggregate in the
    /// database instead, which is what keeps long chart ranges fast.
    fn memory_peaks<'a>(
        &'a self,
        app: &'a str,
        range: TimeRange,
        step: Duration,
    ) -> StoreFuture<'a, Vec<MemoryPeak>> {
        Box::pin(async move {
            let samples = self.samples(app, &SampleFilter::AllDynos, range).await?;
            Ok(crate::model::memory_peaks(&samples, range.start, step))
        })
    }

    /// Rollups of one process type in `range`, merged into `step` buckets (whole minutes,
    /// aligned to the epoch), oldest first. Buckets with no traffic are absent.
    fn rollups<'a>(
        &'a self,
        app: &'a str,
        process_type: &'a str,
        range: TimeRange,
        step: Duration,
    ) -> StoreFuture<'a, Vec<Rollup>>;

    /// Journals a decision; returns false when its id was already there (nothing changes).
    fn insert_decision<'a>(&'a self, decision: &'a DecisionRecord) -> StoreFuture<'a, bool>;

    fn decisions<'a>(
        &'a self,
        app: &'a str,
        range: TimeRange,
        limit: u32,
    ) -> StoreFuture<'a, Vec<DecisionRecord>>;

    /// Inserts or updates the attempt `(decision_id, attempt)`. The decision must exist.
    fn record_action<'a>(&'a self, action: &'a ActionRecord) -> StoreFuture<'a, ()>;

    /// Actions of `app`'s decisions that started in `range`, newest first.
    fn actions<'a>(
        &'a self,
        app: &'a str,
        range: TimeRange,
        limit: u32,
    ) -> StoreFuture<'a, Vec<ActionRecord>>;

    /// Ids of `app`'s decisions with an attempt that ended ok or skipped: never repeat these.
    fn completed_decision_ids<'a>(&'a self, app: &'a str) -> StoreFuture<'a, HashSet<String>>;

    /// `app`'s decisions whose last attempt has no outcome (`started`, `unknown`) or an outcome
    /// word this version does not know, oldest attempt first: what reconciliation looks at.
    fn unfinished_actions<'a>(&'a self, app: &'a str) -> StoreFuture<'a, Vec<UnfinishedAction>>;

    /// `app`'s decisions journaled as executable but never attempted (queued for the executor
    /// when the process ended), oldest first.
    fn unattempted_decisions<'a>(&'a self, app: &'a str) -> StoreFuture<'a, Vec<DecisionRecord>>;

    fn events<'a>(
        &'a self,
        app: &'a str,
        range: TimeRange,
        limit: u32,
    ) -> StoreFuture<'a, Vec<Event>>;

    /// Replaces `app`'s policy state.
    fn put_policy_state<'a>(
        &'a self,
        app: &'a str,
        updated_at: Timestamp,
        state: &'a Value,
    ) -> StoreFuture<'a, ()>;

    fn policy_state<'a>(&'a self, app: &'a str) -> StoreFuture<'a, Option<PolicyStateRecord>>;

    /// Applies `retention` as of `now`; see the `retention` module for exactly what it does.
    fn prune<'a>(
        &'a self,
        now: Timestamp,
        retention: &'a Retention,
    ) -> StoreFuture<'a, PruneReport>;

    /// Journals one alert delivery; returns false when (event id, channel) was already there
    /// (nothing changes, so an event handed over twice is delivered once).
    fn insert_delivery<'a>(&'a self, delivery: &'a DeliveryRecord) -> StoreFuture<'a, bool>;

    /// Pending deliveries due at `now` (at most `limit`, oldest first), each pushed `lease`
    /// into the future so no other claimer takes it meanwhile and a crash mid-send leaves it
    /// due again.
    fn claim_due_deliveries(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> StoreFuture<'_, Vec<DeliveryRecord>>;

    /// Writes an attempt's outcome onto a pending delivery; returns false (nothing changes)
    /// when the row is not pending any more, so a row marked sent is never reopened.
    fn update_delivery<'a>(&'a self, update: &'a DeliveryUpdate) -> StoreFuture<'a, bool>;

    /// `app`'s deliveries, newest first.
    fn deliveries<'a>(&'a self, app: &'a str, limit: u32) -> StoreFuture<'a, Vec<DeliveryRecord>>;

    /// Waits for in-flight queries and closes the connections.
    fn close(&self) -> StoreFuture<'_, ()>;
}

/// Opens (creating and migrating if needed) the store at `url`:
/// `sqlite://path/to/file.db`, `sqlite::memory:`, or `postgres://…` / `postgresql://…`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Arc::new(crate::sqlite::SqliteStore::open(url).await?)),
        "postgres" | "postgresql" => Ok(Arc::new(crate::postgres::PostgresStore::open(url).await?)),
        _ => Err(StoreError::UnsupportedUrl {
            scheme: scheme.to_owned(),
        }),
    }
}
