//! dynopilot's pure core: domain types (apps, process types, dynos, sizes), time as data, and the
//! policies that turn observations into decisions. This crate performs no I/O and never reads a
//! clock; everything time-dependent takes a `Timestamp` or an injected `Clock`.

pub mod names;
pub mod policy;
pub mod scaling;
pub mod secret;
pub mod size;
pub mod sketch;
pub mod time;
pub mod validate;

pub use names::{DynoName, NameError, ProcessType};
pub use secret::Secret;
pub use size::{DynoSize, Generation, SIZES, SizeError};
pub use sketch::LatencySketch;
pub use time::{Clock, ManualClock, Timestamp};
