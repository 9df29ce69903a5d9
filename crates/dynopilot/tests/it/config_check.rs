//! `dynopilot config check` transcripts: each kind of mistake a user makes, the exact lines the
//! real binary prints for it (key, `file:line:column`, the user's words, a suggestion), and
//! that no Rust type name ever reaches the user.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// An API key, so only the mistake under test is reported.
const KEY: &str = "[heroku]\napi_key = \"hk-test-0123456789\"\n\n";

/// Rust words that must never appear in what `config check` prints.
const RUST_WORDS: &[&str] = &[
    "u8",
    "u16",
    "u32",
    "u64",
    "usize",
    "i32",
    "i64",
    "f64",
    "String",
    "Option",
    "struct",
    "enum",
    "Vec",
    "invalid type",
    "missing field",
    "unknown field",
];

fn write(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("config_check");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn check(path: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dynopilot"))
        .args(["config", "check"])
        .args(extra)
        .arg(path)
        .env_clear()
        .output()
        .unwrap()
}

/// `config check` on `text`: exit code and stderr with the file's directory cut off, so the
/// transcript reads `name.toml:line:col: …`; fails on any Rust type name in the output.
fn transcript(name: &str, text: &str) -> (Option<i32>, String) {
    let path = write(name, text);
    let out = check(&path, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    no_rust_words(&stdout);
    no_rust_words(&stderr);
    let dir = format!("{}/", path.parent().unwrap().display());
    (out.status.code(), stderr.replace(&dir, ""))
}

fn no_rust_words(text: &str) {
    for word in RUST_WORDS {
        let found = text
            .split(|c: char| !c.is_ascii_alphanumeric() && c != ' ')
            .any(|part| {
                part.split(' ')
                    .collect::<Vec<_>>()
                    .windows(word.split(' ').count())
                    .any(|w| w.join(" ") == *word)
            });
        assert!(!found, "`{word}` in:\n{text}");
    }
}

#[test]
fn a_typo_in_an_optional_key_suggests_the_key() {
    let text =
        format!("{KEY}[[apps]]\nname = \"shop\"\n\n[apps.process_types.web]\nmax = 4\nmni = 1\n");
    let (code, err) = transcript("typo_optional.toml", &text);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "typo_optional.toml:9:1: apps[0].process_types.web.mni: unknown key `mni` (did you mean `min`?)\n\
         error: the configuration has 1 problem(s)\n"
    );
}

#[test]
fn a_typo_in_a_required_key_is_an_unknown_key_not_a_missing_one() {
    let text = format!("{KEY}[[apps]]\nnmae = \"shop\"\n");
    let (code, err) = transcript("typo_required.toml", &text);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "typo_required.toml:5:1: apps[0].nmae: unknown key `nmae` (did you mean `name`?)\n\
         error: the configuration has 1 problem(s)\n"
    );
    let rule = format!(
        "{KEY}[[apps]]\nname = \"shop\"\n\n[[apps.rules]]\nname = \"t\"\nactions = [{{ type = \"restart_app\" }}]\n\
         [apps.rules.condition]\ntype = \"codes\"\ncodes = [\"H12\"]\nat_lest = 5\nwindow = \"1m\"\n"
    );
    let (code, err) = transcript("typo_required_rule.toml", &rule);
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with("typo_required_rule.toml:13:1: apps[0].rules[0].condition.at_lest: unknown key `at_lest` (did you mean `at_least`?)\n"),
        "{err}"
    );
}

#[test]
fn wrong_types_say_what_was_expected_in_words() {
    let cases = [
        (
            "type_duration.toml",
            "[drain]\ndedupe_window = true\n",
            "type_duration.toml:5:17: drain.dedupe_window: expected a duration like `90s`, found true",
        ),
        (
            "type_int.toml",
            "[drain]\nmax_body_bytes = \"lots\"\n",
            "type_int.toml:5:18: drain.max_body_bytes: expected a whole number (0 or more), found \"lots\"",
        ),
        (
            "type_bool.toml",
            "dry_run = \"yes\"\n",
            "type_bool.toml:1:11: dry_run: expected true or false, found \"yes\"",
        ),
        (
            "type_list.toml",
            "[server]\nallowed_hosts = \"dash.example.com\"\n",
            "type_list.toml:5:17: server.allowed_hosts: expected a list of strings like [\"a\", \"b\"], found \"dash.example.com\"",
        ),
    ];
    for (name, body, line) in cases {
        let text = if body.starts_with('[') {
            format!("{KEY}{body}")
        } else {
            format!("{body}{KEY}")
        };
        let (code, err) = transcript(name, &text);
        assert_eq!(code, Some(1), "{err}");
        assert_eq!(
            err,
            format!("{line}\nerror: the configuration has 1 problem(s)\n")
        );
    }
}

#[test]
fn a_process_type_typo_is_a_warning_offline() {
    let text = format!("{KEY}[[apps]]\nname = \"shop\"\n\n[apps.process_types.wbe]\nmax = 4\n");
    let (code, err) = transcript("wbe_offline.toml", &text);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        err,
        "warning: wbe_offline.toml:7:21: apps[0].process_types.wbe: process type `wbe` for app shop \
         may be a typo (did you mean `web`?); `config check --online` compares it with the app's formation\n"
    );
}

#[test]
fn an_error_code_heroku_does_not_have_names_the_real_ones_nearby() {
    let rule = |code: &str| {
        format!(
            "{KEY}[[apps]]\nname = \"shop\"\n\n[[apps.rules]]\nname = \"t\"\n\
             actions = [{{ type = \"alert\" }}]\n\
             condition = {{ type = \"codes\", codes = [\"H12\", \"{code}\"], at_least = 5, window = \"1m\" }}\n"
        )
    };
    let (code, err) = transcript("h29.toml", &rule("H29"));
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "h29.toml:10:47: apps[0].rules[0].condition.codes[1]: `H29` is not a Heroku error code \
         (nearby: H26, H27, H28, H31)\nerror: the configuration has 1 problem(s)\n"
    );
    // H99 ("Platform error") and R99 are real codes.
    for real in ["H99", "R99", "R14", "L10", "H8*"] {
        let (code, err) = transcript("real_code.toml", &rule(real));
        assert_eq!(code, Some(0), "{real}: {err}");
    }
}

#[test]
fn no_api_key_is_an_error_unless_the_simulator_is_the_target() {
    let (code, err) = transcript("no_key.toml", "[[apps]]\nname = \"shop\"\n");
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "no_key.toml: heroku.api_key: required to run against Heroku: set HEROKU_API_KEY or \
         heroku.api_key (only a simulator target, heroku.base_url on loopback or \
         heroku.simulator = true, runs without one)\nerror: the configuration has 1 problem(s)\n"
    );
    let (code, err) = transcript(
        "no_key_section.toml",
        "[heroku]\nbase_url = \"https://api.heroku.com\"\n",
    );
    assert_eq!(code, Some(1));
    assert!(
        err.starts_with("no_key_section.toml:1:2: heroku.api_key: required"),
        "{err}"
    );
    for (name, heroku) in [
        ("sim_loopback.toml", "base_url = \"http://127.0.0.1:5000\""),
        (
            "sim_flag.toml",
            "base_url = \"http://sim:5000\"\nsimulator = true",
        ),
    ] {
        let (code, err) = transcript(name, &format!("[heroku]\n{heroku}\n"));
        assert_eq!(code, Some(0), "{name}: {err}");
        assert_eq!(err, "");
    }
}

#[test]
fn every_problem_line_has_line_and_column() {
    let text =
        format!("{KEY}dry_rn = true\n\n[drain]\nmax_body_bytes = -1\n\n[[apps]]\nnmae = \"x\"\n");
    let (code, err) = transcript("line_col.toml", &text);
    assert_eq!(code, Some(1));
    let problems: Vec<&str> = err.lines().filter(|l| !l.starts_with("error:")).collect();
    assert!(problems.len() >= 3, "{err}");
    for line in problems {
        let mut parts = line.splitn(4, ':');
        assert_eq!(parts.next(), Some("line_col.toml"), "{line}");
        let numbers: Vec<usize> = parts.take(2).map(|p| p.parse().unwrap()).collect();
        assert!(numbers.iter().all(|n| *n >= 1), "{line}");
    }
}

/// `config check --online` against the simulator: a process type the formation lacks is an
/// error naming the formation and the nearest type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_type_the_formation_lacks_is_an_error_online() {
    use std::sync::Arc;

    use dynopilot_core::Clock;
    use dynopilot_sim::config::DEMO_EMAIL;
    use dynopilot_sim::{AppSpec, SimConfig, Simulator};

    let clock: Arc<dyn Clock> = Arc::new(dynopilot_clock::SystemClock);
    let mut sim_config = SimConfig::empty();
    sim_config
        .apps
        .push(AppSpec::plain("shop", DEMO_EMAIL, 1, 1));
    let sim = Simulator::start(sim_config, clock).await.unwrap();
    let text = format!(
        "[heroku]\napi_key = \"{}\"\nbase_url = \"{}\"\n\n[[apps]]\nname = \"shop\"\n\n\
         [apps.process_types.wbe]\nmax = 4\n",
        sim.token, sim.base_url
    );
    let path = write("wbe_online.toml", &text);
    let out = tokio::task::spawn_blocking(move || check(&path, &["--online"]))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    no_rust_words(&stderr);
    assert!(
        stderr.contains(
            "wbe_online.toml:8:21: apps[0].process_types.wbe: unknown process type `wbe` for app shop \
             (formation has web, worker; did you mean `web`?)\n"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("1 problem(s) found online"), "{stderr}");
    sim.shutdown();
}
