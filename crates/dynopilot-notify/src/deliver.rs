//! The seam between the dispatcher (routing, cooling, journal, retries) and the channels that
//! talk to receivers: one call delivers one event through one named channel.

use std::future::Future;
use std::pin::Pin;

use crate::event::{AlertEvent, DeliveryError, Receipt};

/// A boxed delivery future, so `Deliver` can be used as `Arc<dyn Deliver>`.
pub type DeliveryFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Receipt, DeliveryError>> + Send + 'a>>;

/// Delivers an event through the channel configured under `channel`. An unknown channel name
/// is a permanent `DeliveryError`.
pub trait Deliver: Send + Sync {
    fn deliver<'a>(&'a self, channel: &'a str, event: &'a AlertEvent) -> DeliveryFuture<'a>;

    /// The configured channel names, sorted.
    fn channel_names(&self) -> Vec<String>;
}
