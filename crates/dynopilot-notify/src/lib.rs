//! Alert delivery: what one alert says (`AlertEvent`), how a channel answers (`Receipt`,
//! `DeliveryError`), the `Deliver` seam, and — in later modules — the channels themselves,
//! routing and cooling.

pub mod cooling;
pub mod deliver;
pub mod event;
pub mod route;
pub mod topic;
#[cfg(test)]
mod transcripts;

pub use cooling::{Cooling, Verdict};
pub use deliver::{Deliver, DeliveryFuture};
pub use event::{AlertEvent, DeliveryError, DigestSummary, EventKind, Receipt};
pub use route::{DefaultRoute, Glob, GlobError, Route, Routed, Routes};
pub use topic::{EventSettings, event_for, lifecycle_event};
