//! The router: Poisson request arrivals, random choice among `up` web dynos, each dyno a FIFO
//! queue in front of `processes × threads` workers, H12/H10/H14/H20 outcomes, and writing the
//! router line (and its ground truth) when it falls due.

use dynopilot_logplex::encode;
use dynopilot_logplex::message::RouterLine;

use crate::dyno::US;
use crate::model::DynoState;
use crate::outbox::{Line, Outcome, Pending, RouterRec};
use crate::rng::{self, Rng};
use crate::sink::{LogEntry, LogSink};
use crate::traffic::TrafficPattern;
use crate::world::{Event, Held, World};

/// Salt for the queue-time sampling draw (any constant that differs from the other draws).
const QUEUE_TIME_SALT: u64 = 0x9e37_79b9_7f4a_7c15;

/// How long the router holds a request while web dynos boot (H20).
const BOOT_WAIT_US: i64 = 75 * US;

/// The next Poisson arrival after `from_us`, the rate held constant within each second (exact,
/// since the exponential gap is memoryless). Gives up after a day of zero rate and returns that
/// point; the caller then finds no request there and asks again.
pub(crate) fn next_poisson(
    pattern: &TrafficPattern,
    rng: &mut Rng,
    from_us: i64,
    day: f64,
) -> (i64, bool) {
    let mut t = from_us;
    let give_up = from_us + 86_400 * US;
    while t < give_up {
        let second = t.div_euclid(US);
        let end = (second + 1) * US;
        let rate = pattern.rate_at(second as f64, day);
        if rate > 0.0 {
            let gap = (rng.exp(1.0 / rate) * US as f64) as i64;
            if t + gap < end {
                return (t + gap, true);
            }
        }
        t = end;
    }
    (give_up, false)
}

impl World {
    pub(crate) fn next_arrival_after(&mut self, from_us: i64) -> i64 {
        let (at, real) = next_poisson(&self.cfg.traffic, &mut self.rng, from_us, self.day_offset_s);
        self.arrival_is_real = real;
        at
    }

    pub(crate) fn on_arrival(&mut self) {
        let now = self.now_us;
        if self.arrival_is_real {
            self.requests += 1;
            let u = self.rng.uniform();
            let class = self
                .class_cdf
                .iter()
                .position(|&c| u < c)
                .unwrap_or(self.class_cdf.len() - 1);
            let held = Held {
                arrival_us: now,
                class: class as u16,
                seed: self.cfg.seed ^ self.requests,
            };
            self.admit(held);
        }
        self.next_arrival_us = self.next_arrival_after(now);
    }

    /// Routes a request, or holds it while web dynos boot, or fails it at once.
    fn admit(&mut self, req: Held) {
        if !self.up_web.is_empty() {
            self.route(req);
            return;
        }
        let web: Vec<DynoState> = self
            .dynos
            .iter()
            .filter(|d| !d.removed && !d.retiring && self.kinds[d.kind].is_web)
            .map(|d| d.state)
            .collect();
        let outcome = if web.is_empty() {
            Outcome::NoWeb
        } else if !web.contains(&DynoState::Starting) {
            Outcome::Crashed
        } else {
            if self.held.is_empty() {
                self.schedule(req.arrival_us + BOOT_WAIT_US, Event::RouterDeadline);
            }
            self.held.push_back(req);
            return;
        };
        self.fail(req, outcome, self.now_us);
    }

    fn fail(&mut self, req: Held, outcome: Outcome, at_us: i64) {
        let rec = RouterRec {
            slot: None,
            boot: 0,
            class: req.class,
            outcome,
            arrival_us: req.arrival_us,
            queue_us: 0,
            connect_ms: 0,
            seed: req.seed,
        };
        self.outbox.push(at_us, Line::Router(rec));
    }

    /// Random choice among `up` web dynos (Heroku does not balance load), then the dyno's FIFO:
    /// the request starts when the earliest thread frees up.
    fn route(&mut self, req: Held) {
        let slot = self.up_web[self.rng.below(self.up_web.len())];
        let class = &self.classes[req.class as usize];
        let d = &mut self.dynos[slot as usize];
        let (thread, free) = d
            .free_us
            .iter()
            .copied()
            .enumerate()
            .min_by_key(|&(_, f)| f)
            .unwrap_or((0, self.now_us));
        let start = free.max(self.now_us);
        let speedup = f64::from(d.size.compute).clamp(1.0, self.cfg.platform.max_cpu_speedup);
        let scale = class.cpu_share / speedup + (1.0 - class.cpu_share);
        let base_us = if class.exponential {
            self.rng.exp(class.median_us / std::f64::consts::LN_2)
        } else {
            self.rng.lognormal(class.median_us, class.sigma)
        };
        let service_us = ((base_us * scale) as i64).max(1);
        let status = if self.rng.chance(class.error_rate) {
            500
        } else {
            200
        };
        if let Some(t) = d.free_us.get_mut(thread) {
            *t = start + service_us;
        }
        d.memory.on_request(&self.kinds[d.kind].memory);
        let timeout_us = (self.cfg.platform.request_timeout_s * US as f64) as i64;
        let (outcome, done) = if start + service_us - req.arrival_us > timeout_us {
            (Outcome::Timeout, req.arrival_us + timeout_us)
        } else {
            (Outcome::Served(status), start + service_us)
        };
        let rec = RouterRec {
            slot: Some(slot),
            boot: d.boot,
            class: req.class,
            outcome,
            arrival_us: req.arrival_us,
            queue_us: (start - req.arrival_us).min(timeout_us),
            connect_ms: u8::from(rng::mix(req.seed).is_multiple_of(4)),
            seed: req.seed,
        };
        self.outbox.push(done, Line::Router(rec));
    }

    /// A web dyno came up: requests held at the router go to it now.
    pub(crate) fn dispatch_held(&mut self) {
        while let Some(req) = self.held.pop_front() {
            self.route(req);
        }
    }

    pub(crate) fn router_deadline(&mut self) {
        let now = self.now_us;
        while let Some(req) = self.held.front().copied() {
            if req.arrival_us + BOOT_WAIT_US > now {
                self.schedule(req.arrival_us + BOOT_WAIT_US, Event::RouterDeadline);
                break;
            }
            self.held.pop_front();
            self.fail(req, Outcome::BootTimeout, req.arrival_us + BOOT_WAIT_US);
        }
    }

    /// Writes every line due by `upto_us`, recording router truth as each is written.
    pub(crate) fn flush(&mut self, upto_us: i64, sink: &mut dyn LogSink) {
        while let Some(p) = self.outbox.pop_due(upto_us) {
            self.emit(p, sink);
        }
    }

    fn emit(&mut self, p: Pending, sink: &mut dyn LogSink) {
        match p.line {
            Line::Text {
                source,
                process,
                message,
            } => {
                if sink.wants(source, &process) {
                    let at = self.stamp(p.at_us);
                    sink.log(LogEntry {
                        at,
                        source,
                        process,
                        message,
                    });
                }
            }
            Line::Router(rec) => {
                self.record_router(&rec, p.at_us);
                self.log_queue_time(&rec, p.at_us, sink);
                if sink.wants("heroku", "router") {
                    let message = self.router_text(&rec, p.at_us);
                    let at = self.stamp(p.at_us);
                    let process = "router".to_owned();
                    sink.log(LogEntry {
                        at,
                        source: "heroku",
                        process,
                        message,
                    });
                }
            }
        }
    }

    /// The app's own queue-time metric for a sampled share of served requests, from the dyno
    /// that served it, as a request-queue-time middleware would log it.
    fn log_queue_time(&self, rec: &RouterRec, at_us: i64, sink: &mut dyn LogSink) {
        let sampling = self.cfg.queue_time_sampling;
        let (Some(slot), Outcome::Served(_), true) = (rec.slot, rec.outcome, sampling > 0.0) else {
            return;
        };
        // An independent draw from the request's seed, so sampling changes no other line.
        let draw = (rng::mix(rec.seed ^ QUEUE_TIME_SALT) >> 11) as f64 / (1u64 << 53) as f64;
        if draw >= sampling {
            return;
        }
        let process = self.dynos[slot as usize].name.clone();
        if !sink.wants("app", &process) {
            return;
        }
        let at = self.stamp(at_us);
        let message = format!("measure#queue_time={:.1}ms", rec.queue_us as f64 / 1_000.0);
        sink.log(LogEntry {
            at,
            source: "app",
            process,
            message,
        });
    }

    /// The `service=` the router reports, in whole ms as the line writes it.
    fn service_ms(rec: &RouterRec, at_us: i64) -> Option<f64> {
        rec.slot
            .map(|_| ((at_us - rec.arrival_us) as f64 / 1_000.0).round())
    }

    fn record_router(&mut self, rec: &RouterRec, at_us: i64) {
        let at = self.stamp(at_us);
        let m = self.truth.minute(at);
        m.requests += 1;
        if let Some(service) = Self::service_ms(rec, at_us) {
            m.latency.add(service);
        }
        if matches!(rec.outcome, Outcome::Served(_) | Outcome::Timeout) {
            m.queue.add(rec.queue_us as f64 / 1_000.0);
        }
        if let Some((code, _)) = rec.outcome.code() {
            *m.codes.entry(code).or_default() += 1;
        }
        m.status_classes[usize::from(rec.outcome.status() / 100).min(5)] += 1;
    }

    fn router_text(&self, rec: &RouterRec, at_us: i64) -> String {
        let class = &self.cfg.classes[rec.class as usize];
        let request_id = rng::uuid(rec.seed);
        let fwd = rng::client_ip(rec.seed);
        let code = rec.outcome.code();
        let served = matches!(rec.outcome, Outcome::Served(_));
        let bytes = match rec.outcome {
            Outcome::Served(200) => class.bytes,
            Outcome::Served(_) => 1_024,
            _ => 0,
        };
        let line = RouterLine {
            at: Some(if code.is_some() { "error" } else { "info" }),
            code: code.map(|c| c.0),
            desc: code.map(|c| c.1),
            method: Some(&class.method),
            path: Some(&class.path),
            host: Some(&self.cfg.app_host),
            request_id: Some(&request_id),
            fwd: Some(&fwd),
            dyno: rec.slot.map(|s| self.dynos[s as usize].name.as_str()),
            connect_ms: rec.slot.map(|_| f64::from(rec.connect_ms)),
            service_ms: Self::service_ms(rec, at_us),
            status: Some(rec.outcome.status()),
            bytes: (served || rec.slot.is_some()).then_some(bytes),
            protocol: Some("https"),
            ..RouterLine::default()
        };
        encode::router(&line)
    }
}
