//! Config parsing and validation: defaults, unknown keys, and every problem reported at once.

use dynopilot_core::policy::{Config, MemoryThreshold};

#[test]
fn parses_a_realistic_config_with_defaults() {
    let toml_like = serde_json::json!({
        "app": "shop",
        "time_zone": "Europe/Paris",
        "guardrails": { "restart_budget_per_hour": 6, "deploy_freeze": "10m" },
        "process_types": {
            "web": {
                "min": 2, "max": 8, "max_size": "Performance-M",
                "memory_guard": { "threshold": "95%", "samples": 2 },
                "schedule": [{ "days": ["mon", "tue"], "from": "08:00", "to": "20:00", "min": 4, "max": 8 }]
            },
            "worker": { "memory_guard": { "threshold": "450MB" }, "zombie": {} }
        },
        "rules": [{
            "name": "timeouts",
            "selector": { "process_type": "web" },
            "condition": { "type": "codes", "codes": ["H1*"], "at_least": 5, "window": "2m" },
            "actions": [{ "type": "alert", "severity": "critical" }, { "type": "restart_process_type" }]
        }]
    });
    let c: Config = serde_json::from_value(toml_like).unwrap();
    assert_eq!(c.check(), Ok(()));
    assert_eq!(c.guardrails.deploy_freeze.as_millis(), 600_000);
    assert_eq!(
        c.guardrails.dyno_restart_cooldown.as_millis(),
        300_000,
        "default kept"
    );
    let web = &c.process_types["web"];
    assert_eq!(
        web.memory_guard.as_ref().unwrap().threshold,
        MemoryThreshold::PercentOfQuota(95.0)
    );
    assert_eq!(
        c.process_types["worker"]
            .memory_guard
            .as_ref()
            .unwrap()
            .threshold,
        MemoryThreshold::Mb(450.0)
    );
    assert_eq!(
        web.memory_guard.as_ref().unwrap().cooldown.as_millis(),
        300_000
    );
}

#[test]
fn unknown_keys_are_rejected() {
    let bad = serde_json::json!({ "app": "shop", "guardrails": { "restart_budjet": 3 } });
    let err = serde_json::from_value::<Config>(bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("restart_budjet"), "{err}");
}

#[test]
fn validation_reports_every_problem_with_its_key() {
    let c: Config = serde_json::from_value(serde_json::json!({
        "app": "shop",
        "time_zone": "Mars/Olympus_Mons",
        "guardrails": { "dyno_restart_cooldown": "0.0004s", "cost_budget_per_hour": -1.0 },
        "process_types": {
            "web": {
                "min": 5, "max": 2, "max_size": "Standard-3X",
                "memory_guard": { "threshold": "0%", "samples": 0, "error_window": "10s", "cooldown": -5 },
                "schedule": [
                    { "from": "09:00", "to": "17:00", "min": 3, "max": 1 },
                    { "days": ["mon"], "from": "16:00", "to": "18:00", "min": 1, "max": 2 },
                    { "from": "18:00", "to": "07:00", "min": 1, "max": 2 }
                ],
                "zombie": { "no_metrics_for": "5s", "boot_limit": 0 }
            }
        },
        "rules": [{
            "name": "",
            "condition": { "type": "codes", "codes": ["H1*", "5xx", "XYZ"], "at_least": 0, "window": "15s" },
            "actions": [{ "type": "restart_dyno" }, { "type": "scale", "by": 0 }]
        }]
    }))
    .unwrap();
    let issues: Vec<String> = c
        .check()
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    insta::assert_snapshot!(issues.join("\n"));
}

#[test]
fn sub_second_durations_keep_their_milliseconds() {
    // Regression (autoscalebot): 500 ms became a 0 s timeout through integer division.
    let c: Config = serde_json::from_value(serde_json::json!({
        "app": "shop",
        "guardrails": { "dyno_restart_cooldown": "500ms" }
    }))
    .unwrap();
    assert_eq!(c.guardrails.dyno_restart_cooldown.as_millis(), 500);
    assert_eq!(c.check(), Ok(()));
}
