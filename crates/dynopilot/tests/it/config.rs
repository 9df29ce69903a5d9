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
    assert!(
        stderr.contains("1 app(s) cannot be watched with this API key"),
        "{stderr}"
    );
    sim.shutdown();
}
