//! `[[apps.queues]]`: a valid source with its defaults, the URL from an environment variable,
//! and every bad value reported with its key and line; the URL never shows.

use std::time::Duration;

use dynopilot_queues::Adapter;
use dynopilot_server::config::Config;

use super::{at, env, load, load_err};

#[test]
fn a_queue_source_gets_its_defaults_and_keeps_the_url_secret() {
    let config = load(
        r#"[[apps]]
name = "shop"

[[apps.queues]]
adapter = "good_job"
url = "postgres://app:hunter2@db.internal:5432/shop"
"#,
    )
    .unwrap();
    let q = &config.apps[0].queues[0];
    assert_eq!(q.adapter, Adapter::GoodJob);
    assert_eq!(q.process_type, "worker");
    assert!(q.queues.is_empty());
    assert_eq!(
        (q.interval, q.timeout),
        (Duration::from_secs(10), Duration::from_secs(5))
    );
    assert!(!format!("{config:?}").contains("hunter2"));
    assert!(!config.show().contains("hunter2"));
}

#[test]
fn url_env_reads_the_named_variable() {
    let text = r#"[[apps]]
name = "shop"

[[apps.queues]]
adapter = "sidekiq"
url_env = "REDIS_URL"
queues = ["default"]
process_type = "sidekiq"
"#;
    let config = Config::load(
        text,
        "dynopilot.toml",
        &env(&[("REDIS_URL", "rediss://:pw@h:6380#insecure")]),
    )
    .unwrap();
    let q = &config.apps[0].queues[0];
    assert_eq!(q.url.expose(), "rediss://:pw@h:6380#insecure");
    assert_eq!(
        (q.process_type.as_str(), q.queues.as_slice()),
        ("sidekiq", &["default".to_owned()][..])
    );
    let errors = load_err(text);
    let (line, message) = at(&errors, "apps[0].queues[0].url_env");
    assert_eq!(line, 6);
    assert!(message.contains("`REDIS_URL` is not set"), "{message}");
}

#[test]
fn every_bad_value_is_reported_with_key_and_line() {
    let text = r#"[[apps]]
name = "shop"

[[apps.queues]]
adapter = "kafka"
url = "redis://localhost"

[[apps.queues]]
adapter = "rq"
url = "postgres://localhost/db"
namespace = "x"
interval = "0s"

[[apps.queues]]
adapter = "que"
url = "postgres://localhost/db"
process_type = "Bad Type"
timeout = "30s"

[[apps.queues]]
adapter = "delayed_job"

[[apps.queues]]
adapter = "sidekiq"
url = "redis://localhost"

[[apps.queues]]
adapter = "resque"
url = "redis://localhost"
"#;
    let errors = load_err(text);
    let (line, message) = at(&errors, "apps[0].queues[0].adapter");
    assert_eq!(line, 5);
    assert!(message.contains("unknown adapter `kafka`"), "{message}");
    let (line, message) = at(&errors, "apps[0].queues[1].url");
    assert_eq!(line, 10);
    assert!(message.contains("rq reads Redis URLs"), "{message}");
    assert!(!message.contains("localhost/db"), "{message}");
    assert_eq!(at(&errors, "apps[0].queues[1].namespace").0, 11);
    assert_eq!(at(&errors, "apps[0].queues[1].interval").0, 12);
    assert_eq!(at(&errors, "apps[0].queues[2].process_type").0, 17);
    let (line, message) = at(&errors, "apps[0].queues[2].timeout");
    assert_eq!(line, 18);
    assert!(message.contains("interval"), "{message}");
    assert!(at(&errors, "apps[0].queues[3]").1.contains("needs url"));
    // The sidekiq source feeds worker; resque would too.
    let (line, message) = at(&errors, "apps[0].queues[5].process_type");
    assert_eq!(line, 27);
    assert!(message.contains("already has a queue source"), "{message}");
    assert_eq!(errors.errors.len(), 8, "{errors}");
}
