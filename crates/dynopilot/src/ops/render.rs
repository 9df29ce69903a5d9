//! Terminal text for the JSON the daemon (or the store) gives: decisions, actions, numbers.

use dynopilot_core::policy::Action;
use serde_json::Value;

/// A string field, or `""`.
pub fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// An optional number as text with a unit, `-` when absent.
pub fn number(v: &Value, key: &str, unit: &str) -> String {
    v.get(key)
        .and_then(Value::as_f64)
        .map_or_else(|| "-".to_owned(), |n| format!("{n:.0}{unit}"))
}

/// The action in words (`scale web 2 → 3`), from its journaled JSON.
pub fn action(decision: &Value) -> String {
    decision
        .get("action")
        .cloned()
        .and_then(|a| serde_json::from_value::<Action>(a).ok())
        .map_or_else(|| text(decision, "kind").to_owned(), |a| a.to_string())
}

/// What became of a decision: the action outcome when it was carried out, else why not.
pub fn outcome(decision: &Value, action_status: Option<&str>) -> String {
    let blocked = decision
        .get("blocked")
        .and_then(Value::as_array)
        .filter(|b| !b.is_empty());
    if let Some(blocked) = blocked {
        let why: Vec<String> = blocked.iter().map(guardrail).collect();
        return format!("blocked: {}", why.join(", "));
    }
    if decision.get("dry_run").and_then(Value::as_bool) == Some(true) {
        return "dry run".to_owned();
    }
    match action_status {
        Some(status) => status.to_owned(),
        None if decision.get("executed").and_then(Value::as_bool) == Some(true) => {
            "queued".to_owned()
        }
        None => "not executed".to_owned(),
    }
}

fn guardrail(b: &Value) -> String {
    let name = b.get("guardrail").map_or_else(String::new, |g| match g {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    format!("{name} {}", text(b, "detail")).trim().to_owned()
}

/// One decision as a line: time, action, outcome, reason.
pub fn decision_line(decision: &Value, action_status: Option<&str>) -> String {
    format!(
        "{}  {}  [{}]  {}",
        text(decision, "at"),
        action(decision),
        outcome(decision, action_status),
        text(decision, "reason")
    )
}
