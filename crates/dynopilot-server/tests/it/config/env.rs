//! Environment overrides: every entry of the table applies, env beats the file, bad values are
//! reported by variable, and env alone gives a working Heroku default.

use std::net::SocketAddr;

use dynopilot_server::config::{AppOrigin, Config, ENV_OVERRIDES, LogSource, Origin, StoreBackend};

use super::{at, env};

/// A valid value for each overridable variable (the test fails if the table grows without one).
fn sample(var: &str) -> &'static str {
    match var {
        "PORT" => "5000",
        "DATABASE_URL" => "postgres://u:pw@db.internal:5432/dynopilot",
        "HEROKU_API_KEY" => "hk-secret",
        "DYNOPILOT_DRAIN_SECRET" => "0123456789abcdef0123",
        "DYNOPILOT_DASHBOARD_USERNAME" => "ops",
        "DYNOPILOT_DASHBOARD_PASSWORD" => "pw",
        "DYNOPILOT_DASHBOARD_PASSWORD_HASH" => super::auth::EXAMPLE_HASH,
        "DYNOPILOT_DRY_RUN" => "true",
        "DYNOPILOT_APPS" => "shop, blog",
        "DYNOPILOT_LOG_SOURCE" => "none",
        "DYNOPILOT_RESTART_REQUEST_TOKEN" => "restart-token-0123456789",
        other => panic!("no sample value for {other}: add one"),
    }
}

#[test]
fn every_entry_of_the_table_is_applied_and_recorded_as_its_origin() {
    for &(var, key, description) in ENV_OVERRIDES {
        assert!(!description.is_empty());
        if key.is_empty() {
            continue; // DYNOPILOT_CONFIG names the file; `load_file` reads it.
        }
        // The password keeps PORT's public bind valid.
        let vars = env(&[(var, sample(var)), ("DYNOPILOT_DASHBOARD_PASSWORD", "pw")]);
        let c = Config::load("", "t.toml", &vars).unwrap_or_else(|e| panic!("{var}: {e}"));
        if key != "apps" {
            assert_eq!(c.origin(key), Origin::Env(var), "{var}");
        }
    }
}

#[test]
fn env_values_land_in_the_config_and_beat_the_file() {
    let file =
        "dry_run = false\n[server]\nlisten = \"127.0.0.1:1\"\n[store]\nurl = \"sqlite://x.db\"\n";
    let vars = env(&[
        ("PORT", "5000"),
        ("DATABASE_URL", "postgres://u:pw@db/x"),
        ("HEROKU_API_KEY", "hk"),
        ("DYNOPILOT_DRAIN_SECRET", "0123456789abcdef"),
        ("DYNOPILOT_DASHBOARD_USERNAME", "ops"),
        ("DYNOPILOT_DASHBOARD_PASSWORD", "pw"),
        ("DYNOPILOT_DRY_RUN", "yes"),
        ("DYNOPILOT_APPS", "shop,blog,shop"),
        ("DYNOPILOT_LOG_SOURCE", "log_session"),
    ]);
    let c = Config::load(file, "t.toml", &vars).unwrap();
    assert_eq!(
        c.server.listen,
        "0.0.0.0:5000".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.store.url.expose(), "postgres://u:pw@db/x");
    assert_eq!(c.store.backend, StoreBackend::Postgres);
    assert_eq!(c.heroku.api_key.as_ref().unwrap().expose(), "hk");
    assert_eq!(
        c.drain.secret.as_ref().unwrap().expose(),
        "0123456789abcdef"
    );
    assert_eq!(c.dashboard.username, "ops");
    assert_eq!(c.dashboard.password.as_ref().unwrap().expose(), "pw");
    assert!(c.dry_run);
    let names: Vec<&str> = c.apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["shop", "blog"]);
    assert!(c.apps.iter().all(|a| a.origin == AppOrigin::Env));
    assert!(c.apps.iter().all(|a| a.log_source == LogSource::LogSession));
    assert!(c.apps.iter().all(|a| a.resolved.policy.guardrails.dry_run));
    assert!(
        !c.discovery.enabled,
        "listing apps turns discovery off by default"
    );
    assert_eq!(c.origin("server.listen"), Origin::Env("PORT"));
    assert_eq!(c.origin("store.raw_retention"), Origin::Default);
}

#[test]
fn bad_env_values_are_reported_by_variable_with_the_file_problems() {
    let vars = env(&[("DYNOPILOT_DRY_RUN", "maybe"), ("PORT", "http")]);
    let errors = Config::load("[server]\nlistn = 1\n", "t.toml", &vars).unwrap_err();
    let shown = errors.to_string();
    assert!(
        shown.contains("env DYNOPILOT_DRY_RUN: dry_run: DYNOPILOT_DRY_RUN=maybe"),
        "{shown}"
    );
    assert!(
        shown.contains("env PORT: server.listen: PORT=http"),
        "{shown}"
    );
    assert_eq!(at(&errors, "server.listn").0, 2);
}

#[test]
fn heroku_env_alone_manages_every_app_with_memory_guard_and_zombie_restart() {
    let vars = env(&[
        ("HEROKU_API_KEY", "hk"),
        ("PORT", "31337"),
        ("DATABASE_URL", "postgres://u:pw@db/x"),
        ("DYNOPILOT_DASHBOARD_PASSWORD", "pw"),
    ]);
    let c = Config::from_env(&vars).unwrap();
    assert!(c.discovery.enabled);
    assert!(c.apps.is_empty());
    assert_eq!(c.discovery.log_source, LogSource::LogSession);
    let app = c.app("any-app").unwrap();
    assert_eq!(app.origin, AppOrigin::Discovered);
    let policy = app.policy_for(["web", "worker"]);
    assert_eq!(policy.app, "any-app");
    for ty in ["web", "worker"] {
        let pt = &policy.process_types[ty];
        assert!(pt.memory_guard.is_some(), "{ty}");
        assert!(pt.zombie.is_some(), "{ty}");
        assert!(pt.autoscale.is_none(), "{ty}: nothing scales by default");
    }
    assert!(!policy.guardrails.dry_run);
}

#[test]
fn a_public_port_from_env_without_a_password_is_blamed_on_the_env() {
    let errors = Config::from_env(&env(&[("PORT", "5000")])).unwrap_err();
    let (_, message) = at(&errors, "dashboard.password");
    assert!(
        message.contains("DYNOPILOT_DASHBOARD_PASSWORD"),
        "{message}"
    );
}

#[test]
fn load_file_reads_the_path_named_by_dynopilot_config() {
    let dir = std::env::temp_dir().join(format!("dynopilot-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("d.toml");
    std::fs::write(&path, "dry_run = true\n").unwrap();
    let vars = env(&[("DYNOPILOT_CONFIG", path.to_str().unwrap())]);
    let c = Config::load_file(None, &vars).unwrap();
    assert!(c.dry_run);
    assert_eq!(c.source, path.display().to_string());
    let missing = Config::load_file(Some(&dir.join("nope.toml")), &vars).unwrap_err();
    assert!(missing.to_string().contains("cannot read"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}
