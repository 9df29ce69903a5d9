//! The store conformance suite: every piece is an `async fn(Arc<dyn Store>)` written once and
//! run against in-memory SQLite, file SQLite and Postgres by the `conformance!` macro.

mod deliveries;
mod ingest;
mod journal;

use dynopilot_core::Timestamp;

pub use deliveries::*;
pub use ingest::*;
pub use journal::*;

crate::support::conformance!(
    decision_insert_is_idempotent,
    decision_record_from_core_decision_round_trips,
    journal_lists_are_newest_first_limited_and_half_open,
    completed_decisions_are_those_ended_ok_or_skipped,
    unfinished_actions_are_those_whose_last_attempt_has_no_outcome,
    unattempted_decisions_are_executable_ones_without_an_attempt,
    actions_need_a_journaled_decision,
    policy_state_round_trips_per_app,
    rollups_merge_counts_and_sketches_across_batches,
    rollups_keep_queue_time_and_merge_it,
    memory_peaks_are_per_dyno_and_bucket,
    rollup_steps_merge_minutes_within_the_range,
    hourly_rollups_answer_whole_hour_steps_like_the_minutes_do,
    sample_queries_filter_by_dyno_and_process_type_half_open,
    prune_deletes_old_rows_and_downsamples,
    concurrent_batches_lose_nothing,
    delivery_insert_is_once_per_event_and_channel,
    due_deliveries_are_claimed_once_per_lease_oldest_first,
    a_sent_delivery_is_never_reopened_or_claimed,
    deliveries_are_listed_per_app_newest_first,
    prune_deletes_old_settled_deliveries_and_keeps_pending_ones,
);

/// A fixed base time (2024-01-01T00:00:00Z) plus `s` seconds.
pub fn t(s: i64) -> Timestamp {
    Timestamp::from_millis(1_704_067_200_000 + s * 1000)
}
