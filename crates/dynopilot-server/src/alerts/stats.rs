//! Delivery counters by channel and outcome, for `/metrics`
//! (`dynopilot_alert_deliveries_total{channel,outcome}`).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What became of one delivery attempt or event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeliveryOutcome {
    Sent,
    /// A transient failure that will be retried.
    Retried,
    Failed,
    DroppedByCooling,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Sent => "sent",
            DeliveryOutcome::Retried => "retried",
            DeliveryOutcome::Failed => "failed",
            DeliveryOutcome::DroppedByCooling => "dropped_by_cooling",
        }
    }
}

#[derive(Debug, Default)]
pub struct AlertStats {
    deliveries: Mutex<BTreeMap<(String, DeliveryOutcome), u64>>,
    handoffs_dropped: AtomicU64,
}

impl AlertStats {
    pub fn count(&self, channel: &str, outcome: DeliveryOutcome) {
        if let Ok(mut map) = self.deliveries.lock() {
            *map.entry((channel.to_owned(), outcome)).or_default() += 1;
        }
    }

    pub fn count_handoff_dropped(&self) {
        self.handoffs_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// (channel, outcome, count), sorted.
    pub fn deliveries(&self) -> Vec<(String, &'static str, u64)> {
        self.deliveries
            .lock()
            .map(|map| {
                map.iter()
                    .map(|((channel, outcome), n)| (channel.clone(), outcome.as_str(), *n))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn handoffs_dropped(&self) -> u64 {
        self.handoffs_dropped.load(Ordering::Relaxed)
    }
}
