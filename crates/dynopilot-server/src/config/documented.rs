//! `RawConfig::default_documented()`: every key the file accepts, set to its default (or to an
//! example where there is none), so a test can hold `dynopilot.example.toml` to the code.

use std::collections::BTreeMap;

use dynopilot_core::policy::{
    Condition, ConfigDuration, EscalationConfig, GuardrailsConfig, MemoryGuardConfig, Metric,
    NotifyConfig, ProcessTypeConfig, RestartCounterConfig, RuleAction, RuleConfig, ScheduleEntry,
    Selector, Severity, Weekday, ZombieConfig,
};
use dynopilot_core::scaling::config::{
    HorizontalConfig, QueueConfig, ResizeWindow, TargetConfig, VerticalConfig,
};
use jiff::SignedDuration;

use super::raw::{
    LogSource, PolicyTemplate, RawApp, RawConfig, RawDashboard, RawDiscovery, RawDrain, RawHeroku,
    RawServer,
};
use super::secret::Secret;

impl RawConfig {
    /// Defaults everywhere, optional keys filled with examples, and one app using every
    /// policy key. Secrets serialize masked.
    pub fn default_documented() -> RawConfig {
        let example_secret = || Some(Secret::new("example-secret-0123456789"));
        let mut template = PolicyTemplate::builtin();
        template.guardrails = Some(GuardrailsConfig {
            cost_budget_per_hour: Some(2.0),
            ..GuardrailsConfig::default()
        });
        RawConfig {
            log_source: Some(LogSource::LogSession),
            heroku: RawHeroku {
                api_key: example_secret(),
                ..RawHeroku::default()
            },
            server: RawServer {
                allowed_hosts: vec!["dynopilot.example.com".to_owned()],
                restart_request_token: example_secret(),
                ..RawServer::default()
            },
            drain: RawDrain {
                secret: example_secret(),
                ..RawDrain::default()
            },
            dashboard: RawDashboard {
                password: example_secret(),
                ..RawDashboard::default()
            },
            discovery: RawDiscovery {
                enabled: Some(true),
                defaults: Some(template),
            },
            apps: vec![documented_app()],
            ..RawConfig::default()
        }
    }
}

fn documented_app() -> RawApp {
    RawApp {
        name: "my-app".to_owned(),
        log_source: Some(LogSource::Drain),
        restart_request_token: Some(Secret::new("example-secret-0123456789")),
        time_zone: Some("Europe/Paris".to_owned()),
        guardrails: Some(GuardrailsConfig {
            cost_budget_per_hour: Some(2.0),
            ..GuardrailsConfig::default()
        }),
        notify: Some(NotifyConfig::default()),
        process_type_defaults: None,
        process_types: BTreeMap::from([("web".to_owned(), web()), ("worker".to_owned(), worker())]),
        rules: rules(),
        queues: vec![super::queues::RawQueueSource {
            adapter: "sidekiq".to_owned(),
            url: Some(Secret::new("redis://127.0.0.1:6379")),
            url_env: None,
            queues: vec!["default".to_owned(), "mailers".to_owned()],
            namespace: None,
            process_type: Some("worker".to_owned()),
            interval: Some(ConfigDuration::from_secs(10)),
            timeout: Some(ConfigDuration::from_secs(5)),
        }],
    }
}

/// Monday to Friday, for the example's office-hours schedule and resize window.
fn weekdays() -> Vec<Weekday> {
    Weekday::ALL[..5].to_vec()
}

fn web() -> ProcessTypeConfig {
    ProcessTypeConfig {
        min: Some(2),
        max: Some(10),
        max_size: Some("performance-m".to_owned()),
        schedule: vec![ScheduleEntry {
            days: weekdays(),
            from: "08:00".to_owned(),
            to: "20:00".to_owned(),
            min: 4,
            max: 12,
        }],
        memory_guard: Some(MemoryGuardConfig::default()),
        zombie: Some(ZombieConfig::default()),
        restart_counter: Some(RestartCounterConfig::default()),
        escalation: Some(EscalationConfig::default()),
        autoscale: Some(HorizontalConfig::Target(TargetConfig {
            max_step_up: Some(4),
            ..TargetConfig::default()
        })),
        vertical: Some(VerticalConfig {
            max_size: Some("performance-m".to_owned()),
            ladder: Some(vec!["standard-1x".to_owned(), "standard-2x".to_owned()]),
            windows: vec![ResizeWindow {
                days: weekdays(),
                from: "08:00".to_owned(),
                to: "20:00".to_owned(),
            }],
            ..VerticalConfig::default()
        }),
    }
}

fn worker() -> ProcessTypeConfig {
    ProcessTypeConfig {
        min: Some(0),
        max: Some(8),
        autoscale: Some(HorizontalConfig::Queue(QueueConfig {
            latency_target: Some(SignedDuration::from_secs(30)),
            scale_to_zero_after: Some(SignedDuration::from_mins(15)),
            max_step_up: Some(4),
            ..QueueConfig::default()
        })),
        ..ProcessTypeConfig::default()
    }
}

fn rules() -> Vec<RuleConfig> {
    vec![
        RuleConfig {
            name: "router-timeouts".to_owned(),
            selector: Selector {
                process_type: Some("web".to_owned()),
                dyno: None,
            },
            condition: Condition::Codes {
                codes: vec!["H12".to_owned(), "H13".to_owned()],
                at_least: 10,
                window: ConfigDuration::from_mins(5),
            },
            actions: vec![
                RuleAction::Alert {
                    severity: Severity::Critical,
                },
                RuleAction::Scale { by: 1 },
                RuleAction::Webhook {
                    name: "pager".to_owned(),
                },
            ],
            cooldown: ConfigDuration::from_mins(5),
        },
        RuleConfig {
            name: "hot-worker".to_owned(),
            selector: Selector {
                process_type: None,
                dyno: Some("worker.1".to_owned()),
            },
            condition: Condition::Metric {
                metric: Metric::MemoryPercent,
                above: 95.0,
                for_: ConfigDuration::from_mins(2),
            },
            actions: vec![RuleAction::RestartDyno],
            cooldown: ConfigDuration::from_mins(5),
        },
    ]
}
