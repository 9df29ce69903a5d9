//! Secrets never print: not in `Debug`, not in errors, not in `config show`.

use dynopilot_server::config::Config;

use super::env;

const SECRETS: [&str; 4] = [
    "hk-very-secret",
    "drainsecret0123456789",
    "dash-pw",
    "db-pw",
];

fn with_secrets() -> Config {
    let file = r#"[heroku]
api_key = "hk-very-secret"

[drain]
secret = "drainsecret0123456789"

[[apps]]
name = "shop"
[apps.process_types.web]
max = 4
"#;
    let vars = env(&[
        ("DYNOPILOT_DASHBOARD_PASSWORD", "dash-pw"),
        ("DATABASE_URL", "postgres://dynopilot:db-pw@db.internal/x"),
    ]);
    Config::load(file, "dynopilot.toml", &vars).unwrap()
}

#[test]
fn debug_masks_every_secret() {
    let debug = format!("{:?}", with_secrets());
    for s in SECRETS {
        assert!(!debug.contains(s), "{s} leaked in Debug");
    }
    assert!(debug.contains("***"));
}

#[test]
fn show_masks_secrets_and_says_where_values_came_from() {
    let shown = with_secrets().show();
    for s in SECRETS {
        assert!(!shown.contains(s), "{s} leaked in show:\n{shown}");
    }
    assert!(shown.contains("api_key = \"***\"  # file"), "{shown}");
    assert!(
        shown.contains("password = \"***\"  # env DYNOPILOT_DASHBOARD_PASSWORD"),
        "{shown}"
    );
    assert!(
        shown.contains("url = \"postgres://dynopilot:***@db.internal/x\"  # env DATABASE_URL"),
        "{shown}"
    );
    assert!(
        shown.contains("listen = \"127.0.0.1:8080\"  # default"),
        "{shown}"
    );
    assert!(
        shown.contains("log_source = \"drain\""),
        "a drain secret makes drain the default"
    );
}

#[test]
fn show_output_is_toml_that_loads_back_to_the_same_apps() {
    let c = with_secrets();
    let shown = c.show();
    // Masked secrets are unusable: drop them and pass the real ones through env.
    let unmasked: String = shown
        .lines()
        .filter(|l| !l.contains("***"))
        .map(|l| format!("{l}\n"))
        .collect();
    let vars = env(&[
        ("DYNOPILOT_DASHBOARD_PASSWORD", "x"),
        ("DYNOPILOT_DRAIN_SECRET", "drainsecret0123456789"),
    ]);
    let again =
        Config::load(&unmasked, "shown.toml", &vars).unwrap_or_else(|e| panic!("{e}\n{unmasked}"));
    assert_eq!(again.apps, c.apps);
    assert_eq!(again.server.listen, c.server.listen);
}
