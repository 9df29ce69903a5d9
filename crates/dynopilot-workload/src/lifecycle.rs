//! Dyno lifecycle as the Cedar dyno manager runs it: provisioning and boot (R10 past the boot
//! limit), graceful stops (restart, cycling, scale-down; R12 past 30 s), hard kills (app crash,
//! R15, R10) with the crash-restart back-off, and reconciling dynos with the formation.

use dynopilot_logplex::encode;
use dynopilot_logplex::message::{DynoEvent, PlatformError};

use crate::dyno::{Dyno, US};
use crate::model::DynoState;
use crate::outbox::{Line, Outcome, RouterRec};
use crate::rng;
use crate::truth::DynoIncident;
use crate::world::{Event, World};

/// Why a running process is being sent SIGTERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    Restart,
    Cycle,
    ScaleDown,
}

/// Heroku waits this long after SIGTERM before SIGKILL.
const EXIT_TIMEOUT_US: i64 = 30 * US;
/// A dyno up this long counts as healthy again: its crash back-off starts over.
const HEALTHY_US: i64 = 10 * 60 * US;

fn event_line(e: DynoEvent<'_>) -> String {
    encode::dyno_event(&e)
}

fn error_line(code: &str, desc: &str, detail: Option<&str>) -> String {
    encode::platform_error(&PlatformError {
        code,
        desc: Some(desc),
        detail,
    })
}

impl World {
    /// Brings the dynos of `kind` in line with its formation entry at `at_us`.
    pub(crate) fn reconcile(&mut self, kind: usize, at_us: i64) {
        self.now_us = self.now_us.max(at_us);
        self.bill_to(self.now_us);
        let live = self.live_slots(kind);
        let wanted = self.kinds[kind].quantity as usize;
        for &slot in live.iter().skip(wanted) {
            self.terminate(slot, Stop::ScaleDown);
        }
        let size = self.kinds[kind].size;
        for &slot in live.iter().take(wanted) {
            if self.dynos[slot as usize].size != size {
                self.dynos[slot as usize].size = size;
                self.terminate(slot, Stop::Restart);
            }
        }
        for _ in live.len()..wanted {
            self.create_dyno(kind);
        }
    }

    fn create_dyno(&mut self, kind: usize) {
        let taken: Vec<u32> = self
            .dynos
            .iter()
            .filter(|d| d.kind == kind && !d.removed)
            .map(|d| d.number)
            .collect();
        let number = (1..).find(|n| !taken.contains(n)).unwrap_or(1);
        let k = &self.kinds[kind];
        let slot = self.dynos.len() as u32;
        self.dynos.push(Dyno {
            kind,
            number,
            name: format!("{}.{number}", k.name),
            size: k.size,
            state: DynoState::Starting,
            state_since_us: self.now_us,
            created_us: self.now_us,
            boot: 0,
            instance_id: String::new(),
            removed: false,
            retiring: false,
            free_us: Vec::new(),
            jobs: Vec::new(),
            release: self.release,
            memory: Default::default(),
            load: [0.0; 3],
            crashes: 0,
            up_since_us: self.now_us,
            ticks: 0,
        });
        // Dedicated (Performance/Private) dynos take longer to place than shared ones.
        let provision_s = if k.size.dedicated {
            self.rng.lognormal(15.0, 0.3)
        } else {
            self.rng.lognormal(2.0, 0.4)
        };
        self.schedule(
            self.now_us + (provision_s * US as f64) as i64,
            Event::Provisioned { slot },
        );
    }

    /// Starts a new process in the dyno: new instance id, `Starting process …`, boot timers.
    pub(crate) fn begin_boot(&mut self, slot: u32) {
        let now = self.now_us;
        let seed = self.rng.bits();
        let host = 100_000_000 + self.rng.below(900_000_000) as u64;
        let k = &self.kinds[self.dynos[slot as usize].kind];
        let (concurrency, is_web, command) = (k.concurrency, k.is_web, k.command.clone());
        let boot_s = self.rng.lognormal(k.boot_s, k.boot_sigma);
        let d = &mut self.dynos[slot as usize];
        d.boot += 1;
        d.instance_id = format!("heroku.{host}.{}", rng::uuid(seed));
        d.release = self.release;
        d.fresh_process(now, concurrency, is_web);
        let boot = d.boot;
        self.set_state(slot, DynoState::Starting);
        self.say_dyno(slot, event_line(DynoEvent::Starting { command: &command }));
        self.incident(slot, "boot");
        let limit_s = self.cfg.platform.boot_timeout_s;
        if is_web && boot_s > limit_s {
            let at = now + (limit_s * US as f64) as i64;
            self.schedule(at, Event::BootTimeout { slot, boot });
        } else {
            let at = now + (boot_s * US as f64) as i64;
            self.schedule(at, Event::BootDone { slot, boot });
        }
        let tick_us = self.tick_us();
        self.schedule(now + tick_us, Event::Tick { slot, boot });
    }

    pub(crate) fn tick_us(&self) -> i64 {
        (self.cfg.platform.metrics_interval_s / 4.0 * US as f64) as i64
    }

    fn current(&self, slot: u32, boot: u32) -> bool {
        let d = &self.dynos[slot as usize];
        !d.removed && d.boot == boot
    }

    pub(crate) fn boot_done(&mut self, slot: u32, boot: u32) {
        if !self.current(slot, boot) || self.dynos[slot as usize].retiring {
            return;
        }
        self.set_state(slot, DynoState::Up);
        let now = self.now_us;
        self.dynos[slot as usize].up_since_us = now;
        let kind = self.dynos[slot as usize].kind;
        let p = self.cfg.platform.clone();
        if p.cycling {
            let jitter_s = self.rng.between(0.0, p.cycle_jitter_minutes * 60.0);
            let at = now + ((p.cycle_hours * 3_600.0 + jitter_s) * US as f64) as i64;
            self.schedule(at, Event::Cycle { slot, boot });
        }
        let rate = self.kinds[kind].crashes_per_day;
        if rate > 0.0 {
            let at = now + (self.rng.exp(86_400.0 / rate) * US as f64) as i64;
            self.schedule(at, Event::Crash { slot, boot });
        }
        if self.kinds[kind].is_web {
            self.up_web.push(slot);
            self.dispatch_held();
        }
        if self.kinds[kind].works_jobs {
            self.dispatch_jobs();
        }
    }

    pub(crate) fn boot_timeout(&mut self, slot: u32, boot: u32) {
        if !self.current(slot, boot) {
            return;
        }
        let detail = format!(
            "Web process failed to bind to $PORT within {} seconds of launch",
            self.cfg.platform.boot_timeout_s
        );
        self.say_dyno(slot, error_line("R10", "Boot timeout", Some(&detail)));
        self.incident(slot, "R10");
        self.kill(slot, 137);
    }

    pub(crate) fn app_crash(&mut self, slot: u32, boot: u32) {
        if self.current(slot, boot) && self.dynos[slot as usize].state == DynoState::Up {
            self.incident(slot, "crash");
            self.kill(slot, 1);
        }
    }

    pub(crate) fn cycle(&mut self, slot: u32, boot: u32) {
        if self.current(slot, boot) && self.dynos[slot as usize].state == DynoState::Up {
            self.terminate(slot, Stop::Cycle);
        }
    }

    /// The process dies at once (crash, R10, R15): requests in flight end as H13, the dyno is
    /// `crashed`, and the manager restarts it after the back-off.
    pub(crate) fn kill(&mut self, slot: u32, status: i32) {
        let now = self.now_us;
        let old_boot = self.dynos[slot as usize].boot;
        if status == 137 {
            let stop = DynoEvent::Stopping {
                signal: "SIGKILL",
                all: false,
            };
            self.say_dyno(slot, event_line(stop));
        }
        self.say_dyno(
            slot,
            event_line(DynoEvent::Exited {
                status: Some(status),
            }),
        );
        self.leave_service(slot);
        self.close_in_flight(slot, old_boot, now);
        self.set_state(slot, DynoState::Crashed);
        let d = &mut self.dynos[slot as usize];
        if now - d.up_since_us > HEALTHY_US {
            d.crashes = 0;
        }
        d.crashes += 1;
        d.boot += 1;
        let (boot, crashes) = (d.boot, d.crashes);
        // Heroku restarts a crashed dyno at once the first time, then with growing cool-offs.
        let delay_s = if crashes <= 1 {
            self.rng.between(1.0, 3.0)
        } else {
            (60.0 * 2f64.powi(crashes as i32 - 2)).min(1_200.0)
        };
        let at = now + (delay_s * US as f64) as i64;
        self.schedule(at, Event::CrashRestart { slot, boot });
    }

    pub(crate) fn crash_restart(&mut self, slot: u32, boot: u32) {
        if self.current(slot, boot) && !self.dynos[slot as usize].retiring {
            self.set_state(slot, DynoState::Starting);
            self.begin_boot(slot);
        }
    }

    /// SIGTERM: the dyno leaves the router at once; the old process finishes what it has (up
    /// to 30 s, then R12 and SIGKILL) and exits; then a new one starts, or the dyno goes away.
    pub(crate) fn terminate(&mut self, slot: u32, why: Stop) {
        let d = &self.dynos[slot as usize];
        if d.removed || (d.retiring && why != Stop::ScaleDown) {
            return;
        }
        let now = self.now_us;
        let old_boot = d.boot;
        let had_process = d.boot > 0 && d.state != DynoState::Crashed;
        let busy_until = d.free_us.iter().copied().max().unwrap_or(now);
        match why {
            Stop::Restart => self.say_dyno(slot, event_line(DynoEvent::Restarting)),
            Stop::Cycle => self.say_dyno(slot, event_line(DynoEvent::Cycling)),
            Stop::ScaleDown => self.dynos[slot as usize].retiring = true,
        }
        self.incident(
            slot,
            if why == Stop::Cycle {
                "cycle"
            } else {
                "restart"
            },
        );
        let next = if why == Stop::ScaleDown {
            DynoState::Down
        } else {
            DynoState::Starting
        };
        self.set_state(slot, next);
        self.leave_service(slot);
        self.dynos[slot as usize].boot += 1;
        let boot = self.dynos[slot as usize].boot;
        if !had_process {
            self.schedule(
                now,
                Event::Exited {
                    slot,
                    boot,
                    status: -1,
                },
            );
            return;
        }
        let stop = DynoEvent::Stopping {
            signal: "SIGTERM",
            all: true,
        };
        self.say_dyno(slot, event_line(stop));
        let grace = (self.rng.between(0.2, 2.0) * US as f64) as i64;
        if busy_until > now + EXIT_TIMEOUT_US {
            let at = now + EXIT_TIMEOUT_US;
            let r12 = "Process failed to exit within 30 seconds of SIGTERM";
            self.say(
                at,
                "heroku",
                self.dynos[slot as usize].name.clone(),
                error_line("R12", "Exit timeout", Some(r12)),
            );
            let kill = event_line(DynoEvent::Stopping {
                signal: "SIGKILL",
                all: false,
            });
            self.say(at, "heroku", self.dynos[slot as usize].name.clone(), kill);
            self.close_in_flight(slot, old_boot, at);
            self.schedule(
                at,
                Event::Exited {
                    slot,
                    boot,
                    status: 137,
                },
            );
        } else {
            let at = busy_until.max(now + grace);
            self.schedule(
                at,
                Event::Exited {
                    slot,
                    boot,
                    status: 143,
                },
            );
        }
    }

    pub(crate) fn exited(&mut self, slot: u32, boot: u32, status: i32) {
        if !self.current(slot, boot) {
            return;
        }
        if status >= 0 {
            self.say_dyno(
                slot,
                event_line(DynoEvent::Exited {
                    status: Some(status),
                }),
            );
        }
        if self.dynos[slot as usize].retiring {
            self.bill_to(self.now_us);
            self.dynos[slot as usize].removed = true;
        } else {
            self.begin_boot(slot);
        }
    }

    /// Takes the dyno out of the router and hands its unfinished jobs back to the queue.
    fn leave_service(&mut self, slot: u32) {
        self.up_web.retain(|&s| s != slot);
        let jobs: Vec<_> = self.dynos[slot as usize]
            .jobs
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        self.jobs.requeue(jobs);
    }

    /// Requests in flight on a dead process end now as H13.
    fn close_in_flight(&mut self, slot: u32, boot: u32, at_us: i64) {
        for rec in self.outbox.take_in_flight(slot, boot, at_us) {
            let closed = RouterRec {
                outcome: Outcome::Closed,
                queue_us: rec.queue_us.min(at_us - rec.arrival_us),
                ..rec
            };
            self.outbox.push(at_us, Line::Router(closed));
        }
    }

    pub(crate) fn incident(&mut self, slot: u32, kind: &'static str) {
        let d = &self.dynos[slot as usize];
        self.truth.incidents.push(DynoIncident {
            at: self.stamp(self.now_us),
            dyno: d.name.clone(),
            kind,
            instance_id: d.instance_id.clone(),
        });
    }
}
