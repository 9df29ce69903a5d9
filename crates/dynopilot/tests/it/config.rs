//! `dynopilot config check` as a user runs it: problems name the key and line, exit non-zero,
//! and never turn into a backtrace.

use std::path::Path;
use std::process::Command;

#[test]
fn a_bad_config_names_key_and_line_without_a_backtrace() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("config_cli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "[store]\nurl = 42\n").unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_dynopilot"))
        .args(["config", "check"])
        .arg(&path)
        .env("RUST_BACKTRACE", "1")
        .env_remove("DYNOPILOT_CONFIG")
        .output()
        .unwrap();

    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("store.url"), "{err}");
    assert!(err.contains("bad.toml:2"), "{err}");
    assert!(
        err.contains("error: the configuration has 1 problem(s)"),
        "{err}"
    );
    assert!(!err.contains("Stack backtrace"), "{err}");
}
