//! Per-app probes and status checks: `[apps.probes.<name>]` HTTP heartbeats, `[apps.pingdom]`
//! and `[[apps.checks]]` (http, redis, postgres with thresholds), as written and validated.

use std::collections::BTreeMap;
use std::time::Duration;

use dynopilot_core::policy::{CheckKind, ConfigDuration};
use serde::{Deserialize, Serialize};

use super::build::Builder;
use super::raw::RawApp;
use super::secret::{Secret, redact_url};

pub const DEFAULT_PINGDOM_URL: &str = "https://api.pingdom.com/api/3.1";

/// One HTTP heartbeat: its latency and success feed `probe_latency` of `process_type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawProbe {
    pub url: String,
    pub method: String,
    pub expect_status: u16,
    /// The answer's body must contain this text.
    pub body_contains: Option<String>,
    pub timeout: ConfigDuration,
    pub interval: ConfigDuration,
    /// Sent with every probe; values are secrets (e.g. a token).
    pub headers: BTreeMap<String, Secret>,
    pub process_type: String,
}

impl Default for RawProbe {
    fn default() -> Self {
        RawProbe {
            url: String::new(),
            method: "GET".to_owned(),
            expect_status: 200,
            body_contains: None,
            timeout: ConfigDuration::from_secs(5),
            interval: ConfigDuration::from_secs(20),
            headers: BTreeMap::new(),
            process_type: "web".to_owned(),
        }
    }
}

/// Pingdom response times of `check_ids` feed `probe_latency` of `process_type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPingdom {
    pub api_token: Secret,
    pub check_ids: Vec<u64>,
    pub base_url: String,
    pub interval: ConfigDuration,
    pub process_type: String,
}

impl Default for RawPingdom {
    fn default() -> Self {
        RawPingdom {
            api_token: Secret::default(),
            check_ids: Vec::new(),
            base_url: DEFAULT_PINGDOM_URL.to_owned(),
            interval: ConfigDuration::from_secs(60),
            process_type: "web".to_owned(),
        }
    }
}

/// A measured value's limits: at or past `degraded` the check is degraded, at or past `down`
/// it is down (`tls_days_left` counts down: at or below).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Threshold {
    pub degraded: Option<f64>,
    pub down: Option<f64>,
}

/// One `[[apps.checks]]` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: CheckKind,
    /// http(s)://, redis(s):// or postgres:// (may carry a password).
    pub url: Secret,
    /// Postgres only: a replica whose replay lag is measured.
    #[serde(default)]
    pub replica_url: Option<Secret>,
    #[serde(default = "default_check_interval")]
    pub interval: ConfigDuration,
    #[serde(default = "default_check_timeout")]
    pub timeout: ConfigDuration,
    /// HTTP only: the status a healthy endpoint answers.
    #[serde(default = "default_status")]
    pub expect_status: u16,
    /// By value name (see `METRICS`).
    #[serde(default)]
    pub thresholds: BTreeMap<String, Threshold>,
}

fn default_check_interval() -> ConfigDuration {
    ConfigDuration::from_secs(30)
}

fn default_check_timeout() -> ConfigDuration {
    ConfigDuration::from_secs(5)
}

fn default_status() -> u16 {
    200
}

/// The values each kind of check measures, which thresholds may name.
pub fn metrics(kind: CheckKind) -> &'static [&'static str] {
    match kind {
        CheckKind::Http => &["latency_ms", "tls_days_left"],
        CheckKind::Redis => &[
            "memory_pct",
            "connected_clients",
            "evicted_keys",
            "rejected_connections",
        ],
        CheckKind::Postgres => &["connections_pct", "longest_query_ms", "replication_lag_ms"],
    }
}

/// Validated heartbeat.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeConfig {
    pub name: String,
    pub url: String,
    pub method: String,
    pub expect_status: u16,
    pub body_contains: Option<String>,
    pub timeout: Duration,
    pub interval: Duration,
    pub headers: Vec<(String, Secret)>,
    pub process_type: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PingdomConfig {
    pub api_token: Secret,
    pub check_ids: Vec<u64>,
    /// Without a trailing slash.
    pub base_url: String,
    pub interval: Duration,
    pub process_type: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CheckConfig {
    pub name: String,
    pub kind: CheckKind,
    pub url: Secret,
    pub replica_url: Option<Secret>,
    pub interval: Duration,
    pub timeout: Duration,
    pub expect_status: u16,
    pub thresholds: BTreeMap<String, Threshold>,
}

/// Everything one app probes and checks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AppProbes {
    pub heartbeats: Vec<ProbeConfig>,
    pub pingdom: Option<PingdomConfig>,
    pub checks: Vec<CheckConfig>,
}

impl AppProbes {
    pub fn is_empty(&self) -> bool {
        self.heartbeats.is_empty() && self.pingdom.is_none() && self.checks.is_empty()
    }
}

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "OPTIONS"];

impl Builder<'_> {
    /// The one place an app's probes and checks are validated; errors name key and line.
    pub(super) fn app_probes(&mut self, prefix: &str, app: &RawApp) -> AppProbes {
        let heartbeats = app
            .probes
            .iter()
            .map(|(name, raw)| self.heartbeat(&format!("{prefix}.probes.{name}"), name, raw))
            .collect();
        let pingdom = app
            .pingdom
            .as_ref()
            .map(|raw| self.pingdom(&format!("{prefix}.pingdom"), raw));
        let mut checks: Vec<CheckConfig> = Vec::new();
        for (i, raw) in app.checks.iter().enumerate() {
            let key = format!("{prefix}.checks[{i}]");
            if checks.iter().any(|c| c.name == raw.name) {
                self.err(
                    &format!("{key}.name"),
                    format!("`{}` is used by another check", raw.name),
                );
            }
            checks.push(self.check(&key, raw));
        }
        AppProbes {
            heartbeats,
            pingdom,
            checks,
        }
    }

    fn heartbeat(&mut self, key: &str, name: &str, raw: &RawProbe) -> ProbeConfig {
        self.http_url(&format!("{key}.url"), &raw.url);
        let method = raw.method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            self.err(
                &format!("{key}.method"),
                format!("`{}` is not one of {}", raw.method, METHODS.join(", ")),
            );
        }
        self.status(&format!("{key}.expect_status"), raw.expect_status);
        let timeout = self.duration(&format!("{key}.timeout"), raw.timeout);
        let interval = self.duration(&format!("{key}.interval"), raw.interval);
        if timeout > interval {
            self.err(
                &format!("{key}.timeout"),
                format!("{} is longer than interval {}", raw.timeout, raw.interval),
            );
        }
        for header in raw.headers.keys() {
            if axum::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
                self.err(
                    &format!("{key}.headers"),
                    format!("`{header}` is not a header name"),
                );
            }
        }
        self.process_type(&format!("{key}.process_type"), &raw.process_type);
        ProbeConfig {
            name: name.to_owned(),
            url: raw.url.clone(),
            method,
            expect_status: raw.expect_status,
            body_contains: raw.body_contains.clone(),
            timeout,
            interval,
            headers: raw
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            process_type: raw.process_type.clone(),
        }
    }

    fn pingdom(&mut self, key: &str, raw: &RawPingdom) -> PingdomConfig {
        if raw.api_token.expose().trim().is_empty() {
            self.err(&format!("{key}.api_token"), "required: a Pingdom API token");
        }
        if raw.check_ids.is_empty() {
            self.err(
                &format!("{key}.check_ids"),
                "required: at least one check id",
            );
        }
        let base_url = raw.base_url.trim_end_matches('/').to_owned();
        self.http_url(&format!("{key}.base_url"), &base_url);
        let interval = self.duration(&format!("{key}.interval"), raw.interval);
        self.process_type(&format!("{key}.process_type"), &raw.process_type);
        PingdomConfig {
            api_token: raw.api_token.clone(),
            check_ids: raw.check_ids.clone(),
            base_url,
            interval,
            process_type: raw.process_type.clone(),
        }
    }

    fn check(&mut self, key: &str, raw: &RawCheck) -> CheckConfig {
        if raw.name.trim().is_empty() {
            self.err(&format!("{key}.name"), "required: a name for the check");
        }
        let url = raw.url.expose();
        let schemes: &[&str] = match raw.kind {
            CheckKind::Http => &["http://", "https://"],
            CheckKind::Redis => &["redis://", "rediss://"],
            CheckKind::Postgres => &["postgres://", "postgresql://"],
        };
        for (k, u) in [
            ("url", Some(url)),
            ("replica_url", raw.replica_url.as_ref().map(Secret::expose)),
        ] {
            if let Some(u) = u
                && !schemes.iter().any(|s| u.starts_with(s))
            {
                self.err(
                    &format!("{key}.{k}"),
                    format!(
                        "`{}` is not a {} URL ({})",
                        redact_url(u),
                        raw.kind.as_str(),
                        schemes.join(" or ")
                    ),
                );
            }
        }
        if raw.replica_url.is_some() && raw.kind != CheckKind::Postgres {
            self.err(
                &format!("{key}.replica_url"),
                "only a postgres check has a replica",
            );
        }
        let interval = self.duration(&format!("{key}.interval"), raw.interval);
        let timeout = self.duration(&format!("{key}.timeout"), raw.timeout);
        if raw.kind == CheckKind::Http {
            self.status(&format!("{key}.expect_status"), raw.expect_status);
        }
        let known = metrics(raw.kind);
        for (name, t) in &raw.thresholds {
            let tk = format!("{key}.thresholds.{name}");
            if !known.contains(&name.as_str()) {
                self.err(
                    &tk,
                    format!(
                        "a {} check measures {}, not `{name}`",
                        raw.kind.as_str(),
                        known.join(", ")
                    ),
                );
                continue;
            }
            self.threshold(&tk, name, t);
        }
        CheckConfig {
            name: raw.name.clone(),
            kind: raw.kind,
            url: raw.url.clone(),
            replica_url: raw.replica_url.clone(),
            interval,
            timeout,
            expect_status: raw.expect_status,
            thresholds: raw.thresholds.clone(),
        }
    }

    fn threshold(&mut self, key: &str, name: &str, t: &Threshold) {
        for (k, v) in [("degraded", t.degraded), ("down", t.down)] {
            if let Some(v) = v
                && !(v.is_finite() && v >= 0.0)
            {
                self.err(
                    &format!("{key}.{k}"),
                    format!("must be a number ≥ 0 (got {v})"),
                );
            }
            if name.ends_with("_pct") && v.is_some_and(|v| v > 100.0) {
                self.err(&format!("{key}.{k}"), "is a percentage: at most 100");
            }
        }
        if let (Some(degraded), Some(down)) = (t.degraded, t.down) {
            // Days left count down; every other value counts up.
            let ordered = if name == "tls_days_left" {
                down <= degraded
            } else {
                down >= degraded
            };
            if !ordered {
                self.err(
                    &format!("{key}.down"),
                    format!("{down} is less severe than degraded {degraded}"),
                );
            }
        }
    }

    fn http_url(&mut self, key: &str, url: &str) {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            self.err(key, format!("`{}` is not an http(s) URL", redact_url(url)));
        }
    }

    fn status(&mut self, key: &str, status: u16) {
        if !(100..=599).contains(&status) {
            self.err(key, format!("{status} is not an HTTP status"));
        }
    }

    fn duration(&mut self, key: &str, d: ConfigDuration) -> Duration {
        if let Some(problem) = d.positive_problem() {
            self.err(key, problem);
        }
        d.get()
    }

    fn process_type(&mut self, key: &str, name: &str) {
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            self.err(key, format!("`{name}` is not a process type name"));
        }
    }
}
