//! Ingest counters, exported on `/metrics`: lines applied, batches, log-session breaks, agent
//! reports by protocol and outcome, and every drop by reason.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct IngestMetrics {
    lines: AtomicU64,
    batches: AtomicU64,
    bytes: AtomicU64,
    /// Log-session streams that broke and were started again (`ingest::tail`).
    tail_breaks: AtomicU64,
    /// (protocol, outcome) → agent reports (`crate::agents`).
    agent_reports: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// Agent metrics skipped for being stamped too far from now.
    agent_stale: AtomicU64,
    /// Reason → count. Reasons are a small closed set (see the call sites).
    dropped: Mutex<BTreeMap<&'static str, u64>>,
}

impl IngestMetrics {
    pub fn add_lines(&self, n: u64) {
        self.lines.fetch_add(n, Ordering::Relaxed);
    }

    pub fn add_batch(&self, bytes: u64) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn count_dropped(&self, reason: &'static str, n: u64) {
        if let Ok(mut dropped) = self.dropped.lock() {
            *dropped.entry(reason).or_default() += n;
        }
    }

    pub fn count_tail_break(&self) {
        self.tail_breaks.fetch_add(1, Ordering::Relaxed);
    }

    pub fn tail_breaks(&self) -> u64 {
        self.tail_breaks.load(Ordering::Relaxed)
    }

    pub fn count_agent(&self, protocol: &'static str, outcome: &'static str) {
        if let Ok(mut reports) = self.agent_reports.lock() {
            *reports.entry((protocol, outcome)).or_default() += 1;
        }
    }

    pub fn count_agent_stale(&self, n: u64) {
        self.agent_stale.fetch_add(n, Ordering::Relaxed);
    }

    pub fn agent_reports(&self) -> BTreeMap<(&'static str, &'static str), u64> {
        self.agent_reports
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    pub fn agent_stale(&self) -> u64 {
        self.agent_stale.load(Ordering::Relaxed)
    }

    pub fn lines(&self) -> u64 {
        self.lines.load(Ordering::Relaxed)
    }

    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    pub fn dropped(&self) -> BTreeMap<&'static str, u64> {
        self.dropped.lock().map(|d| d.clone()).unwrap_or_default()
    }
}
