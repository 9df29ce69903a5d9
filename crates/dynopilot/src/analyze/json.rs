//! `analyze --json`: one JSON object per log entry (NDJSON) with stable keys and field names.

use dynopilot_core::names::split_dyno_name;
use dynopilot_logplex::Message;
use dynopilot_logplex::message::{ApiEvent, DynoEvent};
use serde_json::{Map, Value, json};

use super::input::Entry;

/// The JSON object for one entry and its parsed message.
pub fn entry_json(entry: &Entry<'_>, message: &Message<'_>) -> Value {
    let source = match entry.source {
        s @ ("heroku" | "app") => Value::from(s),
        _ => Value::Null,
    };
    let text = String::from_utf8_lossy(entry.message);
    json!({
        "kind": message.kind(),
        "timestamp": entry.timestamp,
        "source": source,
        "process": entry.process,
        "dyno": dyno(entry, message),
        "message": text,
        "fields": fields(message),
    })
}

/// The dyno a line is about: the router's `dyno=`, or the process when it names a dyno.
fn dyno(entry: &Entry<'_>, message: &Message<'_>) -> Value {
    match message {
        Message::Router(r) => r.dyno.map_or(Value::Null, Value::from),
        _ if split_dyno_name(entry.process).is_some() => Value::from(entry.process),
        _ => Value::Null,
    }
}

fn fields(message: &Message<'_>) -> Value {
    let mut f = Map::new();
    let mut put = |k: &str, v: Value| {
        f.insert(k.to_owned(), v);
    };
    match message {
        Message::Router(r) => {
            for (k, v) in [
                ("at", r.at),
                ("code", r.code),
                ("desc", r.desc),
                ("method", r.method),
                ("path", r.path),
                ("host", r.host),
                ("request_id", r.request_id),
                ("fwd", r.fwd),
                ("dyno", r.dyno),
                ("protocol", r.protocol),
                ("tls_version", r.tls_version),
            ] {
                put(k, v.map_or(Value::Null, Value::from));
            }
            put("connect_ms", num(r.connect_ms));
            put("service_ms", num(r.service_ms));
            put("status", r.status.map_or(Value::Null, Value::from));
            put("bytes", r.bytes.map_or(Value::Null, Value::from));
        }
        Message::Memory(m) => {
            put("memory_total_mb", num(m.total_mb));
            put("memory_rss_mb", num(m.rss_mb));
            put("memory_cache_mb", num(m.cache_mb));
            put("memory_swap_mb", num(m.swap_mb));
            put("memory_quota_mb", num(m.quota_mb));
            put(
                "memory_quota_pct",
                num(m.quota_pct.map(|p| (p * 10.0).round() / 10.0)),
            );
            put(
                "memory_pgpgin_pages",
                m.pgpgin_pages.map_or(Value::Null, Value::from),
            );
            put(
                "memory_pgpgout_pages",
                m.pgpgout_pages.map_or(Value::Null, Value::from),
            );
            put("dyno_id", m.dyno_id.map_or(Value::Null, Value::from));
        }
        Message::Load(l) => {
            put("load_avg_1m", num(l.avg_1m));
            put("load_avg_5m", num(l.avg_5m));
            put("load_avg_15m", num(l.avg_15m));
            put("dyno_id", l.dyno_id.map_or(Value::Null, Value::from));
        }
        Message::Error(e) => {
            put("code", Value::from(e.code));
            put("desc", e.desc.map_or(Value::Null, Value::from));
            put("detail", e.detail.map_or(Value::Null, Value::from));
        }
        Message::State(event) => state_fields(event, &mut put),
        Message::Release(event) => release_fields(event, &mut put),
        Message::Scale(scale) => {
            let mut formation = Map::new();
            for e in scale.entries() {
                formation.insert(
                    e.process_type.to_owned(),
                    json!({"quantity": e.quantity, "size": e.size}),
                );
            }
            put("formation", Value::Object(formation));
            put("user", scale.user.map_or(Value::Null, Value::from));
        }
        Message::L2met(line) => {
            let mut metrics = Map::new();
            for m in line.metrics() {
                let value = m.text.map_or_else(|| num(Some(m.value)), Value::from);
                metrics.insert(
                    m.name.to_owned(),
                    json!({"type": m.kind.name(), "value": value, "unit": m.unit}),
                );
            }
            put("source", line.source.map_or(Value::Null, Value::from));
            put("metrics", Value::Object(metrics));
        }
        Message::App(_) | Message::Other(_) => {}
    }
    Value::Object(f)
}

fn num(v: Option<f64>) -> Value {
    v.and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

fn state_fields(event: &DynoEvent<'_>, put: &mut impl FnMut(&str, Value)) {
    put("event", Value::from(event.name()));
    let (mut from, mut to, mut status, mut signal, mut command) = (None, None, None, None, None);
    match *event {
        DynoEvent::StateChanged { from: f, to: t } => (from, to) = (Some(f), Some(t)),
        DynoEvent::Exited { status: s } => status = s,
        DynoEvent::Stopping { signal: s, .. } => signal = Some(s),
        DynoEvent::Starting { command: c } => command = Some(c),
        _ => {}
    }
    put("from", from.map_or(Value::Null, Value::from));
    put("to", to.map_or(Value::Null, Value::from));
    put("status", status.map_or(Value::Null, Value::from));
    put("signal", signal.map_or(Value::Null, Value::from));
    put("command", command.map_or(Value::Null, Value::from));
}

fn release_fields(event: &ApiEvent<'_>, put: &mut impl FnMut(&str, Value)) {
    put("event", Value::from(event.name()));
    let (version, commit) = match *event {
        ApiEvent::Release { version, .. } | ApiEvent::Rollback { version, .. } => {
            (Some(version), None)
        }
        ApiEvent::Deploy { commit, .. } => (None, Some(commit)),
        ApiEvent::ConfigVars { .. } => (None, None),
    };
    put("version", version.map_or(Value::Null, Value::from));
    put("commit", commit.map_or(Value::Null, Value::from));
    put("user", event.user().map_or(Value::Null, Value::from));
    if let ApiEvent::ConfigVars { names, .. } = *event {
        put("config_vars", Value::from(names));
    }
}
