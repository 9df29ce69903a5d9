//! The shipped `dynopilot.example.toml`: valid, its values are the defaults, and it documents
//! exactly the keys the code knows (`RawConfig::default_documented()`), so the two can't drift.

use std::collections::{BTreeMap, BTreeSet};

use dynopilot_server::config::{AppOrigin, Config, PolicyTemplate, RawConfig};

const EXAMPLE: &str = include_str!("../../../../../dynopilot.example.toml");

/// The example with its optional keys and sample sections (`# key = …`, `# [table]`) enabled.
fn uncommented() -> String {
    EXAMPLE
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if is_toml_line(rest) => format!("{rest}\n"),
            _ => format!("{line}\n"),
        })
        .collect()
}

fn is_toml_line(s: &str) -> bool {
    if s.starts_with('[') {
        return true;
    }
    s.split_once(" = ").is_some_and(|(k, _)| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    })
}

/// Dotted paths of every leaf key, arrays of tables written `name[]`.
fn keys(table: &toml::Table) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    walk(table, "", &mut out);
    out
}

fn walk(table: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => walk(t, &path, out),
            toml::Value::Array(items) if items.iter().all(toml::Value::is_table) => {
                for item in items.iter().filter_map(toml::Value::as_table) {
                    walk(item, &format!("{path}[]"), out);
                }
            }
            _ => {
                out.insert(path);
            }
        }
    }
}

#[test]
fn the_example_as_shipped_loads_and_its_values_are_the_defaults() {
    let raw: RawConfig = toml::from_str(EXAMPLE).unwrap();
    let defaults = RawConfig {
        discovery: dynopilot_server::config::RawDiscovery {
            enabled: None,
            defaults: Some(PolicyTemplate::builtin()),
            ..Default::default()
        },
        ..RawConfig::default()
    };
    assert_eq!(raw, defaults);
    let c = Config::load(EXAMPLE, "dynopilot.example.toml", &BTreeMap::new()).unwrap();
    assert!(c.discovery.enabled);
}

#[test]
fn the_example_with_every_optional_key_enabled_is_valid() {
    let text = uncommented();
    let c =
        Config::load(&text, "uncommented.toml", &BTreeMap::new()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.apps.len(), 1);
    assert_eq!(c.apps[0].origin, AppOrigin::File);
    assert!(c.discovery.enabled, "set explicitly in the example");
    let web = &c.apps[0].resolved.policy.process_types["web"];
    assert!(web.autoscale.is_some() && web.vertical.is_some());
}

#[test]
fn the_example_documents_exactly_the_keys_the_code_knows() {
    let documented: toml::Table = toml::from_str(&uncommented()).unwrap();
    let code = toml::Table::try_from(RawConfig::default_documented()).unwrap();
    let (in_file, in_code) = (keys(&documented), keys(&code));
    let missing: Vec<_> = in_code.difference(&in_file).collect();
    let unknown: Vec<_> = in_file.difference(&in_code).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "keys missing from dynopilot.example.toml: {missing:?}\nkeys the code doesn't document: {unknown:?}"
    );
}

#[test]
fn the_example_documents_each_env_override() {
    for &(var, _, _) in dynopilot_server::config::ENV_OVERRIDES {
        if var != dynopilot_server::config::CONFIG_PATH_VAR {
            assert!(
                EXAMPLE.contains(var),
                "{var} is not mentioned in the example"
            );
        }
    }
}

/// The key of a key line: an active `key = …` or a sample `# key = …`; not a table header.
fn key_of(line: &str) -> Option<&str> {
    let s = match line.strip_prefix("# ") {
        Some(rest) => rest,
        None if line.starts_with('#') => return None,
        None => line,
    };
    if s.starts_with('[') || !is_toml_line(s) {
        return None;
    }
    s.split_once(" = ").map(|(k, _)| k)
}

/// A comment line in words: not a sample key, not a sample table header, not a bare `#`.
fn is_prose(line: &str) -> bool {
    line.starts_with('#')
        && line.trim() != "#"
        && key_of(line).is_none()
        && !line.strip_prefix("# ").unwrap_or(line).starts_with('[')
}

/// Whether a ` # ` comment follows the value of a key line (a `#` inside a string is not one).
fn has_trailing_comment(line: &str) -> bool {
    let value = line.split_once(" = ").map_or("", |(_, v)| v).as_bytes();
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    for (i, &c) in value.iter().enumerate() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == b'\\' && q == b'"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None => {
                if c == b'#' && i > 0 && value[i - 1] == b' ' && value.get(i + 1) == Some(&b' ') {
                    return true;
                }
            }
        }
    }
    false
}

#[test]
fn every_key_line_has_a_one_line_meaning() {
    let lines: Vec<&str> = EXAMPLE.lines().collect();
    let bare: Vec<String> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, &line)| {
            let key = key_of(line)?;
            let prose_above = i > 0 && is_prose(lines[i - 1]);
            (!prose_above && !has_trailing_comment(line)).then(|| format!("line {}: {key}", i + 1))
        })
        .collect();
    assert!(
        bare.is_empty(),
        "key lines of dynopilot.example.toml without a meaning (a `# …` line above or a \
         trailing ` # …`):\n{}",
        bare.join("\n")
    );
}
