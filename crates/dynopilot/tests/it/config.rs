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

/// A config for `dynopilot run` with `store_url`, one listed app and a Heroku nobody answers.
fn run_config(name: &str, store_url: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dynopilot.toml");
    let toml = format!(
        "[heroku]\napi_key = \"test-key\"\nbase_url = \"http://127.0.0.1:1\"\n\n\
         [store]\nurl = \"{store_url}\"\n\n[[apps]]\nname = \"shop\"\n"
    );
    std::fs::write(&path, toml).unwrap();
    path
}

fn dynopilot(args: &[&str], config: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dynopilot"))
        .args(args)
        .arg(config)
        .env_clear()
        .env("RUST_LOG", "debug")
        .output()
        .unwrap()
}

#[test]
fn config_show_masks_the_password_inside_the_store_url() {
    let path = run_config(
        "show_url_password",
        "postgres://u:hunter2@h/db?sslmode=require",
    );
    let out = dynopilot(&["config", "show"], &path);
    assert!(out.status.success(), "{out:?}");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("url = \"postgres://u:***@h/db?sslmode=require\""),
        "{shown}"
    );
}

#[test]
fn a_store_that_cannot_be_reached_is_reported_without_its_password() {
    let path = run_config("run_url_password", "postgres://u:hunter2@127.0.0.1:1/db");
    let out = dynopilot(&["run", "--config"], &path);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stderr.contains("opening the store"), "{stderr}");
    assert!(
        !stdout.contains("hunter2") && !stderr.contains("hunter2"),
        "{stdout}\n{stderr}"
    );
}

#[test]
fn a_toml_error_quoting_the_store_url_does_not_print_its_password() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("toml_url_password");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dynopilot.toml");
    std::fs::write(&path, "[store]\nurl = \"postgres://u:hunter2@h/db\" junk\n").unwrap();
    let out = dynopilot(&["config", "check"], &path);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dynopilot.toml"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn run_stops_on_a_damaged_sqlite_store_and_says_how_to_recover() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("run_damaged_store");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("dynopilot.sqlite");
    let url = format!("sqlite://{}", db.display());
    fill_store(&url);
    damage_middle_page(&db);
    let path = run_config("run_damaged_store", &url);

    let out = dynopilot(&["run", "--config"], &path);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown = db.display().to_string();
    assert!(
        stderr.contains(&format!("the SQLite store {shown} is damaged")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("mv {shown} {shown}.damaged")),
        "{stderr}"
    );
    assert!(stderr.contains("What is lost"), "{stderr}");
}

/// A few hundred pages of samples, closed so the WAL is folded into the file.
fn fill_store(url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = dynopilot_store::open(url).await.unwrap();
        let samples = (0..5000_i64)
            .map(|i| dynopilot_store::Sample {
                app: "shop".to_owned(),
                dyno: format!("web.{}", i % 7 + 1),
                instance_id: Some(format!("heroku.{i}.abcdef")),
                at: dynopilot_core::Timestamp::from_millis(1_700_000_000_000 + i * 1000),
                memory_total_mb: Some(200.0),
                memory_rss_mb: Some(180.0),
                memory_swap_mb: Some(0.0),
                memory_quota_mb: Some(512.0),
                load_1m: Some(0.5),
                span: std::time::Duration::ZERO,
                count: 1,
            })
            .collect();
        let batch = dynopilot_store::Batch {
            samples,
            ..Default::default()
        };
        store.write_batch(&batch).await.unwrap();
        store.close().await.unwrap();
    });
}

/// Overwrites the 4 KiB page in the middle of the file with garbage.
fn damage_middle_page(path: &Path) {
    use std::io::{Seek as _, SeekFrom, Write as _};
    const PAGE: u64 = 4096;
    let pages = std::fs::metadata(path).unwrap().len() / PAGE;
    assert!(pages > 20, "store too small: {pages} pages");
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(pages / 2 * PAGE)).unwrap();
    let garbage: Vec<u8> = (0..PAGE).map(|i| (i * 31 % 251) as u8 ^ 0xA5).collect();
    file.write_all(&garbage).unwrap();
    file.sync_all().unwrap();
}

/// `config check --online` against the simulator: the app it knows is ok, the other one is
/// reported by name with what Heroku said, and the check fails before `run` would meet it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_online_reports_an_app_the_key_cannot_see() {
    use std::sync::Arc;

    use dynopilot_core::Clock;
    use dynopilot_sim::config::DEMO_EMAIL;
    use dynopilot_sim::{AppSpec, SimConfig, Simulator};

    let clock: Arc<dyn Clock> = Arc::new(dynopilot_clock::SystemClock);
    let mut sim_config = SimConfig::empty();
    sim_config
        .apps
        .push(AppSpec::plain("shop", DEMO_EMAIL, 1, 0));
    let sim = Simulator::start(sim_config, clock).await.unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("config_online");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("apps.toml");
    let text = format!(
        "[heroku]\napi_key = \"{}\"\nbase_url = \"{}\"\n\n[[apps]]\nname = \"shop\"\n\n[[apps]]\nname = \"ghost\"\n",
        sim.token, sim.base_url
    );
    std::fs::write(&path, text).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_dynopilot"))
            .args(["config", "check", "--online"])
            .arg(&path)
            .env_remove("DYNOPILOT_CONFIG")
            .env_remove("HEROKU_API_KEY")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("app shop: ok"), "{stdout}");
    assert!(
        stdout.contains("app ghost: not_found — no such app visible to this API key"),
        "{stdout}"
    );
    assert!(stderr.contains("1 problem(s) found online"), "{stderr}");
    sim.shutdown();
}
