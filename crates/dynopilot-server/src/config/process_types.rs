//! Process types named in the file (`[apps.process_types.<name>]`, rule selectors, queues,
//! probes), checked against the app's formation: offline only a near-miss of a common name
//! (`wbe`) is a warning; `config check --online` makes any name the formation lacks an error.

use super::error::ConfigError;
use super::locate::Locator;
use super::raw::RawApp;
use super::words;

/// Names most Procfiles use; offline, a name one typo away from one of them is suspicious.
const COMMON_PROCESS_TYPES: &[&str] = &["web", "worker", "clock", "release", "scheduler"];

/// One place the file names a process type of an app.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessTypeRef {
    pub app: String,
    pub process_type: String,
    /// Where it is written (key path and position), for the error.
    pub at: ConfigError,
}

/// Every process type the `[[apps]]` entries name, with where.
pub fn references(loc: &Locator<'_>, apps: &[RawApp]) -> Vec<ProcessTypeRef> {
    let mut out = Vec::new();
    for (i, app) in apps.iter().enumerate() {
        let mut add = |key: String, name: &str| {
            out.push(ProcessTypeRef {
                app: app.name.clone(),
                process_type: name.to_owned(),
                at: loc.error_at(&key, ""),
            });
        };
        let prefix = format!("apps[{i}]");
        for name in app.process_types.keys() {
            add(format!("{prefix}.process_types.{name}"), name);
        }
        for (j, rule) in app.rules.iter().enumerate() {
            let selector = format!("{prefix}.rules[{j}].selector");
            if let Some(pt) = &rule.selector.process_type {
                add(format!("{selector}.process_type"), pt);
            }
            let dyno_type = rule
                .selector
                .dyno
                .as_deref()
                .and_then(|d| d.split_once('.'));
            if let Some((pt, _)) = dyno_type {
                add(format!("{selector}.dyno"), pt);
            }
        }
        for (j, queue) in app.queues.iter().enumerate() {
            if let Some(pt) = &queue.process_type {
                add(format!("{prefix}.queues[{j}].process_type"), pt);
            }
        }
        for (name, probe) in &app.probes {
            if loc.contains(&format!("{prefix}.probes.{name}.process_type")) {
                add(
                    format!("{prefix}.probes.{name}.process_type"),
                    &probe.process_type,
                );
            }
        }
    }
    out
}

/// Offline: names one typo away from a common process type, as warnings.
pub fn offline_warnings(refs: &[ProcessTypeRef]) -> Vec<ConfigError> {
    let common: Vec<String> = COMMON_PROCESS_TYPES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    refs.iter()
        .filter(|r| !common.contains(&r.process_type))
        .filter_map(|r| {
            let near = words::closest(&r.process_type, &common)?;
            Some(with_message(
                r,
                format!(
                    "process type `{}` for app {} may be a typo (did you mean `{near}`?); \
                     `config check --online` compares it with the app's formation",
                    r.process_type, r.app
                ),
            ))
        })
        .collect()
}

/// Online: every name of `app` its formation (`formation`, Heroku's process types) lacks.
pub fn against_formation(
    refs: &[ProcessTypeRef],
    app: &str,
    formation: &[String],
) -> Vec<ConfigError> {
    refs.iter()
        .filter(|r| r.app == app && !formation.contains(&r.process_type))
        .map(|r| {
            let has = if formation.is_empty() {
                "formation has no process types".to_owned()
            } else {
                format!("formation has {}", formation.join(", "))
            };
            let hint = words::closest(&r.process_type, formation)
                .map(|near| format!("; did you mean `{near}`?"))
                .unwrap_or_default();
            with_message(
                r,
                format!(
                    "unknown process type `{}` for app {app} ({has}{hint})",
                    r.process_type
                ),
            )
        })
        .collect()
}

fn with_message(r: &ProcessTypeRef, message: String) -> ConfigError {
    ConfigError {
        message,
        ..r.at.clone()
    }
}
