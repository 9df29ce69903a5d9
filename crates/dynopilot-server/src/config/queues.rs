//! `[[apps.queues]]`: the job queues dynopilot reads itself to scale an app's workers (Sidekiq,
//! RQ, Celery, Resque in Redis; GoodJob, Que, Solid Queue, delayed_job in Postgres), checked
//! key by key; the URL is a secret, given inline or as the name of an environment variable.

use std::collections::BTreeMap;
use std::time::Duration;

use dynopilot_core::names::ProcessType;
use dynopilot_core::policy::ConfigDuration;
use dynopilot_queues::Adapter;
use serde::{Deserialize, Serialize};

use super::build::Builder;
use super::secret::Secret;

pub const DEFAULT_QUEUE_PROCESS_TYPE: &str = "worker";
pub const DEFAULT_QUEUE_INTERVAL: Duration = Duration::from_secs(10);
pub const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(5);

/// One `[[apps.queues]]` entry as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQueueSource {
    pub adapter: String,
    #[serde(default)]
    pub url: Option<Secret>,
    /// The environment variable holding the URL (e.g. Heroku's `REDIS_URL`).
    #[serde(default)]
    pub url_env: Option<String>,
    #[serde(default)]
    pub queues: Vec<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub process_type: Option<String>,
    #[serde(default)]
    pub interval: Option<ConfigDuration>,
    #[serde(default)]
    pub timeout: Option<ConfigDuration>,
}

/// A validated queue source of one app.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueSourceConfig {
    pub adapter: Adapter,
    pub url: Secret,
    /// Empty: every queue the library lists.
    pub queues: Vec<String>,
    pub namespace: Option<String>,
    /// The process type whose queue this is (its `queue` autoscaler reads the sum).
    pub process_type: String,
    pub interval: Duration,
    pub timeout: Duration,
}

impl QueueSourceConfig {
    pub fn spec(&self) -> dynopilot_queues::SourceSpec {
        dynopilot_queues::SourceSpec {
            adapter: self.adapter,
            url: self.url.expose().to_owned(),
            queues: self.queues.clone(),
            namespace: self.namespace.clone(),
            timeout: self.timeout,
        }
    }
}

impl Builder<'_> {
    /// Every problem of `raw` reported under `prefix` (`apps[0].queues`); valid entries kept.
    pub(super) fn queue_sources(
        &mut self,
        prefix: &str,
        raw: &[RawQueueSource],
        env: &BTreeMap<String, String>,
    ) -> Vec<QueueSourceConfig> {
        let mut out = Vec::new();
        for (i, q) in raw.iter().enumerate() {
            let key = format!("{prefix}[{i}]");
            let Some(source) = self.queue_source(&key, q, env) else {
                continue;
            };
            // Two sources would each push their own samples and the newest would win.
            if out
                .iter()
                .any(|o: &QueueSourceConfig| o.process_type == source.process_type)
            {
                self.err(
                    &format!("{key}.process_type"),
                    format!(
                        "`{}` already has a queue source: list all its queues in one",
                        source.process_type
                    ),
                );
                continue;
            }
            out.push(source);
        }
        out
    }

    fn queue_source(
        &mut self,
        key: &str,
        q: &RawQueueSource,
        env: &BTreeMap<String, String>,
    ) -> Option<QueueSourceConfig> {
        let before = self.error_count();
        let adapter = Adapter::parse(&q.adapter);
        if adapter.is_none() {
            let known: Vec<&str> = Adapter::ALL.iter().map(|a| a.as_str()).collect();
            self.err(
                &format!("{key}.adapter"),
                format!(
                    "unknown adapter `{}`; one of {}",
                    q.adapter,
                    known.join(", ")
                ),
            );
        }
        let url = self.queue_url(key, q, env);
        if let (Some(adapter), Some(url)) = (adapter, &url) {
            let scheme = url.expose().split("://").next().unwrap_or_default();
            if !adapter.schemes().contains(&scheme) {
                let at = if q.url.is_some() { "url" } else { "url_env" };
                self.err(
                    &format!("{key}.{at}"),
                    format!(
                        "{adapter} reads {} URLs ({}://…), not `{scheme}://`",
                        if adapter.uses_redis() {
                            "Redis"
                        } else {
                            "Postgres"
                        },
                        adapter.schemes()[0]
                    ),
                );
            }
        }
        if let Some(name) = q.queues.iter().find(|n| n.trim().is_empty()) {
            self.err(
                &format!("{key}.queues"),
                format!("queue name `{name}` is empty"),
            );
        }
        if q.namespace.is_some() && matches!(adapter, Some(a) if !a.namespaced()) {
            self.err(
                &format!("{key}.namespace"),
                "only sidekiq, resque and celery keys carry a namespace".to_owned(),
            );
        }
        let process_type = q
            .process_type
            .clone()
            .unwrap_or_else(|| DEFAULT_QUEUE_PROCESS_TYPE.to_owned());
        if ProcessType::parse(&process_type).is_err() {
            self.err(
                &format!("{key}.process_type"),
                format!("`{process_type}` is not a process type name"),
            );
        }
        let interval = self.queue_duration(key, "interval", q.interval, DEFAULT_QUEUE_INTERVAL);
        let timeout = self.queue_duration(key, "timeout", q.timeout, DEFAULT_QUEUE_TIMEOUT);
        if timeout > interval && !interval.is_zero() {
            self.err(
                &format!("{key}.timeout"),
                "must not be longer than interval (one read at a time)".to_owned(),
            );
        }
        if self.error_count() > before {
            return None;
        }
        Some(QueueSourceConfig {
            adapter: adapter?,
            url: url?,
            queues: q.queues.clone(),
            namespace: q.namespace.clone(),
            process_type,
            interval,
            timeout,
        })
    }

    fn queue_url(
        &mut self,
        key: &str,
        q: &RawQueueSource,
        env: &BTreeMap<String, String>,
    ) -> Option<Secret> {
        match (&q.url, &q.url_env) {
            (Some(url), None) if !url.is_empty() => Some(url.clone()),
            (None, Some(var)) => match env.get(var).filter(|v| !v.trim().is_empty()) {
                Some(value) => Some(Secret::new(value.trim())),
                None => {
                    self.err(
                        &format!("{key}.url_env"),
                        format!("environment variable `{var}` is not set"),
                    );
                    None
                }
            },
            (Some(_), Some(_)) => {
                self.err(
                    &format!("{key}.url"),
                    "set url or url_env, not both".to_owned(),
                );
                None
            }
            _ => {
                self.err(
                    key,
                    "needs url (or url_env naming the variable that holds it)".to_owned(),
                );
                None
            }
        }
    }

    fn queue_duration(
        &mut self,
        key: &str,
        field: &str,
        value: Option<ConfigDuration>,
        default: Duration,
    ) -> Duration {
        let Some(value) = value else { return default };
        if let Some(problem) = value.positive_problem() {
            self.err(&format!("{key}.{field}"), problem);
        }
        value.get()
    }
}
