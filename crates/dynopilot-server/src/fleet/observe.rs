//! Folds one parsed log message into an app's state: memory and load per dyno run, errors,
//! lifecycle changes, releases, formation changes, router windows and queue metrics.

use dynopilot_core::Timestamp;
use dynopilot_core::names::{ProcessType, split_dyno_name};
use dynopilot_core::policy::{
    Availability, DynoLifecycle, DynoState, ErrorOccurrence, Formation, LoadSample, MemorySample,
    QueueSample, Release,
};
use dynopilot_logplex::Message;
use dynopilot_logplex::message::{self as msg, ApiEvent, DynoEvent, MetricsLine};

use super::AppState;
use super::window::RequestSample;

/// Whether an observation should make the runner evaluate now instead of at the next tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Urgency {
    Routine,
    /// R14/R15, a crash, or memory over quota: a restart may be due.
    Urgent,
}

const QUEUE_SAMPLES_KEPT: usize = 360;

impl AppState {
    pub fn observe(&mut self, at: Timestamp, process: &str, message: &Message<'_>) -> Urgency {
        match message {
            Message::Memory(m) => self.memory(at, process, m),
            Message::Load(l) => {
                self.load(at, process, l);
                Urgency::Routine
            }
            Message::Error(e) => self.error(at, process, e.code),
            Message::State(event) => self.state(at, process, event),
            Message::Router(r) => {
                self.router(at, r);
                Urgency::Routine
            }
            Message::Release(
                ApiEvent::Release { version, .. } | ApiEvent::Rollback { version, .. },
            ) => {
                self.observed.releases.push(Release {
                    at,
                    version: u64::from(*version),
                });
                Urgency::Routine
            }
            Message::Scale(scale) => {
                for entry in scale.entries() {
                    let state = self
                        .observed
                        .process_types
                        .entry(entry.process_type.to_owned())
                        .or_default();
                    state.formation = Some(Formation {
                        quantity: entry.quantity,
                        size: entry.size.to_owned(),
                        updated_at: at,
                    });
                }
                Urgency::Routine
            }
            Message::L2met(line) => {
                self.metrics(at, process, line);
                self.restart_request(at, process, line.raw())
            }
            Message::App(text) => self.restart_request(at, process, text),
            Message::Release(_) | Message::Other(_) => Urgency::Routine,
        }
    }

    /// `dynopilot#restart_request=1` in the app's own output: one restart-counter event for
    /// the dyno that logged it.
    fn restart_request(&mut self, at: Timestamp, process: &str, text: &str) -> Urgency {
        if !super::restart_request::requested_in(text) {
            return Urgency::Routine;
        }
        match self.dyno(process, at) {
            Some(dyno) => {
                super::restart_request::record(dyno, at);
                Urgency::Urgent
            }
            None => Urgency::Routine,
        }
    }

    /// The state of dyno `name`, created as `up` when first heard of.
    /// A dyno the API does not list is not created from log lines (a replayed batch could
    /// name dynos long gone); the line is counted as not actionable instead.
    fn dyno(&mut self, name: &str, at: Timestamp) -> Option<&mut DynoState> {
        let (process_type, _) = split_dyno_name(name)?;
        if !self.knows_dyno(name) {
            self.lines.unknown_dyno_in_line = true;
            return None;
        }
        let state = self
            .observed
            .process_types
            .entry(process_type.to_owned())
            .or_default();
        Some(
            state
                .dynos
                .entry(name.to_owned())
                .or_insert_with(|| DynoState::new(None, DynoLifecycle::Up, at)),
        )
    }

    /// Adopts a new `dyno=` run id unless it is one that was already replaced.
    fn adopt_instance(&mut self, name: &str, id: Option<&str>, at: Timestamp) {
        let Some(id) = id else { return };
        let retired = self
            .retired
            .get(name)
            .is_some_and(|r| r.iter().any(|x| x == id));
        let Some(dyno) = self.dyno(name, at) else {
            return;
        };
        if retired || dyno.instance_id.as_deref() == Some(id) {
            return;
        }
        let previous = dyno.instance_id.replace(id.to_owned());
        if let Some(previous) = previous {
            let list = self.retired.entry(name.to_owned()).or_default();
            list.push(previous);
            let excess = list.len().saturating_sub(8);
            list.drain(..excess);
        }
    }

    fn memory(&mut self, at: Timestamp, process: &str, m: &msg::MemorySample<'_>) -> Urgency {
        let name = m.source.unwrap_or(process);
        let Some(total) = m.total_mb else {
            return Urgency::Routine;
        };
        if m.dyno_id.is_none() {
            // `Process running mem=…` lines repeat what runtime metrics said; R14 follows them.
            return Urgency::Routine;
        }
        // A runtime-metrics sample proves the feature is on, whatever the last check said.
        self.observed.log_source.runtime_metrics = Availability::Known(true);
        self.adopt_instance(name, m.dyno_id, at);
        let sample = MemorySample {
            at,
            instance_id: m.dyno_id.map(str::to_owned),
            total_mb: total,
            rss_mb: m.rss_mb.unwrap_or(total),
            swap_mb: m.swap_mb.unwrap_or(0.0),
            quota_mb: m.quota_mb,
        };
        let over_quota = m.quota_mb.is_some_and(|q| total > q);
        if let Some(dyno) = self.dyno(name, at) {
            dyno.record_memory(sample);
        }
        if over_quota {
            Urgency::Urgent
        } else {
            Urgency::Routine
        }
    }

    fn load(&mut self, at: Timestamp, process: &str, l: &msg::LoadSample<'_>) {
        let name = l.source.unwrap_or(process);
        self.adopt_instance(name, l.dyno_id, at);
        if let (Some(avg), Some(dyno)) = (l.avg_1m, self.dyno(name, at)) {
            dyno.load.push(LoadSample {
                at,
                load_avg_1m: avg,
            });
            dyno.last_metrics_at = Some(dyno.last_metrics_at.map_or(at, |t| t.max(at)));
        }
    }

    fn error(&mut self, at: Timestamp, process: &str, code: &str) -> Urgency {
        let occurrence = ErrorOccurrence {
            at,
            code: code.to_owned(),
        };
        if let Some(dyno) = self.dyno(process, at) {
            dyno.errors.push(occurrence);
        }
        if matches!(code, "R14" | "R15") {
            Urgency::Urgent
        } else {
            Urgency::Routine
        }
    }

    fn state(&mut self, at: Timestamp, process: &str, event: &DynoEvent<'_>) -> Urgency {
        let lifecycle = match *event {
            DynoEvent::StateChanged { to, .. } => match to {
                "starting" => DynoLifecycle::Starting,
                "up" => DynoLifecycle::Up,
                "crashed" => DynoLifecycle::Crashed,
                "idle" => DynoLifecycle::Idle,
                "down" | "complete" => DynoLifecycle::Down,
                _ => return Urgency::Routine,
            },
            DynoEvent::Restarting | DynoEvent::Cycling => DynoLifecycle::Starting,
            _ => return Urgency::Routine,
        };
        let Some(dyno) = self.dyno(process, at) else {
            return Urgency::Routine;
        };
        if dyno.lifecycle != lifecycle {
            dyno.lifecycle = lifecycle;
            dyno.since = at;
        }
        if lifecycle == DynoLifecycle::Crashed {
            Urgency::Urgent
        } else {
            Urgency::Routine
        }
    }

    fn router(&mut self, at: Timestamp, r: &msg::RouterLine<'_>) {
        let dyno_type = r.dyno.and_then(split_dyno_name).map(|(t, _)| t);
        if let Some(code) = r.code {
            let occurrence = ErrorOccurrence {
                at,
                code: code.to_owned(),
            };
            match r.dyno {
                Some(name) if dyno_type.is_some() => {
                    if let Some(dyno) = self.dyno(name, at) {
                        dyno.errors.push(occurrence);
                    }
                }
                // H10/H14 name no dyno: they are about the web process type as a whole.
                _ => {
                    let state = self
                        .observed
                        .process_types
                        .entry("web".to_owned())
                        .or_default();
                    state.errors.push(occurrence);
                }
            }
        }
        let sample = RequestSample {
            at,
            status: r.status,
            service_ms: r.service_ms,
            connect_ms: r.connect_ms,
        };
        self.windows
            .add(dyno_type.unwrap_or("web"), sample, &mut self.observed);
    }

    /// App-reported metrics: queue time of web requests, and worker queue depth/latency/busy.
    /// Queue metrics belong to the process type their `source=` names (`worker` or `worker.1`),
    /// so a web or clock process can report the workers' queue while no worker runs; without
    /// a usable `source=` they belong to the process type that logged them.
    fn metrics(&mut self, at: Timestamp, process: &str, line: &MetricsLine<'_>) {
        let Some((process_type, _)) = split_dyno_name(process) else {
            return;
        };
        let mut queue = QueueSample {
            at,
            depth: 0,
            latency_ms: None,
            busy: None,
        };
        let mut has_depth = false;
        for metric in line.metrics() {
            match metric.name {
                "queue_time" | "queue.time" | "router.queue_time" | "request_queue_time" => {
                    self.windows
                        .add_queue_time(process_type, at, metric.value, &mut self.observed);
                }
                "queue.depth" | "queue_depth" | "jobs.queued" => {
                    queue.depth = metric.value.max(0.0) as u64;
                    has_depth = true;
                }
                "queue.latency" | "queue_latency" | "jobs.latency" => {
                    queue.latency_ms = Some(metric.value)
                }
                "queue.busy" | "queue_busy" | "jobs.busy" => {
                    queue.busy = Some(metric.value.max(0.0) as u64)
                }
                _ => {}
            }
        }
        if has_depth {
            let owner = queue_owner(line.source).unwrap_or(process_type);
            let state = self
                .observed
                .process_types
                .entry(owner.to_owned())
                .or_default();
            state.queue.push(queue);
            let excess = state.queue.len().saturating_sub(QUEUE_SAMPLES_KEPT);
            state.queue.drain(..excess);
        }
    }
}

/// The process type a queue metric's `source=` names, if it names one.
fn queue_owner(source: Option<&str>) -> Option<&str> {
    let source = source?;
    split_dyno_name(source)
        .map(|(ty, _)| ty)
        .or_else(|| ProcessType::parse(source).is_ok().then_some(source))
}
