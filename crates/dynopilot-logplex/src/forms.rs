//! One entry of every message form people have in their logs (current and pre-2013 router
//! lines, platform and audit lines, every R and L error, add-on metrics, scheduler and release
//! dynos), with values varied by a seed. Written in any [`crate::layout::Layout`], this is the
//! mixed sample that `analyze` must read without an unknown line.

use dynopilot_core::Timestamp;

use crate::corpus::Entry;
use crate::encode;
use crate::message::{ApiEvent, DynoEvent, LoadSample, MemorySample, PlatformError, RouterLine};
use crate::timestamp;

/// The form names and entries, in time order, one second apart from `start`.
pub fn every_form(start: Timestamp, seed: u64) -> Vec<(&'static str, Entry)> {
    let n = seed % 97;
    let web = format!("web.{}", 1 + seed % 9);
    let run = format!("run.{}", 1000 + seed % 9000);
    let scheduler = format!("scheduler.{}", 2000 + seed % 7000);
    let release = format!("release.{}", 9000 + seed % 900);
    let user = format!("dev{n}@example.com");
    let commit = format!("{:07x}", seed.wrapping_mul(0x9e37_79b9) & 0xfff_ffff);
    let mut out = Forms {
        start,
        out: Vec::new(),
    };
    out.router(&web, n);
    out.platform(&web, &run, n);
    out.errors(&web, &run);
    out.audit(&user, &commit, n);
    out.one_off(&scheduler, &release, n);
    out.metrics(&web, n);
    out.push("app", "app", &web, format!("Completed 200 OK in {n}ms"));
    out.out
}

struct Forms {
    start: Timestamp,
    out: Vec<(&'static str, Entry)>,
}

impl Forms {
    fn push(&mut self, form: &'static str, source: &'static str, process: &str, message: String) {
        let at = Timestamp::from_millis(self.start.as_millis() + self.out.len() as i64 * 1_000);
        let entry = Entry {
            priority: encode::default_priority(source, process),
            timestamp: timestamp::format(at),
            source,
            process: process.to_owned(),
            message,
        };
        self.out.push((form, entry));
    }

    fn router(&mut self, web: &str, n: u64) {
        let service = 10.0 + n as f64;
        let line = RouterLine {
            at: Some("info"),
            method: Some("GET"),
            path: Some("/products/3"),
            host: Some("shop.herokuapp.com"),
            request_id: Some("6d7bc072-5405-402d-ab52-030405b9db9c"),
            fwd: Some("94.234.117.51"),
            dyno: Some(web),
            connect_ms: Some(1.0),
            service_ms: Some(service),
            status: Some(200),
            bytes: Some(1_000 + n),
            protocol: Some("https"),
            tls_version: n.is_multiple_of(2).then_some("TLSv1.3"),
            ..RouterLine::default()
        };
        self.push("router", "heroku", "router", encode::router(&line));
        let timeout = RouterLine {
            at: Some("error"),
            code: Some("H12"),
            desc: Some("Request timeout"),
            service_ms: Some(30_000.0),
            status: Some(503),
            bytes: Some(0),
            ..line
        };
        self.push("router-error", "heroku", "router", encode::router(&timeout));
        self.push(
            "router-error-2012",
            "heroku",
            "router",
            format!("at=error code=H12 desc=\"Request timeout\" method=GET path=/ host=myapp.herokuapp.com fwd=\"204.204.204.204\" dyno={web} connect= service=30000ms status=503 bytes=0"),
        );
        self.push(
            "router-port-unquoted",
            "heroku",
            "router",
            format!("at=info method=POST path=/api/v{n} host=api.example.com:443 request_id={n:032x} fwd=10.0.0.{n} dyno={web} connect=0 service={n} status=201 bytes=99 protocol=https tls_version=TLSv1.2"),
        );
        self.push(
            "router-client-interrupted",
            "heroku",
            "router",
            format!("sock=client at=warning code=H27 desc=\"Client Request Interrupted\" method=POST path=\"/upload\" host=shop.herokuapp.com request_id=0b0c fwd=\"1.2.3.4\" dyno={web} connect=0ms service={n}ms status=499 bytes= protocol=https"),
        );
        let legacy = RouterLine {
            at: Some("info"),
            method: Some("GET"),
            host: Some("growing-dusk-20.heroku.com"),
            path: Some("/"),
            dyno: Some(web),
            queue: Some(n % 3),
            wait_ms: Some(0.0),
            service_ms: Some(service),
            bytes: Some(215 + n),
            ..RouterLine::default()
        };
        self.push(
            "router-2010",
            "heroku",
            "router",
            encode::router_legacy(&legacy),
        );
        let legacy_error = RouterLine {
            at: Some("error"),
            code: Some("H12"),
            desc: Some("Request timeout"),
            service_ms: Some(30_000.0),
            status: Some(503),
            bytes: Some(0),
            ..legacy
        };
        self.push(
            "router-2010-error",
            "heroku",
            "router",
            encode::router_legacy(&legacy_error),
        );
    }

    fn platform(&mut self, web: &str, run: &str, n: u64) {
        let command = "bundle exec puma -C config/puma.rb";
        let starting = encode::dyno_event(&DynoEvent::Starting { command });
        self.push("starting", "heroku", web, starting.clone());
        self.push("starting-app", "app", web, starting);
        for event in [
            DynoEvent::StateChanged {
                from: "starting",
                to: "up",
            },
            DynoEvent::Stopping {
                signal: "SIGTERM",
                all: true,
            },
            DynoEvent::Exited { status: Some(137) },
            DynoEvent::Restarting,
            DynoEvent::Cycling,
        ] {
            self.push("dyno-event", "heroku", web, encode::dyno_event(&event));
        }
        for event in [DynoEvent::AwaitingClient, DynoEvent::ClientClosed] {
            self.push("run-event", "heroku", run, encode::dyno_event(&event));
        }
        let mem = 520.0 + n as f64;
        self.push(
            "process-running",
            "heroku",
            web,
            encode::process_running(mem, mem / 5.12),
        );
    }

    fn errors(&mut self, web: &str, run: &str) {
        let dyno_errors: [(&str, &str, Option<&str>); 7] = [
            (
                "R10",
                "Boot timeout",
                Some("Web process failed to bind to $PORT within 60 seconds of launch"),
            ),
            (
                "R12",
                "Exit timeout",
                Some("Process failed to exit within 30 seconds of SIGTERM"),
            ),
            ("R14", "Memory quota exceeded", None),
            ("R15", "Memory quota vastly exceeded", None),
            (
                "R16",
                "Detached",
                Some(
                    "An attached process is not responding to SIGHUP after its external connection was closed.",
                ),
            ),
            (
                "R17",
                "Checksum error",
                Some(
                    "Checksum does match expected value. Expected: SHA256:ed5718e8 Actual: SHA256:9ca15af1",
                ),
            ),
            ("R13", "Attach error", Some("Failed to attach to process")),
        ];
        for (code, desc, detail) in dyno_errors {
            let process = if code == "R13" || code == "R16" {
                run
            } else {
                web
            };
            let e = PlatformError {
                code,
                desc: Some(desc),
                detail,
            };
            self.push("dyno-error", "heroku", process, encode::platform_error(&e));
        }
        let since = "2013-04-17T19:04:46+00:00";
        for message in [
            format!("Error L10 (output buffer overflow): 500 messages dropped since {since}."),
            format!("L11 (Tail buffer overflow) -> This tail session dropped 1101 messages since {since}"),
            format!("Error L12: 222 messages dropped since {since}."),
            format!("Error L13: 111 messages lost since {since}."),
            "Error L14 (certificate validation): error=\"bad certificate\" uri=\"syslog+tls://logs.example.com:6514/\"".to_owned(),
            "Error L15 (Tail buffer temporarily unavailable)".to_owned(),
        ] {
            self.push("logplex-error", "heroku", "logplex", message);
        }
    }

    fn audit(&mut self, user: &str, commit: &str, n: u64) {
        let user = Some(user);
        let version = 10 + n as u32;
        for event in [
            ApiEvent::Deploy { commit, user },
            ApiEvent::Release { version, user },
            ApiEvent::ScaleTo {
                quantities: "web=2, worker=1",
                user,
            },
        ] {
            self.push(
                "api-2012",
                "heroku",
                "api",
                encode::api_event_legacy(&event),
            );
        }
        for event in [
            ApiEvent::Deploy { commit, user },
            ApiEvent::Release { version, user },
            ApiEvent::ConfigVars {
                set: true,
                names: "REDIS_URL",
                user,
            },
            ApiEvent::Audit {
                action: "Build succeeded",
                user: None,
            },
        ] {
            self.push("api", "app", "api", encode::api_event(&event));
        }
        let scaled = encode::scaled([("web", 2, "Standard-1X"), ("worker", 1, "Basic")], user);
        self.push("api-scaled", "app", "api", scaled);
    }

    fn one_off(&mut self, scheduler: &str, release: &str, n: u64) {
        for (process, command) in [(scheduler, "rake reports:daily"), (release, "bin/release")] {
            for event in [
                DynoEvent::StateChanged {
                    from: "created",
                    to: "starting",
                },
                DynoEvent::Starting { command },
                DynoEvent::StateChanged {
                    from: "starting",
                    to: "up",
                },
                DynoEvent::Exited {
                    status: Some(i32::from(!n.is_multiple_of(2))),
                },
                DynoEvent::StateChanged {
                    from: "up",
                    to: "complete",
                },
            ] {
                self.push("one-off", "heroku", process, encode::dyno_event(&event));
            }
        }
    }

    fn metrics(&mut self, web: &str, n: u64) {
        let dyno_id = format!("heroku.2808254.{n:08x}-cf3d-411b-b453-d2943a50b456");
        let total = 200.0 + n as f64;
        let memory = MemorySample {
            source: Some(web),
            dyno_id: Some(&dyno_id),
            total_mb: Some(total),
            rss_mb: Some(total - 3.5),
            cache_mb: Some(3.5),
            swap_mb: Some(0.0),
            pgpgin_pages: Some(80_522),
            pgpgout_pages: Some(53_004),
            quota_mb: Some(512.0),
            quota_pct: None,
        };
        self.push("memory", "heroku", web, encode::memory(&memory));
        let load = LoadSample {
            source: Some(web),
            dyno_id: Some(&dyno_id),
            avg_1m: Some(n as f64 / 10.0),
            avg_5m: Some(0.5),
            avg_15m: Some(0.25),
        };
        self.push("load", "heroku", web, encode::load(&load));
        self.push(
            "heroku-postgres",
            "app",
            "heroku-postgres",
            format!("source=DATABASE addon=postgresql-curly-12345 sample#current_transaction={} sample#db_size={}bytes sample#tables=31 sample#active-connections={} sample#waiting-connections=0 sample#index-cache-hit-rate=0.99 sample#table-cache-hit-rate=0.98 sample#load-avg-1m=0.05 sample#read-iops=0 sample#write-iops=0.1 sample#memory-total=4045992kB sample#memory-free={}kB", 15_365 + n, 8_423_598 + n, 5 + n % 20, 1_200_000 + n),
        );
        self.push(
            "heroku-redis",
            "app",
            "heroku-redis",
            format!("source=REDIS addon=redis-encircled-41258 sample#active-connections={} sample#load-avg-1m=0.01 sample#memory-total=15664332kB sample#memory-free={}kB sample#memory-redis={}bytes sample#hit-rate=0.95 sample#evicted-keys=0", 1 + n % 9, 9_000_000 + n, 1_200_000 + n),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_is_named_by_the_grammar() {
        let start = Timestamp::from_millis(1_262_304_000_000);
        for seed in 0..50 {
            for (form, e) in every_form(start, seed) {
                let message = crate::parse_message(e.source, &e.process, &e.message);
                assert_ne!(message.kind(), "unknown", "{form}: {}", e.message);
                let plain = matches!(message, crate::Message::App(_));
                assert_eq!(plain, form == "app", "{form}: {}", e.message);
            }
        }
    }
}
