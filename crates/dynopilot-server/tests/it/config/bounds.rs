//! Explicit bounds in the file (issue 13): autoscale without `max`, resize windows with a bad
//! day or time, and a weak restart-request token are errors naming their key and line.

use super::{at, load, load_err};

#[test]
fn autoscale_without_max_names_the_key_and_the_line() {
    let text = r#"[[apps]]
name = "shop"

[apps.process_types.web.autoscale]
algorithm = "target"
target = 100.0

[apps.process_types.worker]
min = 0

[apps.process_types.worker.autoscale]
algorithm = "queue"
"#;
    let errors = load_err(text);
    let (line, message) = at(&errors, "apps[0].process_types.web.max");
    assert_eq!(line, 4, "{errors}");
    assert!(
        message.contains("required when autoscale is set"),
        "{message}"
    );
    let (line, _) = at(&errors, "apps[0].process_types.worker.max");
    assert_eq!(line, 8, "{errors}");
    assert_eq!(errors.errors.len(), 2, "{errors}");

    let fixed = text
        .replace(
            "target = 100.0\n",
            "target = 100.0\n[apps.process_types.web]\nmax = 6\n",
        )
        .replace("min = 0\n", "min = 0\nmax = 4\n");
    let config = load(&fixed).unwrap_or_else(|e| panic!("{e}"));
    let web = &config.apps[0].resolved.policy.process_types["web"];
    assert_eq!((web.min, web.max), (None, Some(6)));
}

#[test]
fn autoscale_in_the_template_without_max_is_reported_under_discovery_defaults() {
    let text = "[discovery.defaults.process_type_defaults.autoscale]\nalgorithm = \"target\"\n";
    let errors = load_err(text);
    let (line, _) = at(&errors, "discovery.defaults.process_type_defaults.max");
    assert_eq!(line, 1, "{errors}");
}

#[test]
fn resize_windows_with_a_bad_day_or_time_name_the_key_and_the_line() {
    let bad_day = r#"[[apps]]
name = "shop"

[[apps.process_types.web.vertical.windows]]
days = ["mon", "funday"]
from = "08:00"
to = "20:00"
"#;
    let errors = load_err(bad_day);
    assert_eq!(errors.errors.len(), 1, "{errors}");
    assert_eq!(errors.errors[0].line(), Some(5), "{errors}");
    assert!(errors.errors[0].message.contains("funday"), "{errors}");

    let bad_time = r#"[[apps]]
name = "shop"

[[apps.process_types.web.vertical.windows]]
days = ["sat", "sun"]
from = "22:00"
to = "06:00"
"#;
    let errors = load_err(bad_time);
    let (line, message) = at(&errors, "apps[0].process_types.web.vertical.windows[0]");
    assert_eq!(line, 4, "{errors}");
    assert!(message.contains("split an overnight entry"), "{message}");
}

#[test]
fn restart_request_tokens_must_be_long_and_apps_inherit_the_server_token() {
    let errors = load_err("[[apps]]\nname = \"shop\"\nrestart_request_token = \"short\"\n");
    let (line, message) = at(&errors, "apps[0].restart_request_token");
    assert_eq!(line, 3);
    assert!(message.contains("at least 16"), "{message}");

    let text = r#"[server]
restart_request_token = "server-wide-token-0123456789"

[[apps]]
name = "shop"
restart_request_token = "shop-own-token-0123456789"

[[apps]]
name = "blog"
"#;
    let config = load(text).unwrap_or_else(|e| panic!("{e}"));
    let token = |i: usize| {
        config.apps[i]
            .restart_request_token
            .as_ref()
            .map(|t| t.expose().to_owned())
    };
    assert_eq!(token(0).as_deref(), Some("shop-own-token-0123456789"));
    assert_eq!(token(1).as_deref(), Some("server-wide-token-0123456789"));
}
