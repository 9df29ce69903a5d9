//! dynopilot's persistence: one object-safe `Store` trait with SQLite (default) and Postgres
//! implementations, migrations embedded in the binary, and a `BatchWriter` that keeps ingest
//! off the database's latency path.
//!
//! Codemap:
//! - `store`: the trait and `open(url)`;
//! - `model`, `rollup`: the rows, and how rollups merge;
//! - `retention`: pruning and downsampling rules;
//! - `backend`: the SQL, written once and instantiated for `sqlite` and `postgres`;
//! - `writer`: the batching task;
//! - `delivery`: the alert delivery journal's rows.
//!
//! Timestamps are integer epoch milliseconds in both databases. Both backends run the same
//! conformance suite (`tests/it/conformance.rs`).

#[macro_use]
mod backend;
mod delivery;
mod error;
mod model;
mod postgres;
mod retention;
mod rollup;
mod sqlite;
mod store;
mod writer;

pub use delivery::{DeliveryRecord, DeliveryState, DeliveryUpdate};
pub use error::{Backend, StoreError};
pub use model::{
    ActionOutcome, ActionRecord, Batch, DecisionRecord, Event, MemoryPeak, PolicyStateRecord,
    Sample, SampleFilter, TimeRange, UnfinishedAction,
};
pub use postgres::PostgresStore;
pub use retention::{DOWNSAMPLE_WINDOW, PruneReport, Retention, downsample};
pub use rollup::{HOUR_MS, MINUTE_MS, Rollup, align_down, merge_by_step};
pub use sqlite::SqliteStore;
pub use store::{Store, StoreFuture, open};
pub use writer::{BatchWriter, WriterConfig, WriterStats};
