//! The deployment files: the systemd unit passes `systemd-analyze verify` and keeps its
//! hardening; `app.json` and the Dockerfile say what docs/deploy.md promises.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap()
}

#[test]
fn the_systemd_unit_verifies_and_keeps_its_hardening() {
    let unit = read("deploy/systemd/dynopilot.service");
    for line in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "StateDirectory=dynopilot",
        "Environment=DATABASE_URL=sqlite:///var/lib/dynopilot/dynopilot.sqlite",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(unit.contains(line), "the unit lost `{}`", line.trim());
    }
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: systemd-analyze is not installed; install systemd to verify the unit");
        return;
    }
    // verify checks that ExecStart exists: point it at the binary under test.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("systemd-unit");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dynopilot.service");
    let exec = format!("ExecStart={} run", env!("CARGO_BIN_EXE_dynopilot"));
    std::fs::write(
        &path,
        unit.replace("ExecStart=/usr/local/bin/dynopilot run", &exec),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("dynopilot.service"), "{err}");
}

#[test]
fn app_json_asks_for_postgres_one_web_dyno_and_describes_every_var() {
    let app: serde_json::Value = serde_json::from_str(&read("app.json")).unwrap();
    assert_eq!(app["stack"], "container");
    assert_eq!(app["formation"]["web"]["quantity"], 1);
    let addons = app["addons"].as_array().unwrap();
    assert!(
        addons
            .iter()
            .any(|a| a["plan"].as_str().unwrap().starts_with("heroku-postgresql"))
    );
    for (name, var) in app["env"].as_object().unwrap() {
        let description = var["description"].as_str().unwrap_or("");
        assert!(description.len() > 20, "{name} has no description");
    }
    assert!(app["env"]["HEROKU_API_KEY"]["required"] == true);
    assert!(read("heroku.yml").contains("web: Dockerfile"));
}

#[test]
fn the_dockerfile_runs_as_a_non_root_user_with_a_healthcheck_on_port() {
    let docker = read("Dockerfile");
    assert!(docker.contains("FROM debian:bookworm-slim"));
    assert!(docker.contains("USER dynopilot"));
    assert!(docker.contains("HEALTHCHECK"));
    assert!(docker.contains(r#"CMD ["dynopilot", "healthcheck"]"#));
    assert!(docker.contains("ENV PORT=8080"));
    let ignore = read(".dockerignore");
    assert!(ignore.lines().any(|l| l == "target"));
}

/// `dynopilot healthcheck` finds the daemon from `PORT` the way the container runs it, and
/// says when nothing answers (exit 3).
#[test]
fn healthcheck_reads_port_and_fails_when_nothing_listens() {
    let port = super::crash::free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_dynopilot"))
        .arg("healthcheck")
        .env("PORT", port.to_string())
        .env("DYNOPILOT_DASHBOARD_PASSWORD", "a-long-enough-password")
        .env_remove("DYNOPILOT_URL")
        .env_remove("DYNOPILOT_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("http://127.0.0.1:{port}")), "{err}");
}
