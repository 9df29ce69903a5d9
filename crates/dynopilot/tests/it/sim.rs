//! `dynopilot sim --faults` as a user runs it: a bad spec or fault file is refused before
//! anything listens, with the key and where it is, and no backtrace.

use std::path::Path;
use std::process::{Command, Output};

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dynopilot"))
        .arg("sim")
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap()
}

#[test]
fn a_bad_fault_spec_names_the_key_and_column() {
    let cases = [
        (
            "5xx=1.5",
            "--faults, column 1: `5xx`: rate must be between 0 and 1, got 1.5",
        ),
        (
            "latency=10ms,reset=-0.1",
            "--faults, column 14: `reset`: rate must be between 0 and 1, got -0.1",
        ),
        ("latency=fast", "`latency`: bad duration `fast`"),
        (
            "reset=0.1:DELETE apps/*",
            "`pattern`: path pattern `apps/*` must start with `/`",
        ),
        ("drop=0.5", "`drop`: unknown fault"),
        ("5xx=0.1:colour=red", "`colour`: unknown option"),
    ];
    for (spec, expected) in cases {
        let out = sim(&["--faults", spec]);
        assert_eq!(out.status.code(), Some(1), "{spec}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: "), "{spec}: {err}");
        assert!(err.contains(expected), "{spec}: {err}");
        assert!(!err.contains("backtrace"), "{err}");
        assert!(out.stdout.is_empty(), "{spec}: started anyway");
    }
}

#[test]
fn a_bad_fault_rule_in_the_config_file_names_the_line() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sim_cli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sim.toml");
    std::fs::write(
        &path,
        "port = 5999\n[faults]\nrules = [\n  \"reset=0.1\",\n  \"apply-then-fail=2\",\n]\n",
    )
    .unwrap();
    let out = sim(&["--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sim.toml:5 (faults.rules[1]), column 1: `apply-then-fail`: rate must be between 0 and 1, got 2"),
        "{err}"
    );
}
