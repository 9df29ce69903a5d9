//! `dynopilot backtest` through the real binary: the table, byte-identical `--json` for one
//! seed, charts written as SVG and PNG, and bad input named in the error (the CSV line, a
//! negative or missing rate, an empty store range).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dynopilot"))
}

fn flash_crowd() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/traces/flash-crowd.csv")
        .display()
        .to_string()
}

fn dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("backtest")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Two hours around the crowd, rescaled to the reference peak, two policies and the oracle.
fn backtest(extra: &[&str]) -> Output {
    let trace = flash_crowd();
    bin()
        .args(["backtest", "--trace", &trace])
        .args(["--from-s", "5400", "--to-s", "9000", "--peak-dynos", "20"])
        .args(["--policy", "dynopilot", "--policy", "heroku-native"])
        .args(extra)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn failure(args: &[&str]) -> String {
    let out = bin().arg("backtest").args(args).output().unwrap();
    assert!(
        !out.status.success(),
        "should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn the_table_has_a_row_per_policy_and_the_oracle() {
    let out = stdout(&backtest(&[]));
    assert!(out.starts_with("trace flash-crowd (1.0 h, "), "{out}");
    assert!(out.contains("late = queue wait > 100 ms"), "{out}");
    let header = out.lines().nth(1).unwrap();
    for column in [
        "policy", "cost $", "dyno-h", "late %", "p95 ms", "H12", "×oracle",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let rows: Vec<&str> = out.lines().skip(2).filter(|l| !l.is_empty()).collect();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, ["dynopilot", "heroku-native", "oracle"], "{out}");
    let oracle_ratio = rows[2].split_whitespace().last().unwrap();
    assert_eq!(oracle_ratio, "1.00");
}

#[test]
fn json_is_byte_identical_for_one_seed_in_both_fidelities() {
    let fast = stdout(&backtest(&["--json", "--seed", "7"]));
    assert_eq!(fast, stdout(&backtest(&["--json", "--seed", "7"])));
    let parsed: serde_json::Value = serde_json::from_str(&fast).unwrap();
    let rows = parsed[0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2]["policy"], "oracle");
    assert_eq!(parsed[0]["fidelity"], "fast");
    // Exact draws every request from the seed: ten minutes are enough to show it.
    let exact = |seed: &str| {
        let trace = flash_crowd();
        let out = bin()
            .args([
                "backtest",
                "--trace",
                &trace,
                "--to-s",
                "600",
                "--peak-rps",
                "60",
            ])
            .args(["--policy", "dynopilot", "--fidelity", "exact", "--json"])
            .args(["--seed", seed])
            .output()
            .unwrap();
        stdout(&out)
    };
    let first = exact("3");
    assert_eq!(first, exact("3"));
    assert_ne!(first, exact("4"), "another seed draws other requests");
}

#[test]
fn charts_are_written_as_svg_and_png() {
    let dir = dir("charts");
    let out = backtest(&["--charts", dir.to_str().unwrap()]);
    stdout(&out);
    for stem in [
        "flash-crowd-dynopilot",
        "flash-crowd-heroku-native",
        "flash-crowd-oracle",
        "flash-crowd-overview",
    ] {
        for ext in ["svg", "png"] {
            let path = dir.join(format!("{stem}.{ext}"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                bytes.len() > 1_000,
                "{} is {} bytes",
                path.display(),
                bytes.len()
            );
            if ext == "png" {
                assert_eq!(&bytes[1..4], b"PNG", "{}", path.display());
            } else {
                assert!(String::from_utf8_lossy(&bytes).contains("<svg"));
            }
        }
    }
}

#[test]
fn a_bad_csv_row_is_named_by_its_line() {
    let dir = dir("bad-csv");
    let write = |name: &str, body: &str| {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        path.display().to_string()
    };
    let bad = write("bad.csv", "t_seconds,requests_per_second\n0,10\n60,abc\n");
    let err = failure(&["--trace", &bad]);
    assert!(
        err.contains("trace line 3: `abc` is not a number of requests per second"),
        "{err}"
    );
    assert!(err.contains("bad.csv"), "the file is named too: {err}");
    let negative = write("negative.csv", "0,10\n60,-3\n");
    let err = failure(&["--trace", &negative]);
    assert!(
        err.contains("trace line 2: rate -3 must be a finite number ≥ 0"),
        "{err}"
    );
    let missing = write("missing.csv", "0,10\n60,\n120,4\n");
    let err = failure(&["--trace", &missing]);
    assert!(err.contains("trace line 2: the rate is missing"), "{err}");
    let err = failure(&[
        "--trace",
        &write("empty.csv", "t_seconds,requests_per_second\n"),
    ]);
    assert!(err.contains("trace: no data rows"), "{err}");
}

#[test]
fn an_empty_store_range_says_there_is_no_history_for_the_app() {
    let dir = dir("store");
    let url = format!("sqlite://{}", dir.join("dynopilot.sqlite").display());
    let err = failure(&[
        "--from-store",
        "--app",
        "shop",
        "--since",
        "2h",
        "--store",
        &url,
    ]);
    assert!(
        err.contains("no history for app `shop` in that range"),
        "{err}"
    );
}
