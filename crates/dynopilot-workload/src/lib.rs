//! The simulated world's physics: request arrivals from a traffic pattern, Heroku's random
//! routing onto dynos with fixed concurrency and FIFO queues, dyno lifecycle (boot, cycling,
//! crashes, R10/R14/R15) and memory, a worker job queue, and the exact Heroku log lines all of
//! that produces. Pure and deterministic: no I/O, no clock reads; time moves only in
//! [`Model::advance_to`], so the same code runs in real time or as fast as the CPU allows.

mod api;
pub mod config;
mod dyno;
mod jobs;
mod lifecycle;
mod metrics;
pub mod model;
mod outbox;
mod rng;
mod router;
pub mod sink;
pub mod traffic;
pub mod truth;
mod world;

pub use config::{
    ConfigError, JobModel, MemoryModel, PlatformModel, ProcessModel, RequestClass,
    ServiceDistribution, WorkloadConfig,
};
pub use model::{DynoState, DynoView, FormationView, Model, WorldError};
pub use sink::{CountingSink, LogEntry, LogSink, NullSink, VecSink};
pub use traffic::TrafficPattern;
pub use truth::{ApiAction, DynoIncident, GroundTruth, MemoryPoint, MinuteTruth};
