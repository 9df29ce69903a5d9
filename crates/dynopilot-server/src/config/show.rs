//! `config show`: the effective configuration as TOML, secrets masked, each daemon setting with
//! its origin (default, file, or the environment variable) as a trailing comment.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use dynopilot_core::policy::{GuardrailsConfig, NotifyConfig, ProcessTypeConfig, RuleConfig};
use serde::Serialize;

use super::raw::LogSource;
use super::secret::{MASK, redact_url};
use super::{AppConfig, AppOrigin, Config, Origin, ResolvedPolicy};

pub fn render(c: &Config) -> String {
    let mut out = format!(
        "# Effective dynopilot configuration from {}; secrets are shown as {MASK}.\n",
        c.source
    );
    let secret = |s: Option<&super::Secret>| s.map(|_| MASK.to_owned());
    let line = |out: &mut String, key: &str, value: Option<toml::Value>| {
        let origin = match c.origin(key) {
            Origin::Default => "default".to_owned(),
            Origin::File => "file".to_owned(),
            Origin::Env(var) => format!("env {var}"),
        };
        let name = key.rsplit('.').next().unwrap_or(key);
        let _ = match value {
            Some(v) => writeln!(out, "{name} = {v}  # {origin}"),
            None => writeln!(out, "# {name} is not set  # {origin}"),
        };
    };
    let s = |v: String| Some(toml::Value::String(v));
    line(&mut out, "dry_run", Some(toml::Value::Boolean(c.dry_run)));
    line(
        &mut out,
        "log_source",
        s(c.discovery.log_source.as_str().to_owned()),
    );
    out.push_str("\n[heroku]\n");
    line(
        &mut out,
        "heroku.api_key",
        secret(c.heroku.api_key.as_ref()).and_then(s),
    );
    line(
        &mut out,
        "heroku.base_url",
        s(redact_url(&c.heroku.base_url)),
    );
    line(
        &mut out,
        "heroku.simulator",
        Some(toml::Value::Boolean(c.heroku.simulator)),
    );
    out.push_str("\n[store]\n");
    line(&mut out, "store.url", s(redact_url(c.store.url.expose())));
    line(
        &mut out,
        "store.raw_retention",
        s(duration(c.store.raw_retention)),
    );
    line(
        &mut out,
        "store.rollup_retention",
        s(duration(c.store.rollup_retention)),
    );
    out.push_str("\n[server]\n");
    line(&mut out, "server.listen", s(c.server.listen.to_string()));
    line(
        &mut out,
        "server.restart_request_token",
        secret(c.server.restart_request_token.as_ref()).and_then(s),
    );
    line(
        &mut out,
        "server.reconcile_deadline",
        s(duration(c.server.reconcile_deadline)),
    );
    out.push_str("\n[drain]\n");
    line(
        &mut out,
        "drain.secret",
        secret(c.drain.secret.as_ref()).and_then(s),
    );
    let max_body = i64::try_from(c.drain.max_body_bytes).unwrap_or(i64::MAX);
    line(
        &mut out,
        "drain.max_body_bytes",
        Some(toml::Value::Integer(max_body)),
    );
    line(
        &mut out,
        "drain.dedupe_window",
        s(duration(c.drain.dedupe_window)),
    );
    out.push_str("\n[dashboard]\n");
    line(
        &mut out,
        "dashboard.username",
        s(c.dashboard.username.clone()),
    );
    line(
        &mut out,
        "dashboard.password",
        secret(c.dashboard.password.as_ref()).and_then(s),
    );
    line(
        &mut out,
        "dashboard.password_hash",
        secret(c.dashboard.password_hash.as_ref()).and_then(s),
    );
    out.push_str("\n[runner]\n");
    line(&mut out, "runner.tick", s(duration(c.poll.tick)));
    out.push_str("\n[poll]\n");
    line(&mut out, "poll.formation", s(duration(c.poll.formation)));
    line(&mut out, "poll.releases", s(duration(c.poll.releases)));
    line(
        &mut out,
        "poll.runtime_metrics",
        s(duration(c.poll.runtime_metrics)),
    );
    line(
        &mut out,
        "poll.failing_after",
        Some(toml::Value::Integer(c.poll.failing_after.into())),
    );
    out.push_str("\n[discovery]\n");
    line(
        &mut out,
        "discovery.enabled",
        Some(toml::Value::Boolean(c.discovery.enabled)),
    );
    line(
        &mut out,
        "discovery.refresh",
        s(duration(c.discovery.refresh)),
    );
    let defaults = ShowPolicy::from(&c.template);
    out.push('\n');
    out.push_str(&to_toml(&BTreeMap::from([(
        "discovery",
        BTreeMap::from([("defaults", defaults)]),
    )])));
    for app in &c.apps {
        let origin = match app.origin {
            AppOrigin::File => "file",
            AppOrigin::Env => "env DYNOPILOT_APPS",
            AppOrigin::Discovered => "discovery",
        };
        let _ = writeln!(out, "\n# app {} from {origin}", app.name);
        out.push_str(&to_toml(&BTreeMap::from([("apps", [ShowApp::from(app)])])));
    }
    if !c.alerts.channels.is_empty() {
        // Channel secrets (`Secret`) serialize as the mask.
        let channels = BTreeMap::from([("channels", &c.alerts.channels)]);
        out.push('\n');
        out.push_str(&to_toml(&BTreeMap::from([("alerts", channels)])));
    }
    out
}

fn duration(d: std::time::Duration) -> String {
    let millis = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    dynopilot_core::policy::ConfigDuration::from_millis(millis).to_string()
}

fn to_toml<T: Serialize>(value: &T) -> String {
    toml::to_string(value).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
}

/// A resolved policy in the file's shape (no `app` key).
#[derive(Serialize)]
struct ShowPolicy<'a> {
    time_zone: &'a str,
    guardrails: &'a GuardrailsConfig,
    notify: &'a NotifyConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    process_type_defaults: Option<&'a ProcessTypeConfig>,
    process_types: &'a BTreeMap<String, ProcessTypeConfig>,
    rules: &'a [RuleConfig],
}

impl<'a> From<&'a ResolvedPolicy> for ShowPolicy<'a> {
    fn from(r: &'a ResolvedPolicy) -> Self {
        ShowPolicy {
            time_zone: &r.policy.time_zone,
            guardrails: &r.policy.guardrails,
            notify: &r.policy.notify,
            process_type_defaults: r.process_type_defaults.as_ref(),
            process_types: &r.policy.process_types,
            rules: &r.policy.rules,
        }
    }
}

#[derive(Serialize)]
struct ShowApp<'a> {
    name: &'a str,
    log_source: LogSource,
    /// The variable's name only: the key itself is never shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key_env: Option<&'a str>,
    #[serde(flatten)]
    policy: ShowPolicy<'a>,
}

impl<'a> From<&'a AppConfig> for ShowApp<'a> {
    fn from(a: &'a AppConfig) -> Self {
        ShowApp {
            name: &a.name,
            log_source: a.log_source,
            api_key_env: a.api_key_env.as_deref(),
            policy: ShowPolicy::from(&a.resolved),
        }
    }
}
