//! `dynopilot exec` and `dynopilot clean` through the real binary against `dynopilot sim`
//! (attach and TLS rendezvous, trusting the simulator's CA): the remote exit status comes
//! back, output is streamed, a timeout stops the dyno; a clean lists exactly the old,
//! non-excluded regular files of the simulated dyno and then removes exactly those, leaving
//! dotfiles, symbolic links and other directories alone; a bad `--dir` starts nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use super::crash::{Sim, get_json, http, start_sim};

const APP: &str = "demo-app-1";
const CA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../dynopilot-sim/src/rendezvous_tls/cert.pem"
);
const DAY: u64 = 86_400;

fn config(dir: &Path, sim: &Sim) -> PathBuf {
    let path = dir.join("dynopilot.toml");
    let text = format!(
        "[heroku]\nbase_url = \"http://{}\"\nrendezvous_ca_file = \"{CA}\"\n",
        sim.addr
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn setup(name: &str) -> (Sim, PathBuf) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sim = start_sim();
    let config = config(&dir, &sim);
    (sim, config)
}

/// `dynopilot SUBCOMMAND --config FILE ARGS…` (the flag before any `--`).
fn dynopilot(sim: &Sim, config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dynopilot"))
        .args(&args[..1])
        .args(["--config", config.to_str().unwrap()])
        .args(&args[1..])
        .env("HEROKU_API_KEY", &sim.token)
        .env_remove("DYNOPILOT_CONFIG")
        .env_remove("DYNOPILOT_RENDEZVOUS_CA")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn applied(sim: &Sim, kind: &str) -> Vec<Value> {
    let path = format!("/_sim/actions?app={APP}&kind={kind}");
    get_json(&sim.addr, &path, "")
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

#[test]
fn exec_streams_output_and_returns_the_remote_exit_status() {
    let (sim, config) = setup("exec-status");
    let ok = dynopilot(
        &sim,
        &config,
        &["exec", "-a", APP, "--", "echo", "hello world"],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout), "hello world\n");
    assert!(
        text(&ok.stderr).contains("on demo-app-1 (Standard-1X)"),
        "{}",
        text(&ok.stderr)
    );

    let three = dynopilot(
        &sim,
        &config,
        &["exec", "-a", APP, "--", "echo before; exit 3; echo never"],
    );
    assert_eq!(three.status.code(), Some(3), "{}", text(&three.stderr));
    assert_eq!(
        text(&three.stdout),
        "before\n",
        "marker stripped, nothing after exit"
    );
    assert!(
        !text(&three.stderr).contains("error"),
        "{}",
        text(&three.stderr)
    );

    let created = applied(&sim, "dyno_create");
    assert_eq!(created.len(), 2, "{created:?}");
    // Both finished: nothing was stopped.
    assert!(applied(&sim, "stop_dyno").is_empty());
}

#[test]
fn exec_timeout_stops_the_dyno() {
    let (sim, config) = setup("exec-timeout");
    let out = dynopilot(
        &sim,
        &config,
        &[
            "exec",
            "-a",
            APP,
            "--timeout",
            "1s",
            "--",
            "echo started; sleep 60",
        ],
    );
    assert_eq!(out.status.code(), Some(124), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "started\n",
        "output streamed before the timeout"
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("timed out after 1s"), "{stderr}");
    let stopped = applied(&sim, "stop_dyno");
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    let created = applied(&sim, "dyno_create");
    assert_eq!(stopped[0]["target"], created[0]["target"]);
    assert!(stderr.contains(&format!(
        "{} was stopped",
        created[0]["target"].as_str().unwrap()
    )));
}

/// The files every new dyno of the app starts with.
fn seed_files(sim: &Sim) {
    let files = json!({"files": [
        {"path": "/tmp/old.log", "size": 100, "age_secs": 3 * DAY},
        {"path": "/tmp/sub/old.bin", "size": 200, "age_secs": 3 * DAY},
        {"path": "/tmp/new.log", "size": 10, "age_secs": 3600},
        {"path": "/tmp/keep.pid", "size": 5, "age_secs": 3 * DAY},
        {"path": "/tmp/keep/old.dat", "size": 7, "age_secs": 3 * DAY},
        {"path": "/tmp/.hidden", "size": 1, "age_secs": 3 * DAY},
        {"path": "/tmp/.cache/blob", "size": 1, "age_secs": 3 * DAY},
        {"path": "/tmp/link", "size": 0, "age_secs": 3 * DAY,
         "symlink_to": "/app/config/database.yml"},
        {"path": "/app/config/database.yml", "size": 50, "age_secs": 3 * DAY},
        {"path": "/app/tmp/old.log", "size": 50, "age_secs": 3 * DAY},
    ]});
    let body = files.to_string();
    let request = format!(
        "PUT /_sim/apps/{APP}/files HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        sim.addr,
        body.len()
    );
    let (status, _, body) = http(&sim.addr, &request).unwrap();
    assert_eq!(status, 200, "{body}");
}

fn dyno_files(sim: &Sim, dyno: &str) -> Vec<String> {
    let files = get_json(
        &sim.addr,
        &format!("/_sim/apps/{APP}/dynos/{dyno}/files"),
        "",
    )
    .unwrap();
    files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect()
}

fn clean(sim: &Sim, config: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "clean",
        "-a",
        APP,
        "--dir",
        "/tmp",
        "--older-than",
        "48h",
        "--exclude",
        "*.pid",
        "--exclude",
        "/tmp/keep/*",
        "--json",
    ];
    args.extend(extra);
    let out = dynopilot(sim, config, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("own filesystem"),
        "{}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn clean_lists_then_removes_exactly_the_old_files_it_may_touch() {
    let (sim, config) = setup("clean-run");
    seed_files(&sim);
    let all: Vec<String> = {
        let mut v: Vec<String> = [
            "/app/config/database.yml",
            "/app/tmp/old.log",
            "/tmp/.cache/blob",
            "/tmp/.hidden",
            "/tmp/keep.pid",
            "/tmp/keep/old.dat",
            "/tmp/link",
            "/tmp/new.log",
            "/tmp/old.log",
            "/tmp/sub/old.bin",
        ]
        .map(str::to_owned)
        .to_vec();
        v.sort();
        v
    };
    let expected = json!([
        {"path": "/tmp/old.log", "bytes": 100},
        {"path": "/tmp/sub/old.bin", "bytes": 200},
    ]);

    let dry = clean(&sim, &config, &["--dry-run"]);
    assert_eq!(dry["files"], expected, "{dry}");
    assert_eq!(
        (dry["file_count"].clone(), dry["bytes"].clone()),
        (json!(2), json!(300))
    );
    assert_eq!(dry["dry_run"], true);
    let dry_dyno = dry["dyno"].as_str().unwrap();
    assert_eq!(dyno_files(&sim, dry_dyno), all, "a dry run removes nothing");

    let real = clean(&sim, &config, &[]);
    assert_eq!(real["files"], expected, "{real}");
    let real_dyno = real["dyno"].as_str().unwrap();
    let left: Vec<String> = all
        .iter()
        .filter(|p| !["/tmp/old.log", "/tmp/sub/old.bin"].contains(&p.as_str()))
        .cloned()
        .collect();
    assert_eq!(dyno_files(&sim, real_dyno), left);

    // Dotfiles only when asked; the symbolic link (and what it points to) never.
    let with_dots = clean(&sim, &config, &["--dry-run", "--include-dotfiles"]);
    let paths: Vec<&str> = with_dots["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/tmp/.cache/blob",
            "/tmp/.hidden",
            "/tmp/old.log",
            "/tmp/sub/old.bin"
        ]
    );
}

#[test]
fn bad_directories_are_refused_before_anything_starts() {
    let (sim, config) = setup("clean-refused");
    for (dir, why) in [
        ("/", "outside the allowed roots"),
        ("/app", "outside the allowed roots"),
        ("/etc", "outside the allowed roots"),
        ("tmp", "not an absolute path"),
        ("/tmp/../app", "`..`"),
        ("/tmp/.cache", "--include-dotfiles"),
    ] {
        let out = dynopilot(
            &sim,
            &config,
            &["clean", "-a", APP, "--dir", dir, "--older-than", "48h"],
        );
        assert_eq!(out.status.code(), Some(1), "{dir}: {}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with("error: ") && stderr.contains(why),
            "{dir}: {stderr}"
        );
        assert!(out.stdout.is_empty());
    }
    let young = dynopilot(
        &sim,
        &config,
        &["clean", "-a", APP, "--dir", "/tmp", "--older-than", "30s"],
    );
    assert_eq!(young.status.code(), Some(1), "{}", text(&young.stderr));
    assert!(
        applied(&sim, "dyno_create").is_empty(),
        "no dyno was created"
    );

    // The useful form for the app's own dynos: printed, nothing started, no app needed.
    let printed = dynopilot(
        &sim,
        &config,
        &[
            "clean",
            "--dir",
            "/tmp",
            "--older-than",
            "2h",
            "--print-command",
        ],
    );
    assert_eq!(printed.status.code(), Some(0), "{}", text(&printed.stderr));
    assert_eq!(
        text(&printed.stdout),
        "find -P /tmp -xdev -type f -mmin +120 ! -path '*/.*' -delete -printf 'dynopilot-clean\\t%s\\t%p\\n'\n"
    );
    assert!(applied(&sim, "dyno_create").is_empty());
}

#[test]
fn config_check_names_each_bad_clean_key() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("clean-config");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clean.toml");
    std::fs::write(
        &path,
        "[[apps]]\nname = \"shop\"\n\n[[apps.clean]]\ndir = \"/app\"\nevery = \"5m\"\n\n\
         [[apps.clean]]\ndir = \"/app/log\"\nolder_than = \"10s\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dynopilot"))
        .args(["config", "check"])
        .arg(&path)
        .env_remove("DYNOPILOT_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    for (key, line, says) in [
        (
            "apps[0].clean[0].dir",
            "clean.toml:5",
            "outside the allowed roots",
        ),
        ("apps[0].clean[0].every", "clean.toml:6", "at least 10m"),
        (
            "apps[0].clean[1].older_than",
            "clean.toml:10",
            "at least 1 minute",
        ),
    ] {
        let found = err
            .lines()
            .any(|l| l.contains(key) && l.contains(line) && l.contains(says));
        assert!(found, "{key} at {line}: {says}\n{err}");
    }
}
