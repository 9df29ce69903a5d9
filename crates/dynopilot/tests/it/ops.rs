//! The operator commands through the real binary, against `dynopilot sim` as Heroku and
//! `dynopilot run` on SQLite: `status --json` says what the dashboard API says, a manual
//! `scale` is journaled with the operator and then held by the manual-override rule, bad
//! input does nothing, a guardrail's block exits 4 until `--force`, and with the daemon down
//! `status` reads the store.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use super::crash::{Sim, free_port, get, get_json, header, start_daemon, start_sim, wait_for};

const APP: &str = "demo-app-1";

fn config(dir: &Path, sim: &Sim, listen: &str) -> PathBuf {
    let path = dir.join("dynopilot.toml");
    let text = format!(
        "[heroku]\nbase_url = \"http://{}\"\n\n[store]\nurl = \"sqlite://{}\"\n\n\
         [server]\nlisten = \"{listen}\"\n\n\
         [[apps]]\nname = \"{APP}\"\nlog_source = \"none\"\n\
         [apps.process_types.web]\nmin = 1\nmax = 4\n",
        sim.addr,
        dir.join("dynopilot.sqlite").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `dynopilot ARGS` against the daemon of `config`.
fn cli(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dynopilot"))
        .args(args)
        .args(["--config", config.to_str().unwrap()])
        .env("DYNOPILOT_OPERATOR", "tester")
        .env_remove("DYNOPILOT_URL")
        .env_remove("DYNOPILOT_TOKEN")
        .env_remove("DYNOPILOT_CONFIG")
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An anonymous loopback session cookie for reading the API directly.
fn cookie(addr: &str) -> String {
    wait_for("the dashboard answers", Duration::from_secs(60), || {
        let (_, head, _) = get(addr, "/api/v1/apps", "")?;
        Some(header(&head, "set-cookie")?.split(';').next()?.to_owned())
    })
}

fn sim_actions(sim: &Sim, kind: &str) -> usize {
    let path = format!("/_sim/actions?app={APP}&kind={kind}");
    get_json(&sim.addr, &path, "")
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0)
}

fn manual_decisions(config: &Path) -> Vec<Value> {
    let out = cli(config, &["decisions", "-a", APP, "--since", "1h", "--json"]);
    json_of(&out)
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["policy"] == "manual")
        .cloned()
        .collect()
}

#[test]
fn operator_commands_against_a_running_daemon() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ops-cli");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sim = start_sim();
    let listen = format!("127.0.0.1:{}", free_port());
    let config = config(&dir, &sim, &listen);
    let daemon = start_daemon(&config, &sim, None);
    let cookie = cookie(&listen);
    // The formation and dyno list come from the first polls.
    let api = wait_for(
        "formation and dynos polled",
        Duration::from_secs(60),
        || {
            let summary = get_json(&listen, &format!("/api/v1/apps/{APP}"), &cookie)?;
            let web = summary["process_types"]
                .as_array()?
                .iter()
                .find(|t| t["process_type"] == "web")?
                .clone();
            (web["quantity"].as_u64().is_some() && web["dynos_up"].as_u64() >= Some(1))
                .then_some(summary)
        },
    );

    // status --json: the dashboard API's view of the app.
    let status = json_of(&cli(&config, &["status", "-a", APP, "--json"]));
    assert_eq!(status["source"], "daemon");
    let summary = &status["apps"][0]["summary"];
    for key in [
        "name",
        "mode",
        "process_types",
        "dynos_total",
        "dollars_per_hour",
    ] {
        assert_eq!(summary[key], api[key], "{key}: {summary} vs {api}");
    }
    let all = json_of(&cli(&config, &["status", "--json"]));
    assert_eq!(all["apps"].as_array().unwrap().len(), 1);
    let ps = json_of(&cli(&config, &["ps", "-a", APP, "--json"]));
    assert_eq!(ps["dynos"][0]["restarts_24h"], 0, "{ps}");

    // Bad input: refused with a clear message, nothing journaled, nothing sent.
    let before = (
        sim_actions(&sim, "formation_update"),
        manual_decisions(&config).len(),
    );
    let cases: [(&[&str], i32, &str); 5] = [
        (
            &["scale", "-a", APP, "web=abc"],
            2,
            "`abc` is not a dyno count",
        ),
        (
            &["scale", "-a", "no-such-app", "web=3"],
            1,
            "no app named no-such-app",
        ),
        (
            &["scale", "-a", APP, "wrk=3"],
            1,
            "has no process type `wrk`",
        ),
        (&["restart", "-a", APP, "web.9"], 1, "has no dyno `web.9`"),
        (&["pause", "-a", APP, "--for", "soon"], 2, "not a span"),
    ];
    for (args, code, message) in cases {
        let out = cli(&config, args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(
        (
            sim_actions(&sim, "formation_update"),
            manual_decisions(&config).len()
        ),
        before,
        "bad input did something"
    );

    // A manual scale: journaled with the operator, carried out, then held by the override.
    let from = api["process_types"][0]["quantity"].as_u64().unwrap();
    let to = if from == 3 { 2 } else { 3 };
    let out = cli(&config, &["scale", "-a", APP, &format!("web={to}")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("queued"));
    let scale = manual_decisions(&config)
        .into_iter()
        .find(|d| d["kind"] == "scale_formation")
        .expect("the manual scale is journaled");
    assert_eq!(scale["action"]["to"], to);
    assert!(
        scale["reason"].as_str().unwrap().contains("(cli: tester)"),
        "{scale}"
    );
    wait_for("the scale lands on Heroku", Duration::from_secs(30), || {
        (sim_actions(&sim, "formation_update") > before.0).then_some(())
    });
    let held = wait_for(
        "the override hold shows in status",
        Duration::from_secs(60),
        || {
            let status = json_of(&cli(&config, &["status", "-a", APP, "--json"]));
            let overrides = status["apps"][0]["summary"]["overrides"]
                .as_array()?
                .clone();
            overrides.into_iter().find(|o| o["process_type"] == "web")
        },
    );
    assert!(held["until"].as_str().is_some(), "{held}");

    // A guardrail's block exits 4 and does nothing; --force carries it out, journaled so.
    let first = cli(&config, &["restart", "-a", APP, "web.1"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let again = cli(&config, &["restart", "-a", APP, "web.1"]);
    assert_eq!(again.status.code(), Some(4), "{}", stderr(&again));
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    let forced = cli(&config, &["restart", "-a", APP, "web.1", "--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    let restarts: Vec<Value> = manual_decisions(&config)
        .into_iter()
        .filter(|d| d["kind"] == "restart_dyno")
        .collect();
    assert_eq!(restarts.len(), 3, "{restarts:?}");
    assert!(
        restarts[0]["reason"]
            .as_str()
            .unwrap()
            .contains("forced past"),
        "{:?}",
        restarts[0]
    );
    assert_eq!(restarts[0]["executed"], true);
    assert_eq!(restarts[1]["executed"], false);

    // A timed pause shows in the mode and is journaled as a control event.
    let pause = cli(&config, &["pause", "-a", APP, "--for", "2h"]);
    assert!(pause.status.success(), "{}", stderr(&pause));
    assert!(String::from_utf8_lossy(&pause.stdout).contains("paused until"));
    let status = json_of(&cli(&config, &["status", "-a", APP, "--json"]));
    assert_eq!(status["apps"][0]["summary"]["mode"], "paused");
    // status shows the pause's end among the holds and the budgets left, as the API has them.
    let summary = wait_for(
        "the restarts count in the budget",
        Duration::from_secs(30),
        || {
            let status = json_of(&cli(&config, &["status", "-a", APP, "--json"]));
            let summary = status["apps"][0]["summary"].clone();
            (summary["guardrails"]["restarts"]["used"].as_u64()? >= 2).then_some(summary)
        },
    );
    let pause_end = summary["holds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "pause" && h["target"] == "app")
        .unwrap_or_else(|| panic!("no pause hold: {summary}"));
    assert!(pause_end["until"].as_str().is_some(), "{pause_end}");
    let restarts = &summary["guardrails"]["restarts"];
    assert_eq!(
        restarts["left"].as_u64().unwrap() + restarts["used"].as_u64().unwrap(),
        restarts["limit"].as_u64().unwrap(),
        "{restarts}"
    );
    assert!(summary["guardrails"]["process_type_restarts"]["web"]["left"].is_u64());
    assert!(summary["alerts_pending"].is_array(), "{summary}");
    let api = get_json(&listen, &format!("/api/v1/apps/{APP}"), &cookie).unwrap();
    for key in ["holds", "guardrails", "alerts_pending"] {
        assert_eq!(summary[key], api[key], "{key}: {summary} vs {api}");
    }
    let text = String::from_utf8_lossy(&cli(&config, &["status", "-a", APP]).stdout).into_owned();
    assert!(text.contains("hold: pause app until"), "{text}");
    assert!(text.contains("budgets (hour): restarts"), "{text}");
    assert!(cli(&config, &["resume", "-a", APP]).status.success());

    // The container health check: 200 from the running daemon.
    let health = cli(&config, &["healthcheck"]);
    assert!(health.status.success(), "{}", stderr(&health));
    assert!(String::from_utf8_lossy(&health.stdout).contains(r#""status":"ok""#));

    // The daemon down: status reads the journal from the store and says so.
    daemon.kill();
    let out = cli(&config, &["status", "-a", APP]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("cannot reach the daemon at http://"),
        "{text}"
    );
    assert!(text.contains("from the store"), "{text}");
    let stored = json_of(&cli(&config, &["status", "-a", APP, "--json"]));
    assert_eq!(stored["source"], "store");
    let decisions = stored["apps"][0]["decisions"].as_array().unwrap();
    assert!(
        decisions.iter().any(|d| d["kind"] == "scale_formation"),
        "{stored}"
    );
    let actions = cli(&config, &["scale", "-a", APP, "web=2"]);
    assert_eq!(actions.status.code(), Some(3), "{}", stderr(&actions));
}

#[test]
fn the_first_start_prints_the_drain_to_add_without_the_secret() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ops-drain-hint");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sim = start_sim();
    let listen = format!("127.0.0.1:{}", free_port());
    let config = config(&dir, &sim, &listen);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("log_source = \"none\"", "log_source = \"drain\"");
    std::fs::write(&config, text).unwrap();
    let secret = "drain-secret-for-the-hint-test-0123456789";
    let mut command = Command::new(env!("CARGO_BIN_EXE_dynopilot"));
    command
        .args(["run", "--config", config.to_str().unwrap()])
        .env("HEROKU_API_KEY", &sim.token)
        .env("DYNOPILOT_DRAIN_SECRET", secret)
        .env("HEROKU_APP_NAME", "my-dynopilot")
        .env("RUST_LOG", "info")
        .env_remove("DYNOPILOT_TEST_PAUSE_AT");
    let daemon = super::crash::Proc::spawn(command);
    let line = daemon.line_with("heroku drains:add", Duration::from_secs(60));
    assert!(
        line.contains(&format!(
            "heroku drains:add \"https://my-dynopilot.herokuapp.com/drain/$DYNOPILOT_DRAIN_SECRET\" -a {APP}"
        )),
        "{line}"
    );
    assert!(!line.contains(secret), "{line}");
}

/// `cli` with `DYNOPILOT_TOKEN` set.
fn cli_with_token(config: &Path, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dynopilot"))
        .args(args)
        .args(["--config", config.to_str().unwrap()])
        .env("DYNOPILOT_OPERATOR", "tester")
        .env("DYNOPILOT_TOKEN", token)
        .env_remove("DYNOPILOT_URL")
        .env_remove("DYNOPILOT_CONFIG")
        .output()
        .unwrap()
}

#[test]
fn the_cli_sends_its_token_as_a_bearer_and_the_scope_decides() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ops-cli-tokens");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sim = start_sim();
    let listen = format!("127.0.0.1:{}", free_port());
    let config = config(&dir, &sim, &listen);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        "\n[[api.tokens]]\nname = \"reader\"\nscopes = [\"read\"]\ntoken = \"read-0123456789\"\n\
         \n[[api.tokens]]\nname = \"deployer\"\nscopes = [\"operate\"]\n\
         token_hash = \"sha256:50d858e0985ecc7f60418aaf0cc5ab587f42c2570a884095a9e8ccacd0f6545c\"\n",
    );
    std::fs::write(&config, text).unwrap();
    let _daemon = start_daemon(&config, &sim, None);
    wait_for("the API answers the token", Duration::from_secs(60), || {
        let (_, head, _) = get(&listen, "/healthz", "")?;
        head.starts_with("HTTP/1.1 200").then_some(())
    });

    let status = cli_with_token(&config, "read-0123456789", &["status", "-a", APP, "--json"]);
    assert_eq!(json_of(&status)["source"], "daemon");
    let refused = cli_with_token(&config, "read-0123456789", &["pause", "-a", APP]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("operate scope"),
        "{}",
        stderr(&refused)
    );
    let unknown = cli_with_token(&config, "guess", &["status", "-a", APP]);
    assert_eq!(unknown.status.code(), Some(5), "{}", stderr(&unknown));

    // The operate token's digest is in the file; its text is `example`.
    let pause = cli_with_token(&config, "example", &["pause", "-a", APP]);
    assert!(pause.status.success(), "{}", stderr(&pause));
    // (Journaled as `token deployer (cli: tester)`: web_security.rs in the server's tests.)
    let status = cli_with_token(&config, "read-0123456789", &["status", "-a", APP, "--json"]);
    assert_eq!(json_of(&status)["apps"][0]["summary"]["mode"], "paused");
}
