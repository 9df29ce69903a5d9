//! The simulator's responses checked against Heroku's own Platform API schema (the subset in
//! `heroku-schema.json`): every property the schema declares is present with an allowed type,
//! format and enum value, and no resource carries a key Heroku would not send.

use std::fmt::Write as _;

use reqwest::Method;
use serde_json::Value;

use super::harness::{APP, Sim};

const SCHEMA: &str = include_str!("heroku-schema.json");

/// Walks one response against one schema node, collecting every mismatch as `path: problem`.
struct Checker<'a> {
    root: &'a Value,
    problems: String,
}

impl<'a> Checker<'a> {
    fn resolve(&self, mut node: &'a Value) -> &'a Value {
        while let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            let pointer = reference.trim_start_matches('#');
            node = self
                .root
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {reference}"));
        }
        node
    }

    fn problem(&mut self, path: &str, what: String) {
        let _ = writeln!(self.problems, "{path}: {what}");
    }

    fn check(&mut self, path: &str, schema: &'a Value, value: &Value) {
        let schema = self.resolve(schema);
        if let Some(options) = schema.get("anyOf").and_then(Value::as_array) {
            let fits = options.iter().any(|option| {
                let mut probe = Checker {
                    root: self.root,
                    problems: String::new(),
                };
                probe.check(path, option, value);
                probe.problems.is_empty()
            });
            if !fits {
                self.problem(path, format!("{value} matches none of anyOf"));
            }
            return;
        }
        if !type_allowed(schema, value) {
            self.problem(
                path,
                format!("{value} has a type the schema does not allow"),
            );
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !value.is_null()
            && !allowed.contains(value)
        {
            self.problem(path, format!("{value} is not one of {allowed:?}"));
        }
        if let (Some(format), Some(text)) =
            (schema.get("format").and_then(Value::as_str), value.as_str())
            && !format_ok(format, text)
        {
            self.problem(path, format!("{text:?} is not a valid {format}"));
        }
        match value {
            Value::Object(fields) => self.check_object(path, schema, fields),
            Value::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check(&format!("{path}[{i}]"), item_schema, item);
                    }
                }
            }
            _ => {}
        }
    }

    fn check_object(
        &mut self,
        path: &str,
        schema: &'a Value,
        fields: &serde_json::Map<String, Value>,
    ) {
        if let Some(patterns) = schema.get("patternProperties").and_then(Value::as_object) {
            self.check_pattern_properties(path, patterns, fields);
        }
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            return;
        };
        for (name, property) in properties {
            match fields.get(name) {
                Some(value) => self.check(&format!("{path}.{name}"), property, value),
                None => self.problem(path, format!("missing property {name:?}")),
            }
        }
        if schema.get("strictProperties") == Some(&Value::Bool(true)) {
            for name in fields.keys().filter(|k| !properties.contains_key(*k)) {
                self.problem(path, format!("property {name:?} is not in the schema"));
            }
        }
    }
}

impl<'a> Checker<'a> {
    /// Config vars: every key matches a pattern (only Heroku's `^\w+$` is known here) and its
    /// value that pattern's schema.
    fn check_pattern_properties(
        &mut self,
        path: &str,
        patterns: &'a serde_json::Map<String, Value>,
        fields: &serde_json::Map<String, Value>,
    ) {
        for (name, value) in fields {
            let matching = patterns.iter().find(|(pattern, _)| match pattern.as_str() {
                "^\\w+$" => {
                    !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')
                }
                other => panic!("pattern {other} not understood by this checker"),
            });
            match matching {
                Some((_, schema)) => self.check(&format!("{path}.{name}"), schema, value),
                None => self.problem(path, format!("property {name:?} matches no pattern")),
            }
        }
    }
}

fn type_allowed(schema: &Value, value: &Value) -> bool {
    let Some(types) = schema.get("type") else {
        return true;
    };
    let names: Vec<&str> = match types {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => return true,
    };
    names.iter().any(|name| match *name {
        "null" => value.is_null(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => false,
    })
}

fn format_ok(format: &str, text: &str) -> bool {
    match format {
        "date-time" => text.parse::<jiff::Timestamp>().is_ok() && text.ends_with('Z'),
        "uuid" => uuid::Uuid::parse_str(text).is_ok() && text.len() == 36,
        "email" => text.contains('@'),
        "uri" => text.contains("://"),
        _ => true,
    }
}

/// The schema node of a resource, or of an array of it.
fn resource(root: &Value, name: &str, list: bool) -> Value {
    let one = serde_json::json!({ "$ref": format!("#/definitions/{name}") });
    assert!(
        root.pointer(&format!("/definitions/{name}")).is_some(),
        "no {name} in schema"
    );
    if list {
        serde_json::json!({ "type": ["array"], "items": one })
    } else {
        one
    }
}

async fn body(sim: &Sim, method: Method, path: &str, json: Option<Value>) -> Value {
    let mut request = sim.raw(method.clone(), path);
    if let Some(json) = json {
        request = request.json(&json);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"))
}

#[tokio::test]
async fn every_endpoint_answers_in_herokus_documented_shape() {
    let root: Value = serde_json::from_str(SCHEMA).unwrap();
    let sim = Sim::start().await;
    let drain = body(
        &sim,
        Method::POST,
        &format!("/apps/{APP}/log-drains"),
        Some(serde_json::json!({ "url": "https://example.com/drain" })),
    )
    .await;
    let drain_id = drain["id"].as_str().unwrap().to_owned();
    let dynos = body(&sim, Method::GET, &format!("/apps/{APP}/dynos"), None).await;
    let dyno = dynos[0]["name"].as_str().unwrap().to_owned();

    let cases: Vec<(Method, String, Option<Value>, &str, bool)> = vec![
        (Method::GET, "/account".into(), None, "account", false),
        (
            Method::GET,
            "/account/rate-limits".into(),
            None,
            "rate-limit",
            false,
        ),
        (Method::GET, "/apps".into(), None, "app", true),
        (Method::GET, format!("/apps/{APP}"), None, "app", false),
        (
            Method::GET,
            format!("/apps/{APP}/features"),
            None,
            "app-feature",
            true,
        ),
        (
            Method::GET,
            format!("/apps/{APP}/features/log-runtime-metrics"),
            None,
            "app-feature",
            false,
        ),
        (
            Method::GET,
            format!("/apps/{APP}/releases"),
            None,
            "release",
            true,
        ),
        (Method::GET, "/dyno-sizes".into(), None, "dyno-size", true),
        (
            Method::GET,
            format!("/apps/{APP}/formation"),
            None,
            "formation",
            true,
        ),
        (
            Method::GET,
            format!("/apps/{APP}/formation/web"),
            None,
            "formation",
            false,
        ),
        (
            Method::PATCH,
            format!("/apps/{APP}/formation/web"),
            Some(serde_json::json!({ "quantity": 3 })),
            "formation",
            false,
        ),
        (
            Method::GET,
            format!("/apps/{APP}/dynos"),
            None,
            "dyno",
            true,
        ),
        (
            Method::GET,
            format!("/apps/{APP}/dynos/{dyno}"),
            None,
            "dyno",
            false,
        ),
        (
            Method::POST,
            format!("/apps/{APP}/log-sessions"),
            Some(serde_json::json!({ "tail": true })),
            "log-session",
            false,
        ),
        (
            Method::GET,
            format!("/apps/{APP}/log-drains"),
            None,
            "log-drain",
            true,
        ),
        (
            Method::GET,
            format!("/apps/{APP}/log-drains/{drain_id}"),
            None,
            "log-drain",
            false,
        ),
        (Method::GET, "/users/~/apps".into(), None, "app", true),
        (
            Method::GET,
            format!("/apps/{APP}/addons"),
            None,
            "add-on",
            true,
        ),
        (Method::GET, "/addons".into(), None, "add-on", true),
        (
            Method::GET,
            format!("/apps/{APP}/addons/DATABASE"),
            None,
            "add-on",
            false,
        ),
        (
            Method::GET,
            "/addon-attachments".into(),
            None,
            "add-on-attachment",
            true,
        ),
        (
            Method::GET,
            format!("/apps/{APP}/addon-attachments"),
            None,
            "add-on-attachment",
            true,
        ),
        (
            Method::GET,
            format!("/apps/{APP}/collaborators"),
            None,
            "collaborator",
            true,
        ),
        (
            Method::GET,
            format!("/apps/{APP}/config-vars"),
            None,
            "config-var",
            false,
        ),
        (
            Method::PATCH,
            format!("/apps/{APP}/config-vars"),
            Some(serde_json::json!({ "FOO": "bar", "DATABASE_URL": null })),
            "config-var",
            false,
        ),
        (
            Method::GET,
            format!("/apps/{APP}/releases/2"),
            None,
            "release",
            false,
        ),
        (
            Method::GET,
            format!("/apps/{APP}/releases/1/config-vars"),
            None,
            "config-var",
            false,
        ),
        (
            Method::GET,
            "/account/features".into(),
            None,
            "account-feature",
            true,
        ),
    ];

    let mut report = String::new();
    for (method, path, json, name, list) in cases {
        let value = body(&sim, method.clone(), &path, json).await;
        let schema = resource(&root, name, list);
        let mut checker = Checker {
            root: &root,
            problems: String::new(),
        };
        checker.check(&format!("{method} {path}"), &schema, &value);
        report.push_str(&checker.problems);
    }
    assert!(
        report.is_empty(),
        "responses differ from Heroku's schema:\n{report}"
    );
}
