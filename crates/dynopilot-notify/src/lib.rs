//! Alert delivery: what one alert says (`AlertEvent`), how a channel answers (`Receipt`,
//! `DeliveryError`), the `Deliver` seam, the channels themselves (`channels`), topics, routing
//! and cooling.

pub mod channels;
pub mod config;
pub mod cooling;
pub mod deliver;
pub mod event;
pub mod route;
pub mod topic;
#[cfg(test)]
mod transcripts;

pub use channels::{Channels, ChannelsError};
pub use config::{ChannelConfig, ChannelIssue};
pub use cooling::{Cooling, Verdict};
pub use deliver::{Deliver, DeliveryFuture};
pub use event::{AlertEvent, DeliveryError, DigestSummary, EventKind, Receipt};
pub use route::{DefaultRoute, Glob, GlobError, Route, Routed, Routes};
pub use topic::{EventSettings, event_for, lifecycle_event};
