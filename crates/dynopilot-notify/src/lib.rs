//! Alert delivery: what one alert says (`AlertEvent`), how a channel answers (`Receipt`,
//! `DeliveryError`), the `Deliver` seam, and — in later modules — the channels themselves,
//! routing and cooling.

pub mod deliver;
pub mod event;

pub use deliver::{Deliver, DeliveryFuture};
pub use event::{AlertEvent, DeliveryError, DigestSummary, EventKind, Receipt};
