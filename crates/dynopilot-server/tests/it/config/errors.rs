//! Every kind of problem is reported with its key path and the line it is on, all at once.

use super::{at, load, load_err};

#[test]
fn unknown_keys_are_reported_with_path_and_line_and_all_at_once() {
    let text = r#"dry_run = false

[[apps]]
name = "shop"
memroy_guard = true

[[apps]]
name = "blog"
[apps.process_types.web]
max = 3
mx = 4

[servr]
listen = "127.0.0.1:9000"
"#;
    let errors = load_err(text);
    let (line, message) = at(&errors, "apps[0].memroy_guard");
    assert_eq!(line, 5);
    assert!(message.contains("unknown key `memroy_guard`"), "{message}");
    assert_eq!(at(&errors, "apps[1].process_types.web.mx").0, 11);
    assert_eq!(at(&errors, "servr").0, 13);
    assert_eq!(errors.errors.len(), 3, "{errors}");
}

#[test]
fn display_is_one_line_per_problem_with_file_line_column_and_key() {
    let errors = load_err("[server]\nlisten = \"nowhere\"\n\n[store]\nurl = \"mysql://x\"\n");
    let shown = errors.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 2, "{shown}");
    assert!(
        lines[0].starts_with("dynopilot.toml:2:1: server.listen: `nowhere`"),
        "{shown}"
    );
    assert!(
        lines[1].starts_with("dynopilot.toml:5:1: store.url: "),
        "{shown}"
    );
}

#[test]
fn a_bad_value_type_names_its_key_and_line() {
    let errors = load_err("[drain]\nmax_body_bytes = \"lots\"\n");
    let (line, message) = at(&errors, "drain.max_body_bytes");
    assert_eq!(line, 2);
    assert_eq!(
        message,
        "expected a whole number (0 or more), found \"lots\""
    );
}

#[test]
fn a_syntax_error_is_reported_with_its_line() {
    let errors = load_err("dry_run = true\n[server\nlisten = 1\n");
    assert_eq!(errors.errors.len(), 1, "{errors}");
    assert_eq!(errors.errors[0].line(), Some(2));
}

#[test]
fn policy_problems_of_one_app_all_come_back_with_lines() {
    let text = r#"[[apps]]
name = "shop"
time_zone = "Mars/Olympus"

[apps.process_types.web]
min = 5
max = 2
max_size = "standard-3x"

[[apps.process_types.web.schedule]]
from = "09:00"
to = "17:00"
min = 2
max = 4

[[apps.process_types.web.schedule]]
from = "12:00"
to = "20:00"
min = 2
max = 4

[apps.process_types.worker.memory_guard]
error_window = "5s"
"#;
    let errors = load_err(text);
    assert_eq!(at(&errors, "apps[0].time_zone").0, 3);
    let (line, message) = at(&errors, "apps[0].process_types.web.min");
    assert_eq!(line, 6);
    assert!(message.contains("greater than max"), "{message}");
    let (line, message) = at(&errors, "apps[0].process_types.web.max_size");
    assert_eq!(line, 8);
    assert!(message.contains("unknown dyno size"), "{message}");
    let (line, message) = at(&errors, "apps[0].process_types.web.schedule[1]");
    assert_eq!(line, 16);
    assert!(message.contains("overlaps"), "{message}");
    let (line, message) = at(
        &errors,
        "apps[0].process_types.worker.memory_guard.error_window",
    );
    assert_eq!(line, 23);
    assert!(message.contains("sample period"), "{message}");
}

#[test]
fn duplicate_app_names_point_at_the_second() {
    let errors = load_err("[[apps]]\nname = \"shop\"\n\n[[apps]]\nname = \"shop\"\n");
    let (line, message) = at(&errors, "apps[1].name");
    assert_eq!(line, 5);
    assert!(message.contains("apps[0]"), "{message}");
}

#[test]
fn a_public_bind_without_a_dashboard_password_is_an_error() {
    let errors = load_err("[server]\nlisten = \"0.0.0.0:8080\"\n");
    let (_, message) = at(&errors, "dashboard.password");
    assert!(message.contains("0.0.0.0:8080"), "{message}");
    // A hash, not a plain-text password in the file (config/auth.rs).
    let hash = super::auth::EXAMPLE_HASH;
    let ok = load(&format!(
        "[server]\nlisten = \"0.0.0.0:8080\"\n[dashboard]\npassword_hash = \"{hash}\"\n"
    ));
    assert!(ok.is_ok());
    assert!(load("[server]\nlisten = \"127.0.0.1:8080\"\n").is_ok());
}

#[test]
fn template_problems_are_reported_once_under_discovery_defaults() {
    let text = r#"[discovery.defaults.process_type_defaults.zombie]
no_metrics_for = "10s"

[[apps]]
name = "shop"

[[apps]]
name = "blog"
"#;
    let errors = load_err(text);
    let (line, _) = at(
        &errors,
        "discovery.defaults.process_type_defaults.zombie.no_metrics_for",
    );
    assert_eq!(line, 2);
    assert_eq!(errors.errors.len(), 1, "{errors}");
}

#[test]
fn a_drain_log_source_needs_a_drain_secret() {
    let errors = load_err("[[apps]]\nname = \"shop\"\nlog_source = \"drain\"\n");
    assert!(errors.find("drain.secret").is_some(), "{errors}");
    let short = load_err("[drain]\nsecret = \"abc\"\n");
    assert_eq!(at(&short, "drain.secret").0, 2);
}

#[test]
fn an_invalid_app_name_is_rejected() {
    let errors = load_err("[[apps]]\nname = \"My_App\"\n");
    assert_eq!(at(&errors, "apps[0].name").0, 2);
}

#[test]
fn server_limits_and_allowed_hosts_are_checked_with_their_keys() {
    let text = "[server]\nallowed_hosts = [\"dash.example.com\", \"https://evil.example:443/\"]\n\
                header_timeout = \"0s\"\nmax_header_bytes = 100\nmax_connections = 0\n";
    let errors = load_err(text);
    let (_, message) = at(&errors, "server.allowed_hosts[1]");
    assert!(message.contains("https://evil.example:443/"), "{message}");
    assert!(
        message.contains("without scheme, port or path"),
        "{message}"
    );
    let (line, _) = at(&errors, "server.header_timeout");
    assert_eq!(line, 3);
    let (_, message) = at(&errors, "server.max_header_bytes");
    assert!(message.contains("at least 1024"), "{message}");
    at(&errors, "server.max_connections");
    let ok = load("[server]\nallowed_hosts = [\"Dash.Example.com.\", \"[::1]\"]\n").unwrap();
    assert_eq!(ok.server.allowed_hosts, ["dash.example.com", "[::1]"]);
    assert_eq!(ok.server.http.max_connections_per_client, 128);
}
