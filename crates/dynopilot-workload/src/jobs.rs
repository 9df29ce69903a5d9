//! The background job queue: Poisson job arrivals into one shared FIFO (as with Sidekiq on
//! Redis), worked by the threads of `up` worker dynos; depth and latency go to the truth.

use std::collections::VecDeque;

use crate::config::{JobModel, WorkloadConfig};
use crate::dyno::{Job, US};
use crate::model::DynoState;
use crate::rng::Rng;
use crate::router::next_poisson;
use crate::world::{Event, World};

pub(crate) struct JobQueue {
    model: Option<JobModel>,
    backlog: VecDeque<Job>,
    /// First arrival, scheduled once the world exists.
    first_us: Option<i64>,
    next_real: bool,
}

impl JobQueue {
    pub(crate) fn new(cfg: &WorkloadConfig) -> Self {
        Self {
            model: cfg.jobs.clone(),
            backlog: VecDeque::new(),
            first_us: None,
            next_real: false,
        }
    }

    pub(crate) fn schedule_first(&mut self, rng: &mut Rng, day: f64) {
        if let Some(m) = &self.model {
            let (at, real) = next_poisson(&m.traffic, rng, 0, day);
            self.first_us = Some(at);
            self.next_real = real;
        }
    }

    pub(crate) fn take_first(&mut self) -> Option<i64> {
        self.first_us.take()
    }

    pub(crate) fn depth(&self) -> usize {
        self.backlog.len()
    }

    /// How long the oldest waiting job has waited.
    pub(crate) fn oldest_wait_ms(&self, now_us: i64) -> f64 {
        self.backlog
            .front()
            .map_or(0.0, |j| (now_us - j.arrival_us) as f64 / 1_000.0)
    }

    /// Jobs taken from a stopping dyno go back to the front, oldest first.
    pub(crate) fn requeue(&mut self, mut jobs: Vec<Job>) {
        jobs.sort_by_key(|j| std::cmp::Reverse(j.arrival_us));
        for job in jobs {
            self.backlog.push_front(job);
        }
    }
}

impl World {
    pub(crate) fn job_arrival(&mut self) {
        let now = self.now_us;
        let Some(model) = self.jobs.model.clone() else {
            return;
        };
        if self.jobs.next_real {
            let service_s = self.rng.lognormal(model.median_ms / 1_000.0, model.sigma);
            self.jobs.backlog.push_back(Job {
                arrival_us: now,
                service_us: ((service_s * US as f64) as i64).max(1),
            });
            self.dispatch_jobs();
        }
        let (at, real) = next_poisson(&model.traffic, &mut self.rng, now, self.day_offset_s);
        self.jobs.next_real = real;
        self.schedule(at, Event::JobArrival);
    }

    /// Idle threads of `up` worker dynos take jobs, lowest dyno number first.
    pub(crate) fn dispatch_jobs(&mut self) {
        let now = self.now_us;
        let max_speedup = self.cfg.platform.max_cpu_speedup;
        for slot in 0..self.dynos.len() as u32 {
            if self.jobs.backlog.is_empty() {
                return;
            }
            let d = &mut self.dynos[slot as usize];
            if d.removed || d.state != DynoState::Up || !self.kinds[d.kind].works_jobs {
                continue;
            }
            // Jobs are mostly CPU: a faster size shortens half of the run time.
            let scale = 0.5 / f64::from(d.size.compute).clamp(1.0, max_speedup) + 0.5;
            let boot = d.boot;
            let mut started = Vec::new();
            for (thread, cell) in d.jobs.iter_mut().enumerate() {
                if cell.is_none() {
                    let Some(job) = self.jobs.backlog.pop_front() else {
                        break;
                    };
                    let run_us = ((job.service_us as f64 * scale) as i64).max(1);
                    *cell = Some(Job {
                        service_us: run_us,
                        ..job
                    });
                    started.push((thread as u32, now + run_us));
                }
            }
            for (thread, at) in started {
                self.schedule(at, Event::JobDone { slot, boot, thread });
            }
        }
    }

    pub(crate) fn job_done(&mut self, slot: u32, boot: u32, thread: u32) {
        let now = self.now_us;
        let d = &mut self.dynos[slot as usize];
        if d.removed || d.boot != boot {
            return;
        }
        let Some(job) = d.jobs.get_mut(thread as usize).and_then(Option::take) else {
            return;
        };
        d.memory.on_request(&self.kinds[d.kind].memory);
        let at = self.stamp(now);
        let m = self.truth.minute(at);
        m.jobs_done += 1;
        m.job_latency.add((now - job.arrival_us) as f64 / 1_000.0);
        self.dispatch_jobs();
    }
}
