//! Runtime metrics: load averages follow busy threads (sampled four times per period), and every
//! period each running dyno writes its memory and load lines, R14 when over quota, R15 (and a
//! kill) at the size's kill point; worker dynos (and the `jobs.reported_by` process type) also
//! log the job-queue depth as l2met.

use dynopilot_logplex::encode;
use dynopilot_logplex::message::{LoadSample, MemorySample, PlatformError};

use crate::dyno::{US, load_decay};
use crate::truth::MemoryPoint;
use crate::world::{Event, World};

impl World {
    pub(crate) fn tick(&mut self, slot: u32, boot: u32) {
        let d = &self.dynos[slot as usize];
        if d.removed || d.boot != boot {
            return;
        }
        let now = self.now_us;
        let tick_us = self.tick_us();
        let decay = load_decay(tick_us as f64 / US as f64);
        let busy = d.busy(now) as f64;
        let d = &mut self.dynos[slot as usize];
        for (avg, k) in d.load.iter_mut().zip(decay) {
            *avg = *avg * k + busy * (1.0 - k);
        }
        d.ticks += 1;
        let report = d.ticks.is_multiple_of(4);
        self.schedule(now + tick_us, Event::Tick { slot, boot });
        if report {
            self.report(slot);
        }
    }

    fn report(&mut self, slot: u32) {
        let now = self.now_us;
        let kind = self.dynos[slot as usize].kind;
        let model = self.kinds[kind].memory.clone();
        let gc = self.rng.chance(model.gc_chance);
        let stamp = self.stamp(now);
        let d = &mut self.dynos[slot as usize];
        if gc {
            d.memory.grown_mb *= 1.0 - model.gc_drop;
        }
        let quota = f64::from(d.size.memory_mb);
        let kill_mb = d.size.r15_kill_mb();
        let r = d.memory.reading(&model, quota, now);
        let memory = encode::memory(&MemorySample {
            source: Some(&d.name),
            dyno_id: Some(&d.instance_id),
            total_mb: Some(r.total_mb),
            rss_mb: Some(r.rss_mb),
            cache_mb: Some(r.cache_mb),
            swap_mb: Some(r.swap_mb),
            pgpgin_pages: Some(d.memory.pgpgin),
            pgpgout_pages: Some(d.memory.pgpgout),
            quota_mb: Some(quota),
            quota_pct: None,
        });
        let load = encode::load(&LoadSample {
            source: Some(&d.name),
            dyno_id: Some(&d.instance_id),
            avg_1m: Some(d.load[0]),
            avg_5m: Some(d.load[1]),
            avg_15m: Some(d.load[2]),
        });
        let point = MemoryPoint {
            at: stamp,
            boot: d.boot,
            total_mb: r.total_mb,
            rss_mb: r.rss_mb,
            swap_mb: r.swap_mb,
        };
        let name = d.name.clone();
        self.truth.memory.entry(name).or_default().push(point);
        self.say_dyno(slot, load);
        self.say_dyno(slot, memory);
        if self.kinds[kind].works_jobs || self.kinds[kind].reports_queue {
            self.report_queue(slot);
        }
        self.memory_limits(slot, r.total_mb, r.rss_mb + r.swap_mb, quota, kill_mb);
    }

    /// R15 at the kill point (rss + swap, cache excluded), else R14 over quota (total).
    fn memory_limits(&mut self, slot: u32, total: f64, rss_swap: f64, quota: f64, kill: f64) {
        let (code, desc) = if rss_swap >= kill {
            ("R15", "Memory quota vastly exceeded")
        } else if total > quota {
            ("R14", "Memory quota exceeded")
        } else {
            self.dynos[slot as usize].memory.over_quota = false;
            return;
        };
        self.say_dyno(slot, encode::process_running(total, total / quota * 100.0));
        let error = PlatformError {
            code,
            desc: Some(desc),
            detail: None,
        };
        self.say_dyno(slot, encode::platform_error(&error));
        let d = &mut self.dynos[slot as usize];
        let first = !d.memory.over_quota;
        d.memory.over_quota = true;
        if code == "R15" {
            self.incident(slot, "R15");
            self.kill(slot, 137);
        } else if first {
            self.incident(slot, "R14");
        }
    }

    fn report_queue(&mut self, slot: u32) {
        let depth = self.jobs.depth() as u64;
        let oldest_ms = self.jobs.oldest_wait_ms(self.now_us);
        let name = self.dynos[slot as usize].name.clone();
        // A worker reports as itself; another process names the queue's process type.
        let kind = &self.kinds[self.dynos[slot as usize].kind];
        let source = if kind.works_jobs {
            name.clone()
        } else {
            self.cfg
                .jobs
                .as_ref()
                .map_or_else(|| name.clone(), |j| j.process_type.clone())
        };
        let line = format!(
            "source={source} sample#queue.depth={depth} sample#queue.latency={oldest_ms:.0}ms"
        );
        self.say(self.now_us, "app", name, line);
        let at = self.stamp(self.now_us);
        let m = self.truth.minute(at);
        m.job_depth_max = m.job_depth_max.max(depth);
    }
}
