//! `dynopilot alert test` and `config check` of `[alerts]`, as a user runs them: each channel's
//! outcome on its own line, a non-zero exit when one failed, bad channels named by key and line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn write_config(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dynopilot.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn dynopilot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dynopilot"))
        .args(args)
        .env_remove("DYNOPILOT_CONFIG")
        .output()
        .unwrap()
}

/// A port on loopback where nothing listens.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn alert_test_reports_each_channel_and_fails_when_one_failed() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("alert_test_cli");
    std::fs::create_dir_all(&dir).unwrap();
    let stdin_file = dir.join("hook-stdin.json");
    let _ = std::fs::remove_file(&stdin_file);
    let text = format!(
        r#"
[alerts.channels.on-alert]
type = "hook"
command = ["/bin/sh", "-c", "cat > {stdin}"]

[alerts.channels.audit]
type = "webhook"
url = "http://127.0.0.1:{port}/in?token=SECRETTOKEN1"
secret = "signing-secret-1"
"#,
        stdin = stdin_file.display(),
        port = closed_port()
    );
    let path = write_config("alert_test_cli", &text);
    let config = path.to_str().unwrap();

    let out = dynopilot(&["alert", "test", "-c", config]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0], "audit     webhook failed: connection refused");
    assert_eq!(lines[1], "on-alert  hook sent (exit status 0)");
    assert!(
        stderr.contains("error: 1 of 2 channel(s) failed"),
        "{stderr}"
    );
    assert!(!stdout.contains("SECRETTOKEN1") && !stderr.contains("SECRETTOKEN1"));
    let sent: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stdin_file).unwrap()).unwrap();
    assert_eq!(sent["schema"], "dynopilot.alert.v1");
    assert_eq!(sent["topic"], "test");

    let one = dynopilot(&["alert", "test", "--channel", "on-alert", "-c", config]);
    assert_eq!(one.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&one.stdout),
        "on-alert  hook sent (exit status 0)\n"
    );

    let unknown = dynopilot(&["alert", "test", "--channel", "pager", "-c", config]);
    assert_eq!(unknown.status.code(), Some(1));
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        err.contains("no channel named `pager` (configured: audit, on-alert)"),
        "{err}"
    );
}

#[test]
fn config_check_names_key_and_line_of_each_bad_channel_and_rule() {
    let text = r#"[[apps]]
name = "shop"

[[apps.rules]]
name = "timeouts"
[apps.rules.condition]
type = "codes"
codes = ["H12"]
at_least = 3
window = "5m"
[[apps.rules.actions]]
type = "webhook"
name = "pager"

[alerts.channels.ops]
type = "email"
host = "smtp.example.com"
from = "alerts@example.com"
to = ["ops at example.com"]
"#;
    let path = write_config("alert_config_check", text);
    let out = dynopilot(&["config", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "dynopilot.toml:13:1: apps[0].rules[0].actions[0].name: `pager` is not a configured alert channel (configured: ops)"
        ),
        "{err}"
    );
    assert!(
        err.contains("dynopilot.toml:19:7: alerts.channels.ops.to[0]: `ops at example.com` is not an email address"),
        "{err}"
    );
    assert!(
        err.contains("error: the configuration has 2 problem(s)"),
        "{err}"
    );

    let unknown = write_config(
        "alert_config_unknown",
        "[alerts.channels.owl]\ntype = \"carrier-pigeon\"\n",
    );
    let out = dynopilot(&["config", "check", unknown.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("alerts.channels.owl"), "{err}");
    assert!(err.contains("unknown value `carrier-pigeon`"), "{err}");
}
