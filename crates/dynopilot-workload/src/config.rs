//! The world's configuration: traffic, request classes, process types (size, concurrency, boot,
//! memory, crashes) and the worker job queue; TOML-readable, validated all at once, with a
//! `demo()` preset.

use std::fmt;

use dynopilot_core::DynoSize;
use dynopilot_core::validate::{ConfigIssue, Validation};
use serde::Deserialize;

use crate::traffic::TrafficPattern;

/// Everything that defines one simulated app.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadConfig {
    /// Seeds every random draw: the same seed gives the same world, line for line.
    pub seed: u64,
    /// The `host=` of router lines, e.g. `myapp.herokuapp.com`.
    pub app_host: String,
    /// Who the `by user …` of API lines names when a caller gives nobody.
    #[serde(default = "default_user")]
    pub api_user: String,
    /// Web request arrivals.
    pub traffic: TrafficPattern,
    /// What the requests ask for; picked by weight.
    pub classes: Vec<RequestClass>,
    /// The formation at start (one entry per process type; `web` receives HTTP traffic).
    pub process_types: Vec<ProcessModel>,
    /// Background jobs consumed by the `worker` process type, if any.
    #[serde(default)]
    pub jobs: Option<JobModel>,
    #[serde(default)]
    pub platform: PlatformModel,
    /// Share (0..=1) of served web requests after which the dyno logs its router queue time as
    /// `measure#queue_time=…ms`, the way a queue-time middleware reports it (Heroku's router
    /// lines carry none). 0 logs nothing.
    #[serde(default)]
    pub queue_time_sampling: f64,
}

fn default_user() -> String {
    "dev@example.com".to_owned()
}

/// One kind of request (an endpoint).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestClass {
    pub path: String,
    #[serde(default = "default_method")]
    pub method: String,
    /// Relative share of traffic.
    pub weight: f64,
    /// Median service time on a Standard-1X, in ms.
    pub median_ms: f64,
    /// Lognormal shape (σ of the log); 0.5 is moderate, 1.0 a heavy tail.
    #[serde(default = "default_sigma")]
    pub sigma: f64,
    /// Shape of the service-time distribution (`median_ms` is its median either way).
    #[serde(default)]
    pub distribution: ServiceDistribution,
    /// Share of the service time spent on CPU (the part a bigger dyno speeds up).
    #[serde(default = "default_cpu_share")]
    pub cpu_share: f64,
    /// Response size in bytes.
    #[serde(default = "default_bytes")]
    pub bytes: u64,
    /// Share of requests answered 500 by the app.
    #[serde(default)]
    pub error_rate: f64,
}

/// Service-time distributions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceDistribution {
    /// Lognormal with σ = `sigma`: the usual web latency shape, heavy-tailed for large σ.
    #[default]
    Lognormal,
    /// Exponential (memoryless), for checks against queueing theory.
    Exponential,
}

fn default_method() -> String {
    "GET".to_owned()
}
fn default_sigma() -> f64 {
    0.6
}
fn default_cpu_share() -> f64 {
    0.5
}
fn default_bytes() -> u64 {
    4_096
}

/// A process type of the formation and how its dynos behave.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessModel {
    /// `web`, `worker`, …
    pub name: String,
    pub command: String,
    /// Heroku size name (`Standard-1X`).
    pub size: String,
    pub quantity: u32,
    /// Server processes per dyno (puma workers).
    #[serde(default = "one")]
    pub processes: u32,
    /// Threads per process; concurrency = processes × threads.
    #[serde(default = "one")]
    pub threads: u32,
    /// Median app boot time in seconds (platform provisioning is added per size).
    #[serde(default = "default_boot")]
    pub boot_s: f64,
    /// Lognormal σ of the boot time.
    #[serde(default = "default_boot_sigma")]
    pub boot_sigma: f64,
    #[serde(default)]
    pub memory: MemoryModel,
    /// Expected app crashes per dyno per day (exit status 1).
    #[serde(default)]
    pub crashes_per_day: f64,
}

fn one() -> u32 {
    1
}
fn default_boot() -> f64 {
    8.0
}
fn default_boot_sigma() -> f64 {
    0.3
}

/// Memory of one dyno: `base + growth + leak − GC`, all in MB.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryModel {
    /// Resident memory right after boot.
    pub base_mb: f64,
    /// Growth per request served, shrinking as the heap nears `plateau_mb`.
    pub per_request_mb: f64,
    /// Where per-request growth levels off (above base).
    pub plateau_mb: f64,
    /// Unbounded growth per hour of uptime (a leak).
    pub leak_mb_per_hour: f64,
    /// Chance per 20 s metrics sample that a GC returns memory.
    pub gc_chance: f64,
    /// Share of per-request growth a GC returns.
    pub gc_drop: f64,
    /// Page cache reported beside rss.
    pub cache_mb: f64,
}

impl Default for MemoryModel {
    fn default() -> Self {
        Self {
            base_mb: 120.0,
            per_request_mb: 0.02,
            plateau_mb: 150.0,
            leak_mb_per_hour: 0.0,
            gc_chance: 0.05,
            gc_drop: 0.3,
            cache_mb: 4.0,
        }
    }
}

/// Background jobs: arrivals, service time, and which process type works them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobModel {
    #[serde(default = "default_worker")]
    pub process_type: String,
    pub traffic: TrafficPattern,
    pub median_ms: f64,
    #[serde(default = "default_sigma")]
    pub sigma: f64,
    /// Another process type (a web or clock process) whose dynos also log the queue, as
    /// `source=<process_type> sample#queue.depth=N`, so it is visible while no worker runs.
    #[serde(default)]
    pub reported_by: Option<String>,
}

fn default_worker() -> String {
    "worker".to_owned()
}

/// Platform constants, overridable for tests (defaults are Heroku's documented values).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformModel {
    /// Router timeout (H12), seconds.
    pub request_timeout_s: f64,
    /// Web boot limit (R10), seconds.
    pub boot_timeout_s: f64,
    /// Daily cycling on/off, and its period and jitter.
    pub cycling: bool,
    pub cycle_hours: f64,
    pub cycle_jitter_minutes: f64,
    /// Largest speed-up a bigger size gives to the CPU part of a request (one thread cannot use
    /// more than about one core however large the dyno).
    pub max_cpu_speedup: f64,
    /// Runtime-metrics period, seconds.
    pub metrics_interval_s: f64,
}

impl Default for PlatformModel {
    fn default() -> Self {
        Self {
            request_timeout_s: 30.0,
            boot_timeout_s: 60.0,
            cycling: true,
            cycle_hours: 24.0,
            cycle_jitter_minutes: 216.0,
            max_cpu_speedup: 3.0,
            metrics_interval_s: 20.0,
        }
    }
}

/// Every problem found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub issues: Vec<ConfigIssue>,
}

impl ConfigError {
    pub(crate) fn single(key: impl Into<String>, message: impl Into<String>) -> Self {
        let mut v = Validation::new();
        v.push(key, message);
        Self {
            issues: v.issues().to_vec(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid workload configuration")?;
        for issue in &self.issues {
            write!(f, "; {issue}")?;
        }
        Ok(())
    }
}

impl WorkloadConfig {
    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml_parse(text)
    }

    /// Every problem at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut v = Validation::new();
        self.traffic.check("traffic", &mut v);
        v.check(!self.app_host.is_empty(), "app_host", "must not be empty");
        v.check(
            self.classes.iter().any(|c| c.weight > 0.0),
            "classes",
            "need at least one request class with weight > 0",
        );
        for (i, c) in self.classes.iter().enumerate() {
            let key = format!("classes[{i}]");
            v.check(c.weight >= 0.0, format!("{key}.weight"), "must be ≥ 0");
            v.check(c.median_ms > 0.0, format!("{key}.median_ms"), "must be > 0");
            v.check(c.sigma >= 0.0, format!("{key}.sigma"), "must be ≥ 0");
            let shares = (0.0..=1.0).contains(&c.cpu_share) && (0.0..=1.0).contains(&c.error_rate);
            v.check(shares, &key, "cpu_share and error_rate must be in 0..=1");
        }
        for (i, p) in self.process_types.iter().enumerate() {
            check_process(&format!("process_types[{i}]"), p, &mut v);
            let dup = self.process_types[..i].iter().any(|q| q.name == p.name);
            v.check(
                !dup,
                format!("process_types[{i}].name"),
                "duplicate process type",
            );
        }
        if let Some(jobs) = &self.jobs {
            jobs.traffic.check("jobs.traffic", &mut v);
            v.check(jobs.median_ms > 0.0, "jobs.median_ms", "must be > 0");
            let known = self
                .process_types
                .iter()
                .any(|p| p.name == jobs.process_type);
            v.check(known, "jobs.process_type", "no such process type");
            if let Some(reporter) = &jobs.reported_by {
                let known = self.process_types.iter().any(|p| &p.name == reporter);
                v.check(known, "jobs.reported_by", "no such process type");
            }
        }
        v.check(
            (0.0..=1.0).contains(&self.queue_time_sampling),
            "queue_time_sampling",
            "must be in 0..=1",
        );
        let p = &self.platform;
        v.check(
            p.request_timeout_s > 0.0,
            "platform.request_timeout_s",
            "must be > 0",
        );
        v.check(
            p.metrics_interval_s >= 1.0,
            "platform.metrics_interval_s",
            "must be ≥ 1",
        );
        v.check(p.cycle_hours > 0.0, "platform.cycle_hours", "must be > 0");
        v.check(
            p.max_cpu_speedup >= 1.0,
            "platform.max_cpu_speedup",
            "must be ≥ 1",
        );
        v.finish().map_err(|issues| ConfigError { issues })
    }

    /// A small Rails-like app: web on 2 × Standard-1X (puma 2 × 5), one worker, diurnal traffic
    /// around 50 rps, one slow endpoint and a slow leak on web.
    pub fn demo() -> Self {
        let class = |path: &str, weight, median_ms, sigma, bytes| RequestClass {
            path: path.to_owned(),
            method: "GET".to_owned(),
            weight,
            median_ms,
            sigma,
            distribution: ServiceDistribution::Lognormal,
            cpu_share: 0.5,
            bytes,
            error_rate: 0.0,
        };
        Self {
            seed: 42,
            app_host: "dynopilot-demo.herokuapp.com".to_owned(),
            api_user: default_user(),
            traffic: TrafficPattern::Diurnal {
                min_rps: 20.0,
                max_rps: 80.0,
                peak_hour: 15.0,
            },
            classes: vec![
                class("/", 50.0, 40.0, 0.5, 18_349),
                class("/products", 35.0, 70.0, 0.6, 42_000),
                class("/api/cart", 14.0, 25.0, 0.4, 1_200),
                class("/reports/export", 1.0, 1_500.0, 0.9, 250_000),
            ],
            process_types: vec![
                ProcessModel {
                    name: "web".to_owned(),
                    command: "bundle exec puma -C config/puma.rb".to_owned(),
                    size: "Standard-1X".to_owned(),
                    quantity: 2,
                    processes: 2,
                    threads: 5,
                    boot_s: 8.0,
                    boot_sigma: 0.3,
                    memory: MemoryModel {
                        leak_mb_per_hour: 6.0,
                        ..MemoryModel::default()
                    },
                    crashes_per_day: 0.05,
                },
                ProcessModel {
                    name: "worker".to_owned(),
                    command: "bundle exec sidekiq".to_owned(),
                    size: "Standard-1X".to_owned(),
                    quantity: 1,
                    processes: 1,
                    threads: 5,
                    boot_s: 6.0,
                    boot_sigma: 0.3,
                    memory: MemoryModel::default(),
                    crashes_per_day: 0.0,
                },
            ],
            jobs: Some(JobModel {
                process_type: "worker".to_owned(),
                traffic: TrafficPattern::Constant { rps: 2.0 },
                median_ms: 300.0,
                sigma: 0.8,
                reported_by: None,
            }),
            platform: PlatformModel::default(),
            queue_time_sampling: 0.0,
        }
    }
}

fn check_process(key: &str, p: &ProcessModel, v: &mut Validation) {
    let name_ok = !p.name.is_empty()
        && p.name.len() <= 128
        && p.name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    v.check(name_ok, format!("{key}.name"), "must match ^[-\\w]{1,128}$");
    v.check(
        DynoSize::lookup(&p.size).is_ok(),
        format!("{key}.size"),
        format!("unknown dyno size `{}`", p.size),
    );
    v.check(
        p.processes >= 1 && p.threads >= 1,
        key.to_owned(),
        "processes and threads must be ≥ 1",
    );
    v.check(p.boot_s > 0.0, format!("{key}.boot_s"), "must be > 0");
    v.check(
        p.crashes_per_day >= 0.0,
        format!("{key}.crashes_per_day"),
        "must be ≥ 0",
    );
    let m = &p.memory;
    v.check(
        m.base_mb >= 0.0 && m.per_request_mb >= 0.0 && m.leak_mb_per_hour >= 0.0,
        format!("{key}.memory"),
        "amounts must be ≥ 0",
    );
    v.check(
        (0.0..=1.0).contains(&m.gc_chance) && (0.0..=1.0).contains(&m.gc_drop),
        format!("{key}.memory"),
        "gc_chance and gc_drop must be in 0..=1",
    );
}

fn toml_parse(text: &str) -> Result<WorkloadConfig, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::single("toml", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_is_valid() {
        assert_eq!(WorkloadConfig::demo().validate(), Ok(()));
    }

    #[test]
    fn toml_with_defaults() {
        let text = r#"
            seed = 3
            app_host = "shop.herokuapp.com"
            traffic = { kind = "spike", base = 10.0, peak = 100.0, start_s = 60.0, duration_s = 30.0 }
            [[classes]]
            path = "/"
            weight = 1.0
            median_ms = 40.0
            [[process_types]]
            name = "web"
            command = "bin/web"
            size = "standard-2x"
            quantity = 2
            threads = 5
        "#;
        let config = WorkloadConfig::from_toml(text).unwrap();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.classes[0].method, "GET");
        assert_eq!(config.process_types[0].processes, 1);
        assert_eq!(config.api_user, "dev@example.com");
        assert!(WorkloadConfig::from_toml("seed = 1").is_err());
    }

    #[test]
    fn every_problem_is_reported() {
        let mut config = WorkloadConfig::demo();
        config.process_types[0].size = "Huge-9X".to_owned();
        config.process_types[1].threads = 0;
        config.classes[0].median_ms = 0.0;
        let keys: Vec<String> = config
            .validate()
            .unwrap_err()
            .issues
            .into_iter()
            .map(|i| i.key)
            .collect();
        assert_eq!(
            keys,
            [
                "classes[0].median_ms",
                "process_types[0].size",
                "process_types[1]"
            ]
        );
    }
}
