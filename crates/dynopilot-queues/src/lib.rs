//! Job-queue readers: how many jobs wait in each queue of an app's job backend, how old the
//! oldest runnable one is and how many run right now, read without touching the app's code.
//! Redis backends (Sidekiq, RQ, Celery, Resque) and Postgres backends (GoodJob, Que, Solid
//! Queue, delayed_job); every read is read-only and bounded by a timeout. The key layouts and
//! table schemas relied on are listed in `docs/queues.md`.

mod adapter;
mod celery;
mod delayed_job;
mod error;
mod good_job;
mod postgres;
mod que;
mod reading;
mod redis_backend;
mod resque;
mod rq;
mod sidekiq;
mod solid_queue;
mod source;

pub use adapter::Adapter;
pub use error::SourceError;
pub use reading::{QueueFault, QueueReading, Snapshot, Total};
pub use source::{QueueSource, SourceSpec};
