//! The health summary: counts per kind, per-dyno memory and load, errors by code,
//! per-process-type traffic and latency percentiles, a timeline of restarts, crashes, releases
//! and scale changes, and the shapes of lines that were not understood. Memory stays bounded:
//! latencies go into sketches, the timeline and the shapes are capped. Summaries of consecutive
//! parts of the input join into the summary of the whole.

use std::collections::BTreeMap;

use dynopilot_core::names::split_dyno_name;
use dynopilot_core::{LatencySketch, Timestamp};
use dynopilot_logplex::message::{ApiEvent, DynoEvent, LoadSample, MemorySample, RouterLine};
use dynopilot_logplex::{Message, timestamp};

/// Timeline entries kept; later ones are counted, not stored.
pub const TIMELINE_CAP: usize = 10_000;

/// Every kind name, in the order the counts are kept and shown.
pub const KINDS: [&str; 10] = [
    "router", "memory", "load", "error", "state", "release", "scale", "l2met", "app", "unknown",
];

#[derive(Debug, Default)]
pub struct Summary {
    pub dynos: BTreeMap<String, DynoStats>,
    pub errors: BTreeMap<String, ErrorStats>,
    /// A handful of process types: a list searched in order beats a map here.
    pub process_types: Vec<(String, TrafficStats)>,
    pub timeline: Vec<TimelineEntry>,
    pub timeline_dropped: u64,
    /// Counts per kind, indexed like [`KINDS`].
    pub kinds: [u64; KINDS.len()],
    pub not_utf8: u64,
    pub unknown: super::shapes::Shapes,
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
    pub first_instance: Option<String>,
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

/// The index of a message's kind in [`KINDS`].
fn kind_index(message: &Message<'_>) -> usize {
    match message {
        Message::Router(_) => 0,
        Message::Memory(_) => 1,
        Message::Load(_) => 2,
        Message::Error(_) => 3,
        Message::State(_) => 4,
        Message::Release(_) => 5,
        Message::Scale(_) => 6,
        Message::L2met(_) => 7,
        Message::App(_) => 8,
        Message::Other(_) => 9,
    }
}

impl Summary {
    /// Counts a line no layout could read (kind `unknown`) under its shape.
    pub fn observe_unknown_line(&mut self, raw: &[u8]) {
        self.kinds[9] += 1;
        self.unknown.add_line(raw);
    }

    pub fn observe(&mut self, timestamp: &str, process: &str, message: &Message<'_>) {
        self.kinds[kind_index(message)] += 1;
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
            Message::Other(text) => self.unknown.add_message(process, text),
            Message::L2met(_) | Message::App(_) => {}
        }
    }

    /// Adds the summary of the input that came right after this one's.
    pub fn join(&mut self, later: Summary) {
        for (name, dyno) in later.dynos {
            match self.dynos.get_mut(&name) {
                Some(mine) => mine.join(dyno),
                None => {
                    self.dynos.insert(name, dyno);
                }
            }
        }
        for (code, e) in later.errors {
            let mine = self.errors.entry(code).or_default();
            mine.count += e.count;
            if mine.desc.is_none() {
                mine.desc = e.desc;
            }
        }
        for (name, t) in later.process_types {
            let mine = slot(&mut self.process_types, &name);
            mine.requests += t.requests;
            for (a, b) in mine.status_classes.iter_mut().zip(t.status_classes) {
                *a += b;
            }
            mine.service_ms.merge(&t.service_ms);
            mine.connect_ms.merge(&t.connect_ms);
        }
        let room = TIMELINE_CAP.saturating_sub(self.timeline.len());
        let kept = later.timeline.len().min(room);
        self.timeline_dropped += (later.timeline.len() - kept) as u64 + later.timeline_dropped;
        self.timeline.extend(later.timeline.into_iter().take(kept));
        for (a, b) in self.kinds.iter_mut().zip(later.kinds) {
            *a += b;
        }
        self.not_utf8 += later.not_utf8;
        self.unknown.join(later.unknown);
    }

    fn observe_router(&mut self, r: &RouterLine<'_>) {
        if let Some(code) = r.code {
            self.count_error(code, r.desc);
        }
        let process_type = r
            .dyno
            .and_then(split_dyno_name)
            .map_or("(no dyno)", |(t, _)| t);
        let stats = slot(&mut self.process_types, process_type);
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

    /// Orders the timeline by time (entries without a readable time keep their place at the end)
    /// and the process types by name.
    pub fn finish(&mut self) {
        self.process_types.sort_by(|a, b| a.0.cmp(&b.0));
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

/// The value for `key` in a short list, added at the end when new.
fn slot<'m, V: Default>(list: &'m mut Vec<(String, V)>, key: &str) -> &'m mut V {
    let index = match list.iter().position(|(k, _)| k == key) {
        Some(i) => i,
        None => {
            list.push((key.to_owned(), V::default()));
            list.len() - 1
        }
    };
    &mut list[index].1
}

fn track_instance(dyno: &mut DynoStats, id: Option<&str>) {
    let Some(id) = id else { return };
    if dyno.last_instance.as_deref() != Some(id) {
        dyno.instances += 1;
        dyno.last_instance = Some(id.to_owned());
        if dyno.first_instance.is_none() {
            dyno.first_instance = Some(id.to_owned());
        }
    }
}

impl DynoStats {
    /// Adds the stats of the input that came right after this one's.
    fn join(&mut self, later: DynoStats) {
        self.memory_samples += later.memory_samples;
        self.peak_memory_mb = self.peak_memory_mb.max(later.peak_memory_mb);
        self.last_memory_mb = later.last_memory_mb.or(self.last_memory_mb);
        self.quota_mb = later.quota_mb.or(self.quota_mb);
        self.peak_quota_pct = self.peak_quota_pct.max(later.peak_quota_pct);
        self.peak_swap_mb = self.peak_swap_mb.max(later.peak_swap_mb);
        self.peak_load = self.peak_load.max(later.peak_load);
        self.last_load = later.last_load.or(self.last_load);
        // The later part's first boot is no new boot if it is the one this part ended with.
        let same_boot =
            later.first_instance.is_some() && later.first_instance == self.last_instance;
        self.instances += later.instances - u64::from(same_boot);
        if self.first_instance.is_none() {
            self.first_instance = later.first_instance;
        }
        if later.last_instance.is_some() {
            self.last_instance = later.last_instance;
        }
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
        DynoEvent::ClientClosed => "one-off client disconnected (SIGHUP)".to_owned(),
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
        ApiEvent::ScaleTo { quantities, .. } => format!("scaled to {quantities}{by}"),
        ApiEvent::Audit { action, .. } => format!("{action}{by}"),
    }
}
