//! Shared helpers for the integration tests: small configurations, running a model, Erlang C.

use dynopilot_core::Timestamp;
use dynopilot_workload::{
    MemoryModel, Model, PlatformModel, ProcessModel, RequestClass, ServiceDistribution,
    TrafficPattern, VecSink, WorkloadConfig,
};

pub const START_S: i64 = 1_700_000_000;

pub fn at(seconds: i64) -> Timestamp {
    Timestamp::from_secs(START_S + seconds)
}

/// Memory that never moves (for timing tests).
pub fn flat_memory() -> MemoryModel {
    MemoryModel {
        per_request_mb: 0.0,
        leak_mb_per_hour: 0.0,
        gc_chance: 0.0,
        ..MemoryModel::default()
    }
}

pub fn web(quantity: u32, threads: u32, size: &str) -> ProcessModel {
    ProcessModel {
        name: "web".to_owned(),
        command: "bundle exec puma -C config/puma.rb".to_owned(),
        size: size.to_owned(),
        quantity,
        processes: 1,
        threads,
        boot_s: 5.0,
        boot_sigma: 0.1,
        memory: flat_memory(),
        crashes_per_day: 0.0,
    }
}

/// One endpoint, constant traffic, no cycling: the plain queueing system.
pub fn queueing(
    rps: f64,
    median_ms: f64,
    distribution: ServiceDistribution,
    web: ProcessModel,
) -> WorkloadConfig {
    WorkloadConfig {
        seed: 7,
        app_host: "queue-test.herokuapp.com".to_owned(),
        api_user: "test@example.com".to_owned(),
        traffic: TrafficPattern::Constant { rps },
        classes: vec![RequestClass {
            path: "/".to_owned(),
            method: "GET".to_owned(),
            weight: 1.0,
            median_ms,
            sigma: 0.5,
            distribution,
            cpu_share: 0.5,
            bytes: 100,
            error_rate: 0.0,
        }],
        process_types: vec![web],
        jobs: None,
        platform: PlatformModel {
            cycling: false,
            ..PlatformModel::default()
        },
        queue_time_sampling: 0.0,
    }
}

/// Runs a model from its start to `seconds` in steps of `step_s`, keeping every line.
pub fn run(config: WorkloadConfig, seconds: i64, step_s: i64) -> (Model, VecSink) {
    let mut model = Model::new(config, at(0)).expect("valid config");
    let mut sink = VecSink::default();
    let mut t = 0;
    while t < seconds {
        t = (t + step_s).min(seconds);
        model.advance_to(at(t), &mut sink);
    }
    (model, sink)
}

/// Mean queue wait (ms) over the truth minutes from `from_min` on.
pub fn mean_queue_ms(model: &Model, from_min: usize) -> f64 {
    let (sum, n) = model.truth().minutes[from_min..]
        .iter()
        .fold((0.0, 0u64), |(s, n), m| {
            (s + m.queue.sum(), n + m.queue.count())
        });
    sum / n as f64
}

/// Erlang C mean wait (seconds) of an M/M/c queue with arrival rate `lambda` and service rate
/// `mu` per server.
pub fn erlang_c_wait(c: u32, lambda: f64, mu: f64) -> f64 {
    let a = lambda / mu;
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / f64::from(k);
        }
        sum += term;
    }
    let last = term * a / f64::from(c) * f64::from(c) / (f64::from(c) - a);
    let p_wait = last / (sum + last);
    p_wait / (f64::from(c) * mu - lambda)
}
