//! The SQL shared by both backends. SQLite and Postgres accept the same statements here (`$n`
//! placeholders, `ON CONFLICT`, integer timestamps), so each statement is written once; the
//! macros below instantiate it per backend with the concrete sqlx types, which keeps the code
//! free of sqlx's generic-executor bounds. Dialect differences are macro arguments:
//! `begin` opens a write transaction (SQLite needs `BEGIN IMMEDIATE` to take the write lock up
//! front instead of failing on upgrade) and `lock` is appended to read-for-update selects.

#[macro_use]
mod deliveries;
#[macro_use]
mod ingest;
#[macro_use]
mod journal;

/// Database integers are signed; counts are not. Negative values never come from us.
pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn duration_ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn parse_json(
    table: &'static str,
    text: &str,
) -> Result<serde_json::Value, crate::StoreError> {
    serde_json::from_str(text).map_err(|e| crate::StoreError::corrupt(table, e))
}

/// `impl Store for $store` (whose `pool` field is a `sqlx::Pool<$db>`), delegating to the
/// inherent methods that `ingest!` and `journal!` generate.
macro_rules! impl_store {
    ($store:ident, $db:ty, $backend:expr, begin = $begin:literal, lock = $lock:literal) => {
        ingest!($store, $db, $backend, begin = $begin, lock = $lock);
        journal!($store, $db, $backend);
        deliveries!($store, $db, $backend, lock = $lock);

        impl crate::Store for $store {
            fn backend(&self) -> crate::Backend {
                $backend
            }

            fn write_batch<'a>(&'a self, batch: &'a crate::Batch) -> crate::StoreFuture<'a, ()> {
                Box::pin(self.write_batch_impl(batch))
            }

            fn samples<'a>(
                &'a self,
                app: &'a str,
                filter: &'a crate::SampleFilter,
                range: crate::TimeRange,
            ) -> crate::StoreFuture<'a, Vec<crate::Sample>> {
                Box::pin(self.samples_impl(app, filter, range))
            }

            fn memory_peaks<'a>(
                &'a self,
                app: &'a str,
                range: crate::TimeRange,
                step: std::time::Duration,
            ) -> crate::StoreFuture<'a, Vec<crate::MemoryPeak>> {
                Box::pin(self.memory_peaks_impl(app, range, step))
            }

            fn rollups<'a>(
                &'a self,
                app: &'a str,
                process_type: &'a str,
                range: crate::TimeRange,
                step: std::time::Duration,
            ) -> crate::StoreFuture<'a, Vec<crate::Rollup>> {
                Box::pin(self.rollups_impl(app, process_type, range, step))
            }

            fn insert_decision<'a>(
                &'a self,
                decision: &'a crate::DecisionRecord,
            ) -> crate::StoreFuture<'a, bool> {
                Box::pin(self.insert_decision_impl(decision))
            }

            fn decisions<'a>(
                &'a self,
                app: &'a str,
                range: crate::TimeRange,
                limit: u32,
            ) -> crate::StoreFuture<'a, Vec<crate::DecisionRecord>> {
                Box::pin(self.decisions_impl(app, range, limit))
            }

            fn record_action<'a>(
                &'a self,
                action: &'a crate::ActionRecord,
            ) -> crate::StoreFuture<'a, ()> {
                Box::pin(self.record_action_impl(action))
            }

            fn actions<'a>(
                &'a self,
                app: &'a str,
                range: crate::TimeRange,
                limit: u32,
            ) -> crate::StoreFuture<'a, Vec<crate::ActionRecord>> {
                Box::pin(self.actions_impl(app, range, limit))
            }

            fn completed_decision_ids<'a>(
                &'a self,
                app: &'a str,
            ) -> crate::StoreFuture<'a, std::collections::HashSet<String>> {
                Box::pin(self.completed_decision_ids_impl(app))
            }

            fn unfinished_actions<'a>(
                &'a self,
                app: &'a str,
            ) -> crate::StoreFuture<'a, Vec<crate::UnfinishedAction>> {
                Box::pin(self.unfinished_actions_impl(app))
            }

            fn unattempted_decisions<'a>(
                &'a self,
                app: &'a str,
            ) -> crate::StoreFuture<'a, Vec<crate::DecisionRecord>> {
                Box::pin(self.unattempted_decisions_impl(app))
            }

            fn events<'a>(
                &'a self,
                app: &'a str,
                range: crate::TimeRange,
                limit: u32,
            ) -> crate::StoreFuture<'a, Vec<crate::Event>> {
                Box::pin(self.events_impl(app, range, limit))
            }

            fn put_policy_state<'a>(
                &'a self,
                app: &'a str,
                updated_at: dynopilot_core::Timestamp,
                state: &'a serde_json::Value,
            ) -> crate::StoreFuture<'a, ()> {
                Box::pin(self.put_policy_state_impl(app, updated_at, state))
            }

            fn policy_state<'a>(
                &'a self,
                app: &'a str,
            ) -> crate::StoreFuture<'a, Option<crate::PolicyStateRecord>> {
                Box::pin(self.policy_state_impl(app))
            }

            fn prune<'a>(
                &'a self,
                now: dynopilot_core::Timestamp,
                retention: &'a crate::Retention,
            ) -> crate::StoreFuture<'a, crate::PruneReport> {
                Box::pin(self.prune_impl(now, retention))
            }

            fn insert_delivery<'a>(
                &'a self,
                delivery: &'a crate::DeliveryRecord,
            ) -> crate::StoreFuture<'a, bool> {
                Box::pin(self.insert_delivery_impl(delivery))
            }

            fn claim_due_deliveries(
                &self,
                now: dynopilot_core::Timestamp,
                lease: std::time::Duration,
                limit: u32,
            ) -> crate::StoreFuture<'_, Vec<crate::DeliveryRecord>> {
                Box::pin(self.claim_due_deliveries_impl(now, lease, limit))
            }

            fn update_delivery<'a>(
                &'a self,
                update: &'a crate::DeliveryUpdate,
            ) -> crate::StoreFuture<'a, bool> {
                Box::pin(self.update_delivery_impl(update))
            }

            fn deliveries<'a>(
                &'a self,
                app: &'a str,
                limit: u32,
            ) -> crate::StoreFuture<'a, Vec<crate::DeliveryRecord>> {
                Box::pin(self.deliveries_impl(app, limit))
            }

            fn close(&self) -> crate::StoreFuture<'_, ()> {
                Box::pin(async move {
                    self.pool.close().await;
                    Ok(())
                })
            }
        }
    };
}
