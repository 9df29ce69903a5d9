//! Credentials in the config: off loopback a password hash, an env password or API tokens are
//! required, a plain-text password in the file is refused, and tokens are checked.

use dynopilot_server::config::Config;

use super::{at, env, load, load_err};

/// Argon2id of `example` (the same as in `dynopilot.example.toml`).
pub const EXAMPLE_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$ZHlub3BpbG90LWV4YW1wbGU$TV5WUeCtEkSm38NzzbOg3d/X/s0B5esnnJ3w2tOlqxk";

#[test]
fn off_loopback_without_credentials_the_config_names_the_keys() {
    let errors = load_err("[server]\nlisten = \"0.0.0.0:8080\"\n");
    let (_, message) = at(&errors, "dashboard.password");
    assert!(
        message.contains("reachable from other machines")
            && message.contains("dashboard.password_hash")
            && message.contains("DYNOPILOT_DASHBOARD_PASSWORD")
            && message.contains("[[api.tokens]]"),
        "{message}"
    );
}

#[test]
fn a_plain_password_in_the_file_is_refused_off_loopback_but_not_from_the_env() {
    let text = "[server]\nlisten = \"0.0.0.0:8080\"\n[dashboard]\npassword = \"hunter22\"\n";
    let errors = load_err(text);
    let (line, message) = at(&errors, "dashboard.password");
    assert_eq!(line, 4);
    assert!(
        message.contains("password_hash") && message.contains("hash-password"),
        "{message}"
    );
    // On loopback the file may hold it.
    load("[dashboard]\npassword = \"hunter22\"\n").unwrap();
    // From the environment (a Heroku config var) it is accepted off loopback.
    let vars = env(&[("PORT", "5000"), ("DYNOPILOT_DASHBOARD_PASSWORD", "pw")]);
    let c = Config::load("", "t.toml", &vars).unwrap();
    assert!(c.dashboard.credentials().is_some());
}

#[test]
fn a_password_hash_opens_a_public_listen_address_and_bad_hashes_are_named() {
    let text = format!(
        "[server]\nlisten = \"0.0.0.0:8080\"\n[dashboard]\npassword_hash = \"{EXAMPLE_HASH}\"\n"
    );
    let c = load(&text).unwrap();
    let credentials = c.dashboard.credentials().unwrap();
    assert!(credentials.password.matches("example"));
    assert!(!credentials.password.matches("Example"));

    let errors = load_err("[dashboard]\npassword_hash = \"hunter22\"\n");
    let (line, message) = at(&errors, "dashboard.password_hash");
    assert_eq!(line, 2);
    assert!(message.contains("not a PHC hash"), "{message}");
}

#[test]
fn api_tokens_alone_are_credentials_and_each_entry_is_checked() {
    let text = r#"[server]
listen = "0.0.0.0:8080"

[[api.tokens]]
name = "ci"
scopes = ["read"]
token_hash = "sha256:50d858e0985ecc7f60418aaf0cc5ab587f42c2570a884095a9e8ccacd0f6545c"
"#;
    let c = load(text).unwrap();
    assert_eq!(c.api.tokens.len(), 1);
    assert!(c.api.tokens[0].can_read() && !c.api.tokens[0].can_operate());

    let bad = r#"
[[api.tokens]]
name = "ci"
scopes = []
token = "x-0123456789"

[[api.tokens]]
name = "ci"
scopes = ["operate"]
token_hash = "sha256:abc"

[[api.tokens]]
name = "ops"
scopes = ["admin"]
"#;
    let errors = load_err(bad);
    let text = errors.to_string();
    assert!(text.contains("`admin`") || text.contains("admin"), "{text}");
}

#[test]
fn api_token_entries_report_scopes_names_and_hashes() {
    let bad = r#"
[[api.tokens]]
name = "ci"
scopes = []
token = "x-0123456789"

[[api.tokens]]
name = "ci"
scopes = ["operate"]
token_hash = "sha256:abc"

[[api.tokens]]
name = "ops"
scopes = ["metrics"]
"#;
    let errors = load_err(bad);
    assert!(
        at(&errors, "api.tokens[0].scopes")
            .1
            .contains("at least one")
    );
    assert!(
        at(&errors, "api.tokens[1].name")
            .1
            .contains("another token")
    );
    assert!(at(&errors, "api.tokens[1].token_hash").1.contains("64"));
    assert!(
        at(&errors, "api.tokens[2].token_hash")
            .1
            .contains("required")
    );
}
