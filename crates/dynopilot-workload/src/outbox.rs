//! Lines that are decided but not yet due: router lines are known when a request arrives but
//! written when it completes, so everything waits here, ordered by (time, sequence), until
//! `advance_to` reaches it.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// What the router says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Answered by the app with this status.
    Served(u16),
    /// H12: no response within the router timeout.
    Timeout,
    /// H13: the dyno's process died with the request in flight.
    Closed,
    /// H10: no `up` web dyno and some crashed.
    Crashed,
    /// H14: no web dynos in the formation.
    NoWeb,
    /// H20: waited at the router for a dyno to boot too long.
    BootTimeout,
}

impl Outcome {
    pub(crate) fn code(self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::Served(_) => None,
            Self::Timeout => Some(("H12", "Request timeout")),
            Self::Closed => Some(("H13", "Connection closed without response")),
            Self::Crashed => Some(("H10", "App crashed")),
            Self::NoWeb => Some(("H14", "No web processes running")),
            Self::BootTimeout => Some(("H20", "App boot timeout")),
        }
    }

    pub(crate) fn status(self) -> u16 {
        match self {
            Self::Served(s) => s,
            _ => 503,
        }
    }
}

/// A request's router line, compact (no allocation until a sink wants the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RouterRec {
    /// Dyno slot, `None` when no dyno took the request.
    pub slot: Option<u32>,
    /// Which process of that dyno (H13 rewrites only touch the one that died).
    pub boot: u32,
    pub class: u16,
    pub outcome: Outcome,
    pub arrival_us: i64,
    /// Time a thread picked the request up minus arrival.
    pub queue_us: i64,
    pub connect_ms: u8,
    /// Seeds the request id and client address.
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    Router(RouterRec),
    Text {
        source: &'static str,
        process: String,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    pub at_us: i64,
    pub seq: u64,
    pub line: Line,
}

impl Ord for Pending {
    // Reversed so the max-heap pops the earliest line first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at_us, other.seq).cmp(&(self.at_us, self.seq))
    }
}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Default)]
pub(crate) struct Outbox {
    heap: BinaryHeap<Pending>,
    seq: u64,
}

impl Outbox {
    pub(crate) fn push(&mut self, at_us: i64, line: Line) {
        self.seq += 1;
        self.heap.push(Pending {
            at_us,
            seq: self.seq,
            line,
        });
    }

    /// Takes the earliest line if it is due by `upto_us`.
    pub(crate) fn pop_due(&mut self, upto_us: i64) -> Option<Pending> {
        if self.heap.peek()?.at_us <= upto_us {
            self.heap.pop()
        } else {
            None
        }
    }

    /// Removes router lines of `slot`/`boot` due after `after_us` (requests in flight on a
    /// process that just died) and returns them.
    pub(crate) fn take_in_flight(&mut self, slot: u32, boot: u32, after_us: i64) -> Vec<RouterRec> {
        let mut taken = Vec::new();
        let kept: Vec<Pending> = std::mem::take(&mut self.heap)
            .into_vec()
            .into_iter()
            .filter(|p| match &p.line {
                Line::Router(r) if r.slot == Some(slot) && r.boot == boot && p.at_us > after_us => {
                    taken.push(*r);
                    false
                }
                _ => true,
            })
            .collect();
        self.heap = BinaryHeap::from(kept);
        // Heap order is arbitrary; re-sort so rewritten lines keep arrival order.
        taken.sort_by_key(|r| (r.arrival_us, r.seed));
        taken
    }
}
