//! HireFire, both ways. Pushed: the middleware POSTs web request queue times as
//! `{"<unix_second>": [ms, …], …}` with a `HireFire-Token` header. Pulled: dynopilot GETs
//! `<app url>/hirefire/<token>/info`, answered `[{"name": "<process type>", "value": n}, …]`
//! (older libraries: `"quantity"`), where `n` is jobs waiting or seconds the oldest job waited,
//! as the config says (`HireFireValues`).

use std::collections::BTreeMap;
use std::sync::Arc;

use dynopilot_core::names::ProcessType;
use dynopilot_core::policy::QueueSample;
use dynopilot_core::{Clock, Timestamp};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::report::{Report, ReportError};
use super::{AgentDirectory, Protocol};
use crate::config::{HireFirePull, HireFireValues};
use crate::ingest::Ingest;

/// Parses a pushed body: every key a unix second, every value a list of queue times in ms.
pub fn parse_push(body: &[u8]) -> Result<Report, ReportError> {
    let wire: BTreeMap<String, Vec<serde_json::Value>> =
        serde_json::from_slice(body).map_err(|e| ReportError::Malformed(e.to_string()))?;
    let mut report = Report::default();
    for (second, times) in wire {
        let at = second
            .parse::<i64>()
            .ok()
            .filter(|s| (0..100_000_000_000).contains(s))
            .map(|s| Timestamp::from_millis(s * 1000))
            .ok_or_else(|| ReportError::Malformed(format!("`{second}` is not a unix second")))?;
        for ms in times {
            let ms = ms
                .as_f64()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    ReportError::Malformed(format!(
                        "queue time `{ms}` at {second} is not a number of ms"
                    ))
                })?;
            report.queue_time.push((at, ms));
        }
    }
    Ok(report)
}

#[derive(Deserialize)]
struct InfoEntry {
    name: String,
    #[serde(default)]
    value: Option<f64>,
    /// The pre-2022 libraries' name for `value`.
    #[serde(default)]
    quantity: Option<f64>,
}

/// Parses an info answer read at `at` into one queue sample per process type.
pub fn parse_info(
    body: &[u8],
    values: HireFireValues,
    at: Timestamp,
) -> Result<Report, ReportError> {
    let entries: Vec<InfoEntry> =
        serde_json::from_slice(body).map_err(|e| ReportError::Malformed(e.to_string()))?;
    let mut report = Report::default();
    for entry in entries {
        let value = entry
            .value
            .or(entry.quantity)
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| ReportError::Malformed(format!("`{}` has no value", entry.name)))?;
        if ProcessType::parse(&entry.name).is_err() {
            return Err(ReportError::Malformed(format!(
                "`{}` is not a process type name",
                entry.name
            )));
        }
        let sample = match values {
            HireFireValues::Depth => QueueSample {
                at,
                depth: value.round() as u64,
                latency_ms: None,
                busy: None,
            },
            HireFireValues::Latency => QueueSample {
                at,
                depth: u64::from(value > 0.0),
                latency_ms: Some(value * 1000.0),
                busy: None,
            },
        };
        report.samples.push((entry.name, sample));
    }
    Ok(report)
}

/// Pulls one app's info endpoint every `pull.interval` until cancelled; a failed pull is
/// counted and logged (once per streak), never read as an empty queue.
pub struct Puller {
    pub app: String,
    pub token: String,
    pub pull: HireFirePull,
    pub ingest: Ingest,
    pub directory: Arc<std::sync::RwLock<AgentDirectory>>,
    pub clock: Arc<dyn Clock>,
}

impl Puller {
    pub async fn run(self, cancel: CancellationToken) {
        let client = match reqwest::Client::builder()
            .timeout(self.pull.timeout)
            .connect_timeout(self.pull.timeout)
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(app = %self.app, error = %e, "HireFire pull: no HTTP client");
                return;
            }
        };
        let mut failing = false;
        loop {
            let outcome = tokio::select! {
                () = cancel.cancelled() => return,
                outcome = self.pull_once(&client) => outcome,
            };
            match outcome {
                Ok(_) if failing => {
                    failing = false;
                    tracing::info!(app = %self.app, "HireFire info answers again");
                }
                Ok(_) => {}
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(app = %self.app, error = %e, "HireFire info pull failed; the job queue holds until it answers");
                }
                Err(_) => {}
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = self.clock.sleep(self.pull.interval) => {}
            }
        }
    }

    /// One GET; the answer is applied like a pushed report.
    pub async fn pull_once(&self, client: &reqwest::Client) -> Result<usize, String> {
        let url = format!("{}/hirefire/{}/info", self.pull.url, self.token);
        let metrics = &self.ingest.metrics;
        let answer = async {
            let response = client.get(&url).send().await.map_err(|e| {
                // The URL holds the token: say what failed, not where.
                if e.is_timeout() {
                    format!("no answer within {:?}", self.pull.timeout)
                } else {
                    "connection failed".to_owned()
                }
            })?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("answered {status}"));
            }
            response
                .bytes()
                .await
                .map_err(|_| "body unreadable".to_owned())
        }
        .await;
        let body = match answer {
            Ok(body) => body,
            Err(e) => {
                metrics.count_agent(Protocol::HireFirePull.key(), "pull_failed");
                return Err(e);
            }
        };
        let now = self.clock.now();
        let report = match parse_info(&body, self.pull.values, now) {
            Ok(r) => r,
            Err(e) => {
                metrics.count_agent(Protocol::HireFirePull.key(), "malformed");
                return Err(e.to_string());
            }
        };
        let applied = super::apply_to(&self.ingest, &self.directory, &self.app, &report, now);
        metrics.count_agent(Protocol::HireFirePull.key(), "accepted");
        Ok(applied.queue_samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const AT: Timestamp = Timestamp::from_millis(1_767_225_600_000);

    #[test]
    fn reads_pushed_queue_times_per_second() {
        let r = parse_push(br#"{"1767225600":[12,40,3],"1767225601":[7]}"#).unwrap();
        assert_eq!(r.queue_time.len(), 4);
        assert_eq!(r.queue_time[3], (AT.plus(Duration::from_secs(1)), 7.0));
        for bad in [
            &b"[1,2]"[..],
            br#"{"soon":[1]}"#,
            br#"{"1767225600":["x"]}"#,
            b"{",
        ] {
            assert!(parse_push(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn reads_info_as_depth_or_latency_and_the_legacy_quantity() {
        let body = br#"[{"name":"worker","value":42},{"name":"urgent_worker","quantity":3.5}]"#;
        let depth = parse_info(body, HireFireValues::Depth, AT).unwrap();
        assert_eq!(depth.samples[0].1.depth, 42);
        assert_eq!(depth.samples[1].0, "urgent_worker");
        let latency = parse_info(body, HireFireValues::Latency, AT).unwrap();
        assert_eq!(latency.samples[1].1.latency_ms, Some(3500.0));
        assert!(parse_info(br#"[{"name":"worker"}]"#, HireFireValues::Depth, AT).is_err());
        assert!(
            parse_info(
                br#"[{"name":"no such","value":1}]"#,
                HireFireValues::Depth,
                AT
            )
            .is_err()
        );
    }
}
