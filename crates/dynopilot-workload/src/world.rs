//! The engine behind `Model`: world state, the timer queue, and the `advance_to` loop that
//! interleaves request arrivals, timers and due log lines in time order.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use dynopilot_core::{DynoSize, Timestamp};

use crate::config::{MemoryModel, WorkloadConfig};
use crate::dyno::{Dyno, US};
use crate::model::{DynoState, DynoView, FormationView};
use crate::outbox::Outbox;
use crate::rng::Rng;
use crate::sink::LogSink;
use crate::truth::{ApiAction, GroundTruth};

/// A process type as the world runs it.
pub(crate) struct Kind {
    pub name: String,
    pub command: String,
    pub quantity: u32,
    pub size: &'static DynoSize,
    pub concurrency: usize,
    pub is_web: bool,
    pub works_jobs: bool,
    /// Logs the job queue on behalf of the workers (`JobModel::reported_by`).
    pub reports_queue: bool,
    pub boot_s: f64,
    pub boot_sigma: f64,
    pub memory: MemoryModel,
    pub crashes_per_day: f64,
}

/// A request class with times in microseconds.
pub(crate) struct Class {
    pub median_us: f64,
    pub sigma: f64,
    pub exponential: bool,
    pub cpu_share: f64,
    pub error_rate: f64,
}

/// A request waiting at the router for a web dyno to come up.
#[derive(Clone, Copy)]
pub(crate) struct Held {
    pub arrival_us: i64,
    pub class: u16,
    pub seed: u64,
}

/// Timers. `slot` indexes `World::dynos`; `boot` ties a timer to one process of that dyno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Provisioned { slot: u32 },
    BootDone { slot: u32, boot: u32 },
    BootTimeout { slot: u32, boot: u32 },
    Tick { slot: u32, boot: u32 },
    Cycle { slot: u32, boot: u32 },
    Crash { slot: u32, boot: u32 },
    CrashRestart { slot: u32, boot: u32 },
    Exited { slot: u32, boot: u32, status: i32 },
    Restart { slot: u32 },
    Reconcile { kind: u32 },
    RestartAll,
    JobArrival,
    JobDone { slot: u32, boot: u32, thread: u32 },
    RouterDeadline,
}

#[derive(Debug, PartialEq, Eq)]
struct Timer {
    at_us: i64,
    seq: u64,
    event: Event,
}

impl Ord for Timer {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at_us, other.seq).cmp(&(self.at_us, self.seq))
    }
}

impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

pub(crate) struct World {
    pub cfg: WorkloadConfig,
    pub start: Timestamp,
    /// Everything before this (µs since start) has happened.
    pub now_us: i64,
    pub rng: Rng,
    pub kinds: Vec<Kind>,
    pub classes: Vec<Class>,
    pub class_cdf: Vec<f64>,
    pub dynos: Vec<Dyno>,
    /// Slots of `up` web dynos: the router's choices.
    pub up_web: Vec<u32>,
    pub held: VecDeque<Held>,
    timers: BinaryHeap<Timer>,
    timer_seq: u64,
    pub outbox: Outbox,
    pub next_arrival_us: i64,
    /// False when the next "arrival" is only a point to look again (a long zero-rate stretch).
    pub arrival_is_real: bool,
    pub requests: u64,
    pub jobs: crate::jobs::JobQueue,
    pub truth: GroundTruth,
    pub release: u32,
    billed_us: i64,
    /// UTC second of the day at `start` (diurnal traffic follows the wall clock).
    pub day_offset_s: f64,
}

impl World {
    pub(crate) fn new(cfg: WorkloadConfig, start: Timestamp) -> Self {
        let kinds = cfg.process_types.iter().map(|p| kind(&cfg, p)).collect();
        let classes = cfg
            .classes
            .iter()
            .map(|c| Class {
                median_us: c.median_ms * 1_000.0,
                sigma: c.sigma,
                exponential: c.distribution == crate::config::ServiceDistribution::Exponential,
                cpu_share: c.cpu_share,
                error_rate: c.error_rate,
            })
            .collect();
        let total: f64 = cfg.classes.iter().map(|c| c.weight).sum();
        let mut acc = 0.0;
        let class_cdf = cfg
            .classes
            .iter()
            .map(|c| {
                acc += c.weight / total;
                acc
            })
            .collect();
        let jobs = crate::jobs::JobQueue::new(&cfg);
        let mut world = Self {
            rng: Rng::new(cfg.seed),
            cfg,
            start,
            now_us: 0,
            kinds,
            classes,
            class_cdf,
            dynos: Vec::new(),
            up_web: Vec::new(),
            held: VecDeque::new(),
            timers: BinaryHeap::new(),
            timer_seq: 0,
            outbox: Outbox::default(),
            next_arrival_us: 0,
            arrival_is_real: false,
            requests: 0,
            jobs,
            truth: GroundTruth::new(start),
            release: 1,
            billed_us: 0,
            day_offset_s: (start.as_millis().rem_euclid(86_400_000)) as f64 / 1_000.0,
        };
        world.next_arrival_us = world.next_arrival_after(0);
        world
            .jobs
            .schedule_first(&mut world.rng, world.day_offset_s);
        if let Some(at) = world.jobs.take_first() {
            world.schedule(at, Event::JobArrival);
        }
        for k in 0..world.kinds.len() {
            world.reconcile(k, 0);
        }
        world
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.stamp(self.now_us)
    }

    /// Model µs → wall timestamp.
    pub(crate) fn stamp(&self, us: i64) -> Timestamp {
        Timestamp::from_millis(self.start.as_millis() + us.div_euclid(1_000))
    }

    /// Wall timestamp → model µs, never before model time (the past cannot change).
    pub(crate) fn clamp_us(&self, t: Timestamp) -> i64 {
        ((t.as_millis() - self.start.as_millis()) * 1_000).max(self.now_us)
    }

    pub(crate) fn schedule(&mut self, at_us: i64, event: Event) {
        self.timer_seq += 1;
        self.timers.push(Timer {
            at_us,
            seq: self.timer_seq,
            event,
        });
    }

    pub(crate) fn config(&self) -> &WorkloadConfig {
        &self.cfg
    }

    pub(crate) fn truth(&self) -> &GroundTruth {
        &self.truth
    }

    pub(crate) fn record_api_action(&mut self, action: ApiAction) {
        self.truth.api_actions.push(action);
    }

    pub(crate) fn advance_to(&mut self, t: Timestamp, sink: &mut dyn LogSink) {
        let target = (t.as_millis() - self.start.as_millis()) * 1_000;
        loop {
            let next_timer = self.timers.peek().map_or(i64::MAX, |t| t.at_us);
            let next = next_timer.min(self.next_arrival_us);
            if next > target {
                break;
            }
            self.flush(next, sink);
            self.now_us = next;
            if self.next_arrival_us < next_timer {
                self.on_arrival();
            } else if let Some(timer) = self.timers.pop() {
                self.on_event(timer.event);
            }
        }
        self.flush(target, sink);
        self.now_us = self.now_us.max(target);
        self.bill_to(self.now_us);
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Provisioned { slot } => {
                let d = &self.dynos[slot as usize];
                // A dyno restarted or scaled away while being placed has moved on already.
                if d.boot == 0 && !d.removed && !d.retiring {
                    self.begin_boot(slot);
                }
            }
            Event::BootDone { slot, boot } => self.boot_done(slot, boot),
            Event::BootTimeout { slot, boot } => self.boot_timeout(slot, boot),
            Event::Tick { slot, boot } => self.tick(slot, boot),
            Event::Cycle { slot, boot } => self.cycle(slot, boot),
            Event::Crash { slot, boot } => self.app_crash(slot, boot),
            Event::CrashRestart { slot, boot } => self.crash_restart(slot, boot),
            Event::Exited { slot, boot, status } => self.exited(slot, boot, status),
            Event::Restart { slot } => self.terminate(slot, crate::lifecycle::Stop::Restart),
            Event::Reconcile { kind } => self.reconcile(kind as usize, self.now_us),
            Event::RestartAll => self.restart_everything(),
            Event::JobArrival => self.job_arrival(),
            Event::JobDone { slot, boot, thread } => self.job_done(slot, boot, thread),
            Event::RouterDeadline => self.router_deadline(),
        }
    }

    /// Adds dyno-seconds for every dyno in the formation up to `us`.
    pub(crate) fn bill_to(&mut self, us: i64) {
        if us <= self.billed_us {
            return;
        }
        let seconds = (us - self.billed_us) as f64 / US as f64;
        for d in self.dynos.iter().filter(|d| !d.removed) {
            self.truth.bill(d.size, seconds);
        }
        self.billed_us = us;
    }

    pub(crate) fn formation(&self) -> Vec<FormationView> {
        self.kinds
            .iter()
            .map(|k| FormationView {
                process_type: k.name.clone(),
                quantity: k.quantity,
                size: k.size,
                command: k.command.clone(),
            })
            .collect()
    }

    pub(crate) fn dynos(&self) -> Vec<DynoView> {
        let mut live: Vec<&Dyno> = self.dynos.iter().filter(|d| !d.removed).collect();
        live.sort_by_key(|d| (d.kind, d.number));
        live.into_iter()
            .map(|d| DynoView {
                name: d.name.clone(),
                process_type: self.kinds[d.kind].name.clone(),
                size: d.size,
                state: d.state,
                instance_id: d.instance_id.clone(),
                state_since: self.stamp(d.state_since_us),
                created_at: self.stamp(d.created_us),
                command: self.kinds[d.kind].command.clone(),
                release: d.release,
            })
            .collect()
    }

    /// Moves a dyno to `state`, writing `State changed from … to …`.
    pub(crate) fn set_state(&mut self, slot: u32, state: DynoState) {
        let d = &mut self.dynos[slot as usize];
        if d.state == state {
            return;
        }
        let line = dynopilot_logplex::encode::dyno_event(
            &dynopilot_logplex::message::DynoEvent::StateChanged {
                from: d.state.as_str(),
                to: state.as_str(),
            },
        );
        d.state = state;
        d.state_since_us = self.now_us;
        self.say_dyno(slot, line);
    }

    /// Queues a `heroku[<dyno>]` line at model time.
    pub(crate) fn say_dyno(&mut self, slot: u32, message: String) {
        let process = self.dynos[slot as usize].name.clone();
        self.say(self.now_us, "heroku", process, message);
    }

    pub(crate) fn say(
        &mut self,
        at_us: i64,
        source: &'static str,
        process: String,
        message: String,
    ) {
        self.outbox.push(
            at_us,
            crate::outbox::Line::Text {
                source,
                process,
                message,
            },
        );
    }

    pub(crate) fn kind_index(&self, name: &str) -> Option<usize> {
        self.kinds.iter().position(|k| k.name == name)
    }

    pub(crate) fn live_slots(&self, kind: usize) -> Vec<u32> {
        (0..self.dynos.len() as u32)
            .filter(|&s| {
                let d = &self.dynos[s as usize];
                d.kind == kind && !d.removed && !d.retiring
            })
            .collect()
    }
}

fn kind(cfg: &WorkloadConfig, p: &crate::config::ProcessModel) -> Kind {
    let works_jobs = cfg.jobs.as_ref().is_some_and(|j| j.process_type == p.name);
    let reports_queue = cfg
        .jobs
        .as_ref()
        .is_some_and(|j| j.reported_by.as_deref() == Some(p.name.as_str()));
    Kind {
        name: p.name.clone(),
        command: p.command.clone(),
        quantity: p.quantity,
        // Validation guarantees the name resolves; Standard-1X is a harmless fallback.
        size: DynoSize::lookup(&p.size)
            .or_else(|_| DynoSize::lookup("Standard-1X"))
            .unwrap_or(&dynopilot_core::SIZES[0]),
        concurrency: (p.processes * p.threads) as usize,
        is_web: p.name == "web",
        works_jobs,
        reports_queue,
        boot_s: p.boot_s,
        boot_sigma: p.boot_sigma,
        memory: p.memory.clone(),
        crashes_per_day: p.crashes_per_day,
    }
}
