//! Alert delivery: what one alert says (`AlertEvent`), how a channel answers (`Receipt`,
//! `DeliveryError`), the `Deliver` seam, and — in later modules — the channels themselves,
//! routing and cooling.

pub mod channels;
pub mod config;
pub mod deliver;
pub mod event;

pub use channels::{Channels, ChannelsError};
pub use config::{ChannelConfig, ChannelIssue};
pub use deliver::{Deliver, DeliveryFuture};
pub use event::{AlertEvent, DeliveryError, DigestSummary, EventKind, Receipt};
