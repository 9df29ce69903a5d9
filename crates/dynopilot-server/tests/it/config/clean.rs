//! `[[apps.clean]]`: an entry gets its defaults, a dry-run app cleans nothing, and every bad
//! value (a directory outside the allow-list, a young age, a short period, an unknown size or
//! key) is reported with its key and line.

use std::time::Duration;

use super::{at, load, load_err};

#[test]
fn an_entry_gets_its_defaults() {
    let config = load(
        r#"[[apps]]
name = "shop"

[[apps.clean]]
dir = "/app/tmp/"
exclude = ["*.pid"]
"#,
    )
    .unwrap();
    let c = &config.apps[0].clean[0];
    assert_eq!(c.job.spec.dir(), "/app/tmp");
    assert_eq!(c.job.spec.older_than(), Duration::from_secs(48 * 3600));
    assert_eq!(c.every, Duration::from_secs(24 * 3600));
    assert_eq!(c.job.timeout, Duration::from_secs(600));
    assert_eq!((c.job.dry_run, c.job.size.as_deref()), (false, None));
    assert!(c.job.spec.command(false).contains("! -name '*.pid'"));

    let dry =
        load("dry_run = true\n\n[[apps]]\nname = \"shop\"\n\n[[apps.clean]]\ndir = \"/tmp\"\n")
            .unwrap();
    assert!(
        dry.apps[0].clean[0].job.dry_run,
        "a dry-run daemon removes nothing"
    );
}

#[test]
fn every_bad_value_is_reported_with_key_and_line() {
    let text = r#"[[apps]]
name = "shop"

[[apps.clean]]
dir = "/"

[[apps.clean]]
dir = "/tmp"
older_than = "30s"
every = "1m"
timeout = "2d"
size = "huge"

[[apps.clean]]
dir = "../etc"
"#;
    let errors = load_err(text);
    let (line, message) = at(&errors, "apps[0].clean[0].dir");
    assert_eq!(line, 5);
    assert!(message.contains("outside the allowed roots"), "{message}");
    let (line, message) = at(&errors, "apps[0].clean[1].older_than");
    assert_eq!(line, 9);
    assert!(message.contains("at least 1 minute"), "{message}");
    let (line, message) = at(&errors, "apps[0].clean[1].every");
    assert_eq!(line, 10);
    assert!(message.contains("at least 10m"), "{message}");
    let (line, message) = at(&errors, "apps[0].clean[1].timeout");
    assert_eq!(line, 11);
    assert!(message.contains("at most 24h"), "{message}");
    let (line, message) = at(&errors, "apps[0].clean[1].size");
    assert_eq!(line, 12);
    assert!(message.contains("`huge` is not a dyno size"), "{message}");
    let (line, message) = at(&errors, "apps[0].clean[2].dir");
    assert_eq!(line, 15);
    assert!(message.contains("not an absolute path"), "{message}");
    let unknown =
        load_err("[[apps]]\nname = \"shop\"\n\n[[apps.clean]]\ndir = \"/tmp\"\nrecursive = true\n");
    let text = unknown.to_string();
    assert!(text.contains("recursive"), "{text}");
}
