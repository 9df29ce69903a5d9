//! `RawConfig::default_documented()`: every key the file accepts, set to its default (or to an
//! example where there is none), so a test can hold `dynopilot.example.toml` to the code.

use std::collections::BTreeMap;

use dynopilot_core::policy::{
    Condition, ConfigDuration, EscalationConfig, GuardrailsConfig, MemoryGuardConfig, Metric,
    NotifyConfig, ProcessTypeConfig, RestartCounterConfig, RuleAction, RuleConfig, ScheduleEntry,
    Selector, Severity, Weekday, ZombieConfig,
};
use dynopilot_core::scaling::config::{
    HorizontalConfig, QueueConfig, ResizeWindow, StreakConfig, TargetConfig, TrendConfig,
    VerticalConfig,
};
use jiff::SignedDuration;

use super::probes::{RawCheck, RawPingdom, RawProbe, Threshold};
use super::raw::{
    LogSource, PolicyTemplate, RawApi, RawApiToken, RawApp, RawConfig, RawDashboard, RawDiscovery,
    RawDrain, RawHeroku, RawServer,
};
use super::secret::Secret;
use crate::web::credentials::Scope;

/// The example's password hash (argon2id of `example`).
pub const EXAMPLE_PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$ZHlub3BpbG90LWV4YW1wbGU$TV5WUeCtEkSm38NzzbOg3d/X/s0B5esnnJ3w2tOlqxk";
/// The example's token digest (SHA-256 of `example`).
pub const EXAMPLE_TOKEN_HASH: &str =
    "sha256:50d858e0985ecc7f60418aaf0cc5ab587f42c2570a884095a9e8ccacd0f6545c";
use dynopilot_core::policy::CheckKind;

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
                rendezvous_ca_file: Some("sim-rendezvous-ca.pem".to_owned()),
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
                password_hash: Some(Secret::new(EXAMPLE_PASSWORD_HASH)),
                ..RawDashboard::default()
            },
            api: RawApi {
                tokens: vec![
                    RawApiToken {
                        name: "ci".to_owned(),
                        scopes: vec![Scope::Read],
                        token: None,
                        token_hash: Some(EXAMPLE_TOKEN_HASH.to_owned()),
                    },
                    RawApiToken {
                        name: "ops".to_owned(),
                        scopes: vec![Scope::Operate, Scope::Metrics],
                        token: example_secret(),
                        token_hash: None,
                    },
                ],
                ..RawApi::default()
            },
            discovery: RawDiscovery {
                enabled: Some(true),
                defaults: Some(template),
                ..RawDiscovery::default()
            },
            apps: vec![documented_app()],
            alerts: documented_alerts(),
            ..RawConfig::default()
        }
    }
}

/// One channel of each type, every key set (`pager` is the channel the example rule names), a
/// route and a default route.
fn documented_alerts() -> super::alerts::RawAlerts {
    use dynopilot_core::policy::{ConfigDuration, Severity};
    use dynopilot_notify::config::{
        ChannelConfig, DEFAULT_HOOK_TIMEOUT, DEFAULT_PAGERDUTY_BASE_URL, DEFAULT_TIMEOUT,
        DEFAULT_TWILIO_BASE_URL, EmailConfig, HookConfig, PagerDutyConfig, SlackConfig, SmtpTls,
        TwilioConfig, WebhookConfig,
    };
    let secret = || Secret::new("example-secret-0123456789");
    let channels = [
        (
            "ops-email",
            ChannelConfig::Email(EmailConfig {
                host: "smtp.example.com".to_owned(),
                port: Some(587),
                tls: SmtpTls::Starttls,
                username: Some("alerts@example.com".to_owned()),
                password: Some(secret()),
                from: "dynopilot <alerts@example.com>".to_owned(),
                to: vec!["ops@example.com".to_owned()],
                timeout: DEFAULT_TIMEOUT,
            }),
        ),
        (
            "slack",
            ChannelConfig::Slack(SlackConfig {
                url: secret(),
                timeout: DEFAULT_TIMEOUT,
            }),
        ),
        (
            "audit",
            ChannelConfig::Webhook(WebhookConfig {
                url: secret(),
                secret: secret(),
                timeout: DEFAULT_TIMEOUT,
            }),
        ),
        (
            "sms",
            ChannelConfig::Twilio(TwilioConfig {
                account_sid: "AC00000000000000000000000000000000".to_owned(),
                auth_token: secret(),
                from: "+15550001111".to_owned(),
                to: vec!["+15550002222".to_owned()],
                base_url: DEFAULT_TWILIO_BASE_URL.to_owned(),
                timeout: DEFAULT_TIMEOUT,
            }),
        ),
        (
            "pager",
            ChannelConfig::Pagerduty(PagerDutyConfig {
                routing_key: secret(),
                base_url: DEFAULT_PAGERDUTY_BASE_URL.to_owned(),
                timeout: DEFAULT_TIMEOUT,
            }),
        ),
        (
            "on-restart",
            ChannelConfig::Hook(HookConfig {
                command: vec!["/app/bin/on-alert".to_owned(), "--json".to_owned()],
                timeout: DEFAULT_HOOK_TIMEOUT,
            }),
        ),
    ];
    super::alerts::RawAlerts {
        channels: channels
            .into_iter()
            .map(|(name, c)| (name.to_owned(), c))
            .collect(),
        routes: vec![super::alerts::RawRoute {
            topics: vec!["restart".to_owned(), "rule:*".to_owned()],
            min_severity: Severity::Warning,
            apps: vec!["my-app".to_owned()],
            channels: vec!["ops-email".to_owned(), "slack".to_owned()],
            cooling: Some(ConfigDuration::from_mins(5)),
        }],
        default_route: super::alerts::RawDefaultRoute {
            channels: vec!["pager".to_owned()],
            ..Default::default()
        },
        public_url: Some("https://dynopilot.example.com".to_owned()),
        ..Default::default()
    }
}

fn documented_app() -> RawApp {
    RawApp {
        name: "my-app".to_owned(),
        log_source: Some(LogSource::Drain),
        restart_request_token: Some(Secret::new("example-secret-0123456789")),
        api_key_env: Some("HEROKU_API_KEY_MY_APP".to_owned()),
        api_key: None,
        time_zone: Some("Europe/Paris".to_owned()),
        guardrails: Some(GuardrailsConfig {
            cost_budget_per_hour: Some(2.0),
            ..GuardrailsConfig::default()
        }),
        notify: Some(NotifyConfig::default()),
        process_type_defaults: None,
        process_types: BTreeMap::from([
            ("web".to_owned(), web()),
            ("worker".to_owned(), worker()),
            ("api".to_owned(), streak()),
            ("search".to_owned(), trend()),
        ]),
        rules: rules(),
        probes: BTreeMap::from([("heartbeat".to_owned(), heartbeat())]),
        pingdom: Some(RawPingdom {
            api_token: Secret::new("replace-me"),
            check_ids: vec![12345],
            ..RawPingdom::default()
        }),
        checks: checks(),
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
        clean: vec![super::clean::RawClean {
            dir: "/app/tmp".to_owned(),
            older_than: Some(ConfigDuration::from_mins(48 * 60)),
            exclude: vec!["*.pid".to_owned()],
            include_dotfiles: false,
            every: Some(ConfigDuration::from_mins(24 * 60)),
            dry_run: false,
            timeout: Some(ConfigDuration::from_mins(10)),
            size: Some("standard-1X".to_owned()),
        }],
        agents: Some(documented_agents()),
    }
}

fn documented_agents() -> super::agents::RawAgents {
    super::agents::RawAgents {
        judoscale: Some(super::agents::RawJudoscale {
            token: Secret::new("example-secret-0123456789"),
        }),
        hirefire: Some(super::agents::RawHireFire {
            token: Secret::new("example-secret-0123456789"),
            url: Some("https://my-app.herokuapp.com".to_owned()),
            values: Some("depth".to_owned()),
            interval: Some(ConfigDuration::from_secs(15)),
            timeout: Some(ConfigDuration::from_secs(5)),
        }),
        queues: BTreeMap::from([
            ("default".to_owned(), "worker".to_owned()),
            ("mailers".to_owned(), "worker".to_owned()),
        ]),
    }
}

fn heartbeat() -> RawProbe {
    RawProbe {
        url: "https://my-app.herokuapp.com/heartbeat".to_owned(),
        body_contains: Some("ok".to_owned()),
        headers: BTreeMap::from([("authorization".to_owned(), Secret::new("Bearer replace-me"))]),
        ..RawProbe::default()
    }
}

fn checks() -> Vec<RawCheck> {
    let both = |degraded, down| Threshold {
        degraded: Some(degraded),
        down,
    };
    let check = |name: &str, kind, url: &str, thresholds: &[(&str, Threshold)]| RawCheck {
        name: name.to_owned(),
        kind,
        url: Secret::new(url),
        replica_url: None,
        interval: ConfigDuration::from_secs(30),
        timeout: ConfigDuration::from_secs(5),
        expect_status: 200,
        thresholds: thresholds
            .iter()
            .map(|(k, t)| ((*k).to_owned(), *t))
            .collect(),
    };
    let mut db = check(
        "db",
        CheckKind::Postgres,
        "postgres://user:password@db.example.com:5432/app",
        &[
            ("connections_pct", both(80.0, Some(98.0))),
            ("longest_query_ms", both(30_000.0, None)),
            ("replication_lag_ms", both(10_000.0, Some(60_000.0))),
        ],
    );
    db.replica_url = Some(Secret::new(
        "postgres://user:password@replica.example.com:5432/app",
    ));
    vec![
        check(
            "site",
            CheckKind::Http,
            "https://my-app.herokuapp.com/",
            &[
                ("latency_ms", both(500.0, Some(3000.0))),
                ("tls_days_left", both(14.0, Some(2.0))),
            ],
        ),
        check(
            "cache",
            CheckKind::Redis,
            "rediss://:password@redis.example.com:6380",
            &[
                ("memory_pct", both(80.0, Some(95.0))),
                ("connected_clients", both(180.0, None)),
                ("evicted_keys", both(1.0, None)),
                ("rejected_connections", both(1.0, None)),
            ],
        ),
        db,
    ]
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

/// The `streak` algorithm with its defaults (one of each algorithm is documented).
fn streak() -> ProcessTypeConfig {
    ProcessTypeConfig {
        min: Some(1),
        max: Some(6),
        autoscale: Some(HorizontalConfig::Streak(StreakConfig::default())),
        ..ProcessTypeConfig::default()
    }
}

/// The `trend` algorithm with its defaults.
fn trend() -> ProcessTypeConfig {
    ProcessTypeConfig {
        min: Some(1),
        max: Some(6),
        autoscale: Some(HorizontalConfig::Trend(TrendConfig::default())),
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
