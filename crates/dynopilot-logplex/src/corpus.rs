//! A deterministic generator of realistic Heroku log traffic (router lines, runtime metrics
//! every 20 s per dyno, app output, and a few incidents), for benchmarks, fuzz seeds, samples
//! and large-file tests. Not a simulation: the simulator models behaviour; this only writes
//! plausible lines fast.

use dynopilot_core::Timestamp;

use crate::encode::{self, Record};
use crate::message::{ApiEvent, DynoEvent, LoadSample, MemorySample, PlatformError, RouterLine};
use crate::timestamp;

/// What to generate.
#[derive(Debug, Clone)]
pub struct CorpusConfig {
    pub start: Timestamp,
    pub web_dynos: u32,
    pub worker_dynos: u32,
    pub requests_per_second: u32,
    /// Memory quota of every dyno (MB).
    pub quota_mb: f64,
    /// Include a leaking dyno (R14, R15, crash, restart), a deploy and a scale change.
    pub incidents: bool,
    /// Incidents repeat with this period: a leak over the first third ending in R15, a deploy
    /// at the half, a scale change at two thirds.
    pub period_seconds: i64,
    pub seed: u64,
}

impl Default for CorpusConfig {
    fn default() -> Self {
        Self {
            start: Timestamp::from_millis(1_764_064_800_000),
            web_dynos: 4,
            worker_dynos: 2,
            requests_per_second: 50,
            quota_mb: 512.0,
            incidents: true,
            period_seconds: 3_600,
            seed: 42,
        }
    }
}

/// Emits one second of log entries at a time, in time order.
#[derive(Debug)]
pub struct Corpus {
    config: CorpusConfig,
    second: i64,
    rng: u64,
    boots: Vec<u32>,
}

/// An owned log entry (generated, so it cannot borrow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub priority: u16,
    pub timestamp: String,
    pub source: &'static str,
    pub process: String,
    pub message: String,
}

impl Entry {
    pub fn record(&self) -> Record<'_> {
        Record {
            priority: self.priority,
            timestamp: &self.timestamp,
            source: self.source,
            process: &self.process,
            message: &self.message,
        }
    }
}

const PATHS: [(&str, &str, u32); 6] = [
    ("GET", "/", 40),
    ("GET", "/products/3", 80),
    ("GET", "/cart", 60),
    ("POST", "/checkout", 250),
    ("GET", "/assets/app-4f3a.js", 5),
    ("GET", "/search?q=red+shoes", 400),
];

impl Corpus {
    pub fn new(config: CorpusConfig) -> Self {
        let dynos = (config.web_dynos + config.worker_dynos) as usize;
        let rng = config.seed | 1;
        Self {
            config,
            second: 0,
            rng,
            boots: vec![1; dynos],
        }
    }

    /// The entries of the next second.
    pub fn next_second(&mut self) -> Vec<Entry> {
        let mut out = Vec::with_capacity(self.config.requests_per_second as usize + 16);
        let base = self.config.start.as_millis() + self.second * 1_000;
        let n = self.config.requests_per_second;
        for i in 0..n {
            let at = base + i64::from(i) * 1_000 / i64::from(n.max(1));
            out.push(self.router_entry(at));
            if self.random().is_multiple_of(10) {
                out.push(self.app_entry(at + 1));
            }
        }
        if self.second % 20 == 0 {
            self.metrics(base + 500, &mut out);
        }
        if self.config.incidents {
            self.incidents(base + 900, &mut out);
        }
        self.second += 1;
        out
    }

    fn random(&mut self) -> u64 {
        // xorshift64*: deterministic and dependency-free.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn entry(&self, at: i64, source: &'static str, process: String, message: String) -> Entry {
        Entry {
            priority: encode::default_priority(source, &process),
            timestamp: timestamp::format(Timestamp::from_millis(at)),
            source,
            process,
            message,
        }
    }

    fn router_entry(&mut self, at: i64) -> Entry {
        let r = self.random();
        let (method, path, typical) = PATHS[(r % PATHS.len() as u64) as usize];
        let dyno = format!(
            "web.{}",
            1 + (r >> 8) % u64::from(self.config.web_dynos.max(1))
        );
        // A heavy tail: mostly near the typical time, sometimes 10–100× slower (H12 past 30 s).
        let tail = if (r >> 20).is_multiple_of(100) {
            10 + (r >> 28) % 90
        } else {
            1
        };
        let service = (u64::from(typical) / 2 + (r >> 32) % u64::from(typical)) * tail;
        let timeout = service >= 30_000;
        let request_id = format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            r as u32,
            (r >> 32) as u16,
            (r >> 4) & 0xfff,
            (r >> 16) & 0xfff,
            r >> 16
        );
        let fwd = format!(
            "{}.{}.{}.{}",
            10 + r % 200,
            (r >> 8) % 256,
            (r >> 16) % 256,
            (r >> 24) % 256
        );
        let status = if timeout {
            503
        } else if (r >> 40).is_multiple_of(200) {
            500
        } else if (r >> 40).is_multiple_of(50) {
            404
        } else {
            200
        };
        let line = RouterLine {
            at: Some(if timeout { "error" } else { "info" }),
            code: timeout.then_some("H12"),
            desc: timeout.then_some("Request timeout"),
            method: Some(method),
            path: Some(path),
            host: Some("shop-4f9a2c1b.herokuapp.com"),
            request_id: Some(&request_id),
            fwd: Some(&fwd),
            dyno: Some(&dyno),
            connect_ms: Some(((r >> 44) % 3) as f64),
            service_ms: Some(service.min(30_000) as f64),
            status: Some(status),
            bytes: Some(if timeout { 0 } else { 200 + (r >> 24) % 40_000 }),
            protocol: Some("https"),
            ..RouterLine::default()
        };
        let text = encode::router(&line);
        self.entry(at, "heroku", "router".to_owned(), text)
    }

    fn app_entry(&mut self, at: i64) -> Entry {
        let r = self.random();
        let dyno = format!("web.{}", 1 + r % u64::from(self.config.web_dynos.max(1)));
        let text = match r % 4 {
            0 => format!(
                "I, [{}] INFO -- : Completed 200 OK in {}ms (Views: {}ms | ActiveRecord: {}ms)",
                at,
                r % 300,
                r % 100,
                r % 50
            ),
            1 => format!(
                "measure#db.query={}ms count#orders.created=1 sample#cache.hit_ratio=0.{}",
                r % 40,
                r % 100
            ),
            2 => format!(
                "Started GET \"/products/{}\" for 10.1.2.3 at 2025-11-25 10:00:00 +0000",
                r % 1000
            ),
            _ => "Processing by ProductsController#show as HTML".to_owned(),
        };
        self.entry(at, "app", dyno, text)
    }

    fn metrics(&mut self, at: i64, out: &mut Vec<Entry>) {
        let names = self.dyno_names();
        for (i, name) in names.into_iter().enumerate() {
            let dyno_id = format!(
                "heroku.{}.{:08x}-cf3d-411b-b453-d2943a50b456",
                2_808_254 + i,
                self.boots[i]
            );
            let leaking = self.is_leaking(i);
            let base = 180.0 + 20.0 * i as f64;
            let total = if leaking {
                base + self.phase() as f64 * self.leak_rate()
            } else {
                base + (self.random() % 400) as f64 / 10.0
            };
            let swap = (total - self.config.quota_mb).max(0.0);
            let memory = MemorySample {
                source: Some(&name),
                dyno_id: Some(&dyno_id),
                total_mb: Some(total),
                rss_mb: Some(total - swap - 3.5),
                cache_mb: Some(3.5),
                swap_mb: Some(swap),
                pgpgin_pages: Some(80_000 + self.second as u64 * 37),
                pgpgout_pages: Some(53_000 + self.second as u64 * 31),
                quota_mb: Some(self.config.quota_mb),
                quota_pct: None,
            };
            let load = LoadSample {
                source: Some(&name),
                dyno_id: Some(&dyno_id),
                avg_1m: Some((self.random() % 300) as f64 / 100.0),
                avg_5m: Some((self.random() % 200) as f64 / 100.0),
                avg_15m: Some((self.random() % 150) as f64 / 100.0),
            };
            out.push(self.entry(at, "heroku", name.clone(), encode::load(&load)));
            out.push(self.entry(at, "heroku", name.clone(), encode::memory(&memory)));
            if total > self.config.quota_mb {
                let pct = total / self.config.quota_mb * 100.0;
                out.push(self.entry(
                    at + 1,
                    "heroku",
                    name.clone(),
                    encode::process_running(total, pct),
                ));
                let r14 = PlatformError {
                    code: "R14",
                    desc: Some("Memory quota exceeded"),
                    detail: None,
                };
                out.push(self.entry(at + 1, "heroku", name.clone(), encode::platform_error(&r14)));
            }
        }
    }

    fn dyno_names(&self) -> Vec<String> {
        (1..=self.config.web_dynos)
            .map(|n| format!("web.{n}"))
            .chain((1..=self.config.worker_dynos).map(|n| format!("worker.{n}")))
            .collect()
    }

    fn phase(&self) -> i64 {
        self.second % self.config.period_seconds.max(3)
    }

    /// MB per second, so that the leaking dyno reaches twice its quota (R15) after a third of
    /// the period.
    fn leak_rate(&self) -> f64 {
        (self.config.quota_mb * 2.0 - 200.0) / (self.config.period_seconds.max(3) / 3) as f64
    }

    /// The second web dyno leaks during the first third of every period.
    fn is_leaking(&self, index: usize) -> bool {
        self.config.incidents && index == 1 && self.phase() < self.config.period_seconds / 3
    }

    fn incidents(&mut self, at: i64, out: &mut Vec<Entry>) {
        let phase = self.phase();
        let period = self.config.period_seconds.max(3);
        if self.config.web_dynos > 1 && phase == period / 3 {
            self.crash_and_restart(at, 1, out);
        }
        if phase == period / 2 {
            let version = 40 + self.second / period;
            let user = Some("deploys@example.com");
            let deploy = ApiEvent::Deploy {
                commit: "4c3bb32c",
                user,
            };
            out.push(self.entry(at, "app", "api".to_owned(), encode::api_event(&deploy)));
            let release = ApiEvent::Release {
                version: version as u32,
                user,
            };
            out.push(self.entry(at, "app", "api".to_owned(), encode::api_event(&release)));
            for i in 0..self.boots.len() {
                self.restart(at + 5_000, i, DynoEvent::Restarting, out);
            }
        }
        if phase == period * 2 / 3 {
            let web = self.config.web_dynos;
            let worker = self.config.worker_dynos;
            let text = encode::scaled(
                [
                    ("web", web, "Standard-1X"),
                    ("worker", worker, "Standard-1X"),
                ],
                Some("ops@example.com"),
            );
            out.push(self.entry(at, "app", "api".to_owned(), text));
        }
    }

    fn crash_and_restart(&mut self, at: i64, index: usize, out: &mut Vec<Entry>) {
        let name = self.dyno_names()[index].clone();
        let r15 = PlatformError {
            code: "R15",
            desc: Some("Memory quota vastly exceeded"),
            detail: None,
        };
        out.push(self.entry(at, "heroku", name.clone(), encode::platform_error(&r15)));
        for event in [
            DynoEvent::Stopping {
                signal: "SIGKILL",
                all: false,
            },
            DynoEvent::Exited { status: Some(137) },
            DynoEvent::StateChanged {
                from: "up",
                to: "crashed",
            },
        ] {
            out.push(self.entry(at + 2, "heroku", name.clone(), encode::dyno_event(&event)));
        }
        self.restart(
            at + 20,
            index,
            DynoEvent::StateChanged {
                from: "crashed",
                to: "starting",
            },
            out,
        );
    }

    fn restart(&mut self, at: i64, index: usize, first: DynoEvent<'_>, out: &mut Vec<Entry>) {
        let name = self.dyno_names()[index].clone();
        self.boots[index] += 1;
        let mut events = vec![first];
        if matches!(first, DynoEvent::Restarting) {
            events.extend([
                DynoEvent::StateChanged {
                    from: "up",
                    to: "starting",
                },
                DynoEvent::Stopping {
                    signal: "SIGTERM",
                    all: true,
                },
                DynoEvent::Exited { status: Some(143) },
            ]);
        }
        events.extend([
            DynoEvent::Starting {
                command: "bundle exec puma -C config/puma.rb",
            },
            DynoEvent::StateChanged {
                from: "starting",
                to: "up",
            },
        ]);
        for (i, event) in events.iter().enumerate() {
            out.push(self.entry(
                at + i as i64 * 400,
                "heroku",
                name.clone(),
                encode::dyno_event(event),
            ));
        }
    }
}

/// Appends `entries` to `out` as drain frames.
pub fn write_drain(entries: &[Entry], out: &mut Vec<u8>) {
    for entry in entries {
        encode::push_frame(out, &entry.record());
    }
}

/// Appends `entries` to `out` as `heroku logs` lines.
pub fn write_lines(entries: &[Entry], out: &mut String) {
    for entry in entries {
        encode::push_line(out, &entry.record());
    }
}
