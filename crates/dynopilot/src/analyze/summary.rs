//! The health summary: per-dyno memory and load, errors by code, per-process-type traffic and
//! latency percentiles, and a timeline of restarts, crashes, releases and scale changes. Memory
//! stays bounded: latencies go into sketches and the timeline is capped.

use std::collections::BTreeMap;

use dynopilot_core::names::split_dyno_name;
use dynopilot_core::{LatencySketch, Timestamp};
use dynopilot_logplex::message::{ApiEvent, DynoEvent, LoadSample, MemorySample, RouterLine};
use dynopilot_logplex::{Message, timestamp};

/// Timeline entries kept; later ones are counted, not stored.
pub const TIMELINE_CAP: usize = 10_000;

#[derive(Debug, Default)]
pub struct Summary {
    pub dynos: BTreeMap<String, DynoStats>,
    pub errors: BTreeMap<String, ErrorStats>,
    pub process_types: BTreeMap<String, TrafficStats>,
    pub timeline: Vec<TimelineEntry>,
    pub timeline_dropped: u64,
    pub kinds: BTreeMap<&'static str, u64>,
    pub not_utf8: u64,
}

#[derive(Debug, Default)]
pub struct DynoStats {
    pub memory_samples: u64,
    pub peak_memory_mb: f64,
    pub last_memory_mb: Option<f64>,
    pub quota_mb: Option<f64>,
    /// Highest percent of quota seen (runtime metrics or `Process running`).
    pub peak_quota_pct: f64,
    pub peak_swap_mb: f64,
    pub peak_load: f64,
    pub last_load: Option<f64>,
    /// Distinct `dyno=` instance ids seen in a row: each change is a new boot.
    pub instances: u64,
    pub last_instance: Option<String>,
}

#[derive(Debug, Default)]
pub struct ErrorStats {
    pub count: u64,
    pub desc: Option<String>,
}

#[derive(Debug, Default)]
pub struct TrafficStats {
    pub requests: u64,
    /// Index 1..=5 for 1xx..5xx; 0 for lines without a status.
    pub status_classes: [u64; 6],
    pub service_ms: LatencySketch,
    pub connect_ms: LatencySketch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at: Option<Timestamp>,
    pub timestamp: String,
    pub process: String,
    pub what: String,
}

impl Summary {
    pub fn observe(&mut self, timestamp: &str, process: &str, message: &Message<'_>) {
        *self.kinds.entry(message.kind()).or_default() += 1;
        match message {
            Message::Router(r) => self.observe_router(r),
            Message::Memory(m) => self.observe_memory(process, m),
            Message::Load(l) => self.observe_load(process, l),
            Message::Error(e) => {
                self.count_error(e.code, e.desc);
                if matches!(e.code, "R10" | "R15") {
                    let what = format!("{} {}", e.code, e.desc.unwrap_or(""));
                    self.push_timeline(timestamp, process, what.trim_end().to_owned());
                }
            }
            Message::State(event) => {
                if let Some(what) = state_timeline(event) {
                    self.push_timeline(timestamp, process, what);
                }
            }
            Message::Release(event) => {
                self.push_timeline(timestamp, process, release_timeline(event))
            }
            Message::Scale(scale) => {
                let entries: Vec<String> = scale
                    .entries()
                    .map(|e| format!("{}={}×{}", e.process_type, e.quantity, e.size))
                    .collect();
                let by = scale.user.map(|u| format!(" by {u}")).unwrap_or_default();
                self.push_timeline(
                    timestamp,
                    process,
                    format!("scaled to {}{by}", entries.join(" ")),
                );
            }
            Message::L2met(_) | Message::App(_) | Message::Other(_) => {}
        }
    }

    fn observe_router(&mut self, r: &RouterLine<'_>) {
        if let Some(code) = r.code {
            self.count_error(code, r.desc);
        }
        let process_type = r
            .dyno
            .and_then(split_dyno_name)
            .map_or("(no dyno)", |(t, _)| t);
        let stats = entry(&mut self.process_types, process_type);
        stats.requests += 1;
        let class = r
            .status_class()
            .filter(|c| (1..=5).contains(c))
            .unwrap_or(0);
        stats.status_classes[usize::from(class)] += 1;
        if let Some(ms) = r.service_ms {
            stats.service_ms.add(ms);
        }
        if let Some(ms) = r.connect_ms {
            stats.connect_ms.add(ms);
        }
    }

    fn observe_memory(&mut self, process: &str, m: &MemorySample<'_>) {
        let dyno = entry(&mut self.dynos, m.source.unwrap_or(process));
        track_instance(dyno, m.dyno_id);
        if let Some(total) = m.total_mb {
            dyno.memory_samples += 1;
            dyno.peak_memory_mb = dyno.peak_memory_mb.max(total);
            dyno.last_memory_mb = Some(total);
        }
        if let Some(quota) = m.quota_mb {
            dyno.quota_mb = Some(quota);
        }
        if let Some(pct) = m.quota_pct {
            dyno.peak_quota_pct = dyno.peak_quota_pct.max(pct);
        }
        if let Some(swap) = m.swap_mb {
            dyno.peak_swap_mb = dyno.peak_swap_mb.max(swap);
        }
    }

    fn observe_load(&mut self, process: &str, l: &LoadSample<'_>) {
        let dyno = entry(&mut self.dynos, l.source.unwrap_or(process));
        track_instance(dyno, l.dyno_id);
        if let Some(load) = l.avg_1m {
            dyno.peak_load = dyno.peak_load.max(load);
            dyno.last_load = Some(load);
        }
    }

    fn count_error(&mut self, code: &str, desc: Option<&str>) {
        let stats = entry(&mut self.errors, code);
        stats.count += 1;
        if stats.desc.is_none() {
            stats.desc = desc.map(str::to_owned);
        }
    }

    fn push_timeline(&mut self, timestamp: &str, process: &str, what: String) {
        if self.timeline.len() >= TIMELINE_CAP {
            self.timeline_dropped += 1;
            return;
        }
        self.timeline.push(TimelineEntry {
            at: timestamp::parse(timestamp),
            timestamp: timestamp.to_owned(),
            process: process.to_owned(),
            what,
        });
    }

    /// Orders the timeline by time (entries without a readable time keep their place at the end).
    pub fn finish(&mut self) {
        self.timeline
            .sort_by_key(|e| e.at.map_or(i64::MAX, Timestamp::as_millis));
    }
}

/// Looks up by `&str` first so that only new keys allocate.
fn entry<'m, V: Default>(map: &'m mut BTreeMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key)
        .unwrap_or_else(|| unreachable!("inserted above"))
}

fn track_instance(dyno: &mut DynoStats, id: Option<&str>) {
    let Some(id) = id else { return };
    if dyno.last_instance.as_deref() != Some(id) {
        dyno.instances += 1;
        dyno.last_instance = Some(id.to_owned());
    }
}

fn state_timeline(event: &DynoEvent<'_>) -> Option<String> {
    Some(match *event {
        DynoEvent::StateChanged {
            to: "crashed",
            from,
        } => format!("crashed (was {from})"),
        // 143 is the normal answer to SIGTERM on a restart; anything else non-zero is news.
        DynoEvent::Exited { status: Some(n) } if n != 0 && n != 143 => {
            format!("exited with status {n}")
        }
        DynoEvent::Restarting => "restarting".to_owned(),
        DynoEvent::Cycling => "daily cycling".to_owned(),
        DynoEvent::Relocating => "relocating to a new server".to_owned(),
        _ => return None,
    })
}

fn release_timeline(event: &ApiEvent<'_>) -> String {
    let by = event.user().map(|u| format!(" by {u}")).unwrap_or_default();
    match *event {
        ApiEvent::Release { version, .. } => format!("release v{version}{by}"),
        ApiEvent::Deploy { commit, .. } => format!("deploy {commit}{by}"),
        ApiEvent::Rollback { version, .. } => format!("rollback to v{version}{by}"),
        ApiEvent::ConfigVars { set, names, .. } => {
            format!(
                "{} config vars {names}{by}",
                if set { "set" } else { "removed" }
            )
        }
    }
}
