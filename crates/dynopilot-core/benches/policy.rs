//! Benchmark: one evaluation of an app with 100 dynos and a minute of observed state, with
//! every policy enabled. Target: under 1 ms.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dynopilot_core::Timestamp;
use dynopilot_core::policy::{
    Condition, Config, ConfigDuration, DynoLifecycle, DynoState, ErrorOccurrence, EscalationConfig,
    Formation, LoadSample, MemoryGuardConfig, Metric, ObservedState, PolicyState,
    ProcessTypeConfig, ProcessTypeState, RestartCounterConfig, RouterWindow, RuleAction,
    RuleConfig, Selector, Severity, ZombieConfig, evaluate,
};

const NOW: i64 = 1_772_452_800_000;

fn config() -> Config {
    let mut c = Config::new("shop");
    c.time_zone = "America/New_York".into();
    c.guardrails.cost_budget_per_hour = Some(50.0);
    let pt = ProcessTypeConfig {
        min: Some(10),
        max: Some(100),
        memory_guard: Some(MemoryGuardConfig::default()),
        zombie: Some(ZombieConfig::default()),
        restart_counter: Some(RestartCounterConfig::default()),
        escalation: Some(EscalationConfig::default()),
        ..ProcessTypeConfig::default()
    };
    c.process_types.insert("web".into(), pt.clone());
    c.process_types.insert("worker".into(), pt);
    c.rules.push(RuleConfig {
        name: "timeouts".into(),
        selector: Selector {
            process_type: Some("web".into()),
            dyno: None,
        },
        condition: Condition::Codes {
            codes: vec!["H1*".into(), "5xx".into()],
            at_least: 50,
            window: ConfigDuration::from_secs(60),
        },
        actions: vec![RuleAction::Alert {
            severity: Severity::Critical,
        }],
        cooldown: ConfigDuration::from_mins(5),
    });
    c.rules.push(RuleConfig {
        name: "r14".into(),
        selector: Selector::default(),
        condition: Condition::Codes {
            codes: vec!["R14".into()],
            at_least: 3,
            window: ConfigDuration::from_secs(60),
        },
        actions: vec![RuleAction::RestartDyno],
        cooldown: ConfigDuration::from_mins(5),
    });
    c.rules.push(RuleConfig {
        name: "hot".into(),
        selector: Selector::default(),
        condition: Condition::Metric {
            metric: Metric::LoadAvg1m,
            above: 8.0,
            for_: ConfigDuration::from_secs(60),
        },
        actions: vec![RuleAction::Alert {
            severity: Severity::Warning,
        }],
        cooldown: ConfigDuration::from_mins(5),
    });
    c
}

/// 80 web and 20 worker dynos, each with three samples (one minute), a few errors each.
fn observed() -> ObservedState {
    let mut obs = ObservedState::default();
    for (ty, n) in [("web", 80u32), ("worker", 20)] {
        let mut pt = ProcessTypeState {
            formation: Some(Formation {
                quantity: n,
                size: "Standard-2X".into(),
                updated_at: Timestamp::from_millis(NOW - 86_400_000),
            }),
            ..ProcessTypeState::default()
        };
        for i in 1..=n {
            let name = format!("{ty}.{i}");
            let mut d = DynoState::new(
                Some(format!("{name}-run")),
                DynoLifecycle::Up,
                Timestamp::from_millis(NOW - 3_600_000),
            );
            for k in 0..3i64 {
                let at = Timestamp::from_millis(NOW - 40_000 + k * 20_000);
                let mb = 300.0 + f64::from(i % 7) * 100.0 + k as f64;
                d.record_memory(dynopilot_core::policy::MemorySample {
                    at,
                    instance_id: d.instance_id.clone(),
                    total_mb: mb,
                    rss_mb: mb,
                    swap_mb: 0.0,
                    quota_mb: Some(1024.0),
                });
                d.load.push(LoadSample {
                    at,
                    load_avg_1m: f64::from(i % 10),
                });
                d.errors.push(ErrorOccurrence {
                    at,
                    code: if i % 5 == 0 { "R14" } else { "H12" }.into(),
                });
            }
            pt.dynos.insert(name, d);
        }
        for w in 0..3i64 {
            let start = Timestamp::from_millis(NOW - 60_000 + w * 20_000);
            let mut window = RouterWindow {
                start,
                end: Timestamp::from_millis(start.as_millis() + 20_000),
                count: 5000,
                status_2xx: 4990,
                status_5xx: 10,
                ..RouterWindow::default()
            };
            for v in 0..200 {
                window.service_ms.add(f64::from(v));
                window.queue_ms.add(f64::from(v % 20));
            }
            pt.router.push(window);
        }
        obs.process_types.insert(ty.into(), pt);
    }
    obs
}

fn bench(c: &mut Criterion) {
    let config = config();
    let observed = observed();
    let state = PolicyState::default();
    let now = Timestamp::from_millis(NOW);
    c.bench_function("evaluate 100 dynos, 1 minute of state", |b| {
        b.iter(|| {
            evaluate(
                black_box(&config),
                black_box(&observed),
                black_box(&state),
                now,
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
