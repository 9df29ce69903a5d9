//! `dynopilot analyze` on the shipped sample, on drain captures, on stdin, and on bad input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dynopilot"))
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/heroku-logs.txt")
}

fn analyze(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = bin()
        .arg("analyze")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or_default()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("analyze");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn summary_of_the_shipped_sample_shows_the_leak_and_its_crash() {
    let out = text(&analyze(&[sample().to_str().unwrap()], None));
    let web2 = out
        .lines()
        .find(|l| l.trim_start().starts_with("web.2 "))
        .expect("web.2 row");
    assert!(web2.contains("over quota"), "{web2}");
    assert!(out.contains("R15") && out.contains("Memory quota vastly exceeded"));
    assert!(out.contains("web.2          crashed (was up)"), "{out}");
    assert!(out.contains("release v40 by deploys@example.com"));
    assert!(out.contains("scaled to web=4×Standard-1X worker=2×Standard-1X"));
    assert!(out.contains("service p50 "), "{out}");
    assert!(out.contains("Input problems\n  none"), "{out}");
    let crash = out.find("crashed (was up)").unwrap();
    let release = out.find("release v40").unwrap();
    assert!(crash < release, "timeline is in time order");
}

#[test]
fn drain_capture_and_text_give_the_same_counts() {
    let frames = concat!(
        "267 <158>1 2020-01-08T22:33:57.353034+00:00 host heroku router - at=info method=GET path=\"/cart_link\" host=lumberjack-store.timber.io request_id=05726858-c44e-4f94-9a20-37df73be9006 fwd=\"73.75.38.87\" dyno=web.1 connect=1ms service=22ms status=304 bytes=656 protocol=http\n",
        "84 <45>1 2020-01-08T22:34:00.000000+00:00 host heroku web.1 - Error R14 (Memory quota exceeded)\n",
    );
    let lines = concat!(
        "2020-01-08T22:33:57.353034+00:00 heroku[router]: at=info method=GET path=\"/cart_link\" host=lumberjack-store.timber.io request_id=05726858-c44e-4f94-9a20-37df73be9006 fwd=\"73.75.38.87\" dyno=web.1 connect=1ms service=22ms status=304 bytes=656 protocol=http\n",
        "2020-01-08T22:34:00.000000+00:00 heroku[web.1]: Error R14 (Memory quota exceeded)\n",
    );
    let a = text(&analyze(
        &[tmp("drain.bin", frames.as_bytes()).to_str().unwrap()],
        None,
    ));
    let b = text(&analyze(&["-"], Some(lines.as_bytes())));
    for out in [&a, &b] {
        assert!(out.contains("2 log entries"), "{out}");
        assert!(
            out.contains("web          1 requests  2xx 0  3xx 1"),
            "{out}"
        );
        assert!(out.contains("R14            1"), "{out}");
    }
}

#[test]
fn json_has_the_documented_keys_and_fields() {
    let out = text(&analyze(&["--json", sample().to_str().unwrap()], None));
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows.len(),
        std::fs::read_to_string(sample()).unwrap().lines().count()
    );
    for row in &rows {
        for key in [
            "kind",
            "timestamp",
            "source",
            "process",
            "dyno",
            "message",
            "fields",
        ] {
            assert!(row.get(key).is_some(), "{key} missing in {row}");
        }
    }
    let router = rows.iter().find(|r| r["kind"] == "router").unwrap();
    assert_eq!(router["source"], "heroku");
    assert_eq!(router["process"], "router");
    assert!(router["fields"]["service_ms"].is_number());
    assert_eq!(router["fields"]["tls_version"], serde_json::Value::Null);
    let memory = rows
        .iter()
        .find(|r| r["kind"] == "memory" && r["fields"]["memory_quota_mb"] == 512.0)
        .unwrap();
    assert!(
        memory["fields"]["dyno_id"]
            .as_str()
            .unwrap()
            .starts_with("heroku.")
    );
    assert_eq!(memory["dyno"], memory["process"]);
    let scale = rows.iter().find(|r| r["kind"] == "scale").unwrap();
    assert_eq!(scale["fields"]["formation"]["web"]["quantity"], 4);
    assert_eq!(
        scale["fields"]["formation"]["worker"]["size"],
        "Standard-1X"
    );
    let state = rows
        .iter()
        .find(|r| r["kind"] == "state" && r["fields"]["event"] == "exited")
        .unwrap();
    assert!(state["fields"]["status"].is_number());
    let release = rows
        .iter()
        .find(|r| r["kind"] == "release" && r["fields"]["event"] == "release")
        .unwrap();
    assert_eq!(release["fields"]["version"], 40);
    let l2met = rows.iter().find(|r| r["kind"] == "l2met").unwrap();
    assert!(
        l2met["fields"]["metrics"]
            .as_object()
            .unwrap()
            .values()
            .all(|m| m["unit"].is_string())
    );
}

#[test]
fn bad_input_is_counted_and_never_stops_the_run() {
    let mut bytes = std::fs::read(sample()).unwrap();
    bytes.truncate(bytes.len() / 2);
    let mut bad = Vec::new();
    bad.extend_from_slice(b"2024-01-01T00:00:00+00:00 app[web.1]: caf\xc3\x28 invalid utf8\n");
    bad.extend_from_slice(b"\x00\x01\x02 binary garbage \xff\xfe\n");
    bad.extend(std::iter::repeat_n(b'x', 3 << 20));
    bad.extend_from_slice(b"\n");
    bad.extend_from_slice(&bytes);
    bad.extend_from_slice(b"2024-01-01T00:00:00+00:00 heroku[web.1]: Error R14 (Memory quo");
    let out = text(&analyze(&[tmp("bad.txt", &bad).to_str().unwrap()], None));
    assert!(out.contains("1 line(s) that are not log lines"), "{out}");
    assert!(out.contains("1 line(s) over 1 MB"), "{out}");
    assert!(
        out.contains("1 message(s) that are not valid UTF-8"),
        "{out}"
    );
    assert!(out.contains("Requests by process type"));
}

#[test]
fn garbage_drain_capture_reports_framing_issues() {
    let mut bytes = b"119 <40>1 2012-11-30T06:45:29+00:00 heroku web.3 d.73ea7440-270a-435a-a0ea-adf50b4e5f5a - State changed from up to crashed\n".to_vec();
    bytes.extend_from_slice(b"\xff\xfe not a frame at all ");
    bytes.extend_from_slice(b"999 <45>1 2012-11-30T06:45:30+00:00 host heroku web.3 - truncated");
    let out = text(&analyze(
        &[tmp("garbage.drain", &bytes).to_str().unwrap()],
        None,
    ));
    assert!(out.contains("2 log entries"), "{out}");
    assert!(out.contains("2 drain framing issue(s)"), "{out}");
    assert!(out.contains("web.3          crashed (was up)"), "{out}");
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = analyze(&["/no/such/file.log"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open /no/such/file.log"), "{err}");
}

#[test]
fn a_directory_is_a_clear_error_and_exits_non_zero() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("analyze-dir");
    std::fs::create_dir_all(&dir).unwrap();
    let out = analyze(&[dir.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("it is a directory"), "{err}");
    assert!(err.contains(dir.to_str().unwrap()), "{err}");
}

#[test]
fn an_unreadable_file_is_a_clear_error_and_exits_non_zero() {
    let path = tmp("unreadable.log", b"x\n");
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o000);
    std::fs::set_permissions(&path, perms).unwrap();
    if std::fs::File::open(&path).is_ok() {
        println!("skipped: running as root, a mode-000 file is still readable");
        return;
    }
    let out = analyze(&[path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open") && err.contains("unreadable.log"),
        "{err}"
    );
}

#[test]
fn no_progress_bar_when_output_is_not_a_terminal() {
    // 40 MB of lines: above the size that shows a bar on a terminal.
    let line = "2026-03-01T12:00:00.000000+00:00 app[web.1]: hello\n";
    let big = line.repeat(40 * 1024 * 1024 / line.len() + 1);
    let path = tmp("big.log", big.as_bytes());
    let out = analyze(&[path.to_str().unwrap()], None);
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_progress_bar_on_a_large_file_in_a_terminal() {
    // `script` runs the command on a pseudo-terminal: stdout and stderr are then terminals.
    if Command::new("script").arg("--version").output().is_err() {
        println!("skipped: `script` (util-linux) is not installed; install it to run this test");
        return;
    }
    let line = "2026-03-01T12:00:00.000000+00:00 app[web.1]: hello\n";
    let big = line.repeat(40 * 1024 * 1024 / line.len() + 1);
    let path = tmp("big-tty.log", big.as_bytes());
    let command = format!(
        "{} analyze {}",
        env!("CARGO_BIN_EXE_dynopilot"),
        path.display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("TERM", "xterm")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success());
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(screen.contains("big-tty.log ["), "{screen}");
    assert!(screen.contains("MiB"), "{screen}");
}
