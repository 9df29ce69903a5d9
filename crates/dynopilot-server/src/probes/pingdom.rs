//! The Pingdom client: for each configured check, `GET /checks/{id}` once, then every interval
//! `GET /results/{id}?from=…&limit=…` with `Authorization: Bearer <token>`; each new result
//! becomes a `ProbeResult` (`pingdom:<id>`, response time, up or not) of the process type,
//! for the trend algorithm. A refused token (401/403) is reported and retried only after a
//! long pause; a rate limit (429) waits for `Retry-After` or `Req-Limit-*`'s reset time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::ProbeResult;
use serde::Deserialize;

use super::{Context, TargetStats, record};
use crate::config::PingdomConfig;

/// Results asked for per request.
pub const RESULTS_LIMIT: u32 = 100;
/// How far back the first request reaches.
const FIRST_LOOKBACK_S: i64 = 600;
/// After a refused token: the first pause, doubled up to `MAX_PAUSE`.
const REFUSED_PAUSE: Duration = Duration::from_secs(15 * 60);
const MAX_PAUSE: Duration = Duration::from_secs(60 * 60);
/// A 429 without a usable reset time waits this long, doubled while it lasts.
const RATE_LIMIT_PAUSE: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize)]
struct ResultsBody {
    results: Vec<PingdomResult>,
}

#[derive(Debug, Deserialize)]
struct PingdomResult {
    time: i64,
    status: String,
    #[serde(default)]
    responsetime: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct CheckBody {
    check: CheckInfo,
}

#[derive(Debug, Deserialize)]
struct CheckInfo {
    name: String,
}

/// Why a request got no data, and how long to wait before the next one.
#[derive(Debug, PartialEq)]
pub enum Trouble {
    /// 401/403: the token is wrong or lacks access; an app-level access problem.
    Refused(String),
    /// 429: wait this long.
    RateLimited(Duration),
    Other(String),
}

pub async fn run(cx: Context, config: PingdomConfig) {
    let stats = cx.stats.target(&cx.app, "pingdom");
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(app = %cx.app, error = %e, "cannot build the Pingdom HTTP client");
            return;
        }
    };
    let mut poller = Poller {
        client,
        config,
        seen: BTreeMap::new(),
        named: BTreeMap::new(),
        refused_pause: REFUSED_PAUSE,
        limited_pause: RATE_LIMIT_PAUSE,
    };
    let interval = poller.config.interval;
    loop {
        let Some(next) = cx.turn(poller.once(&cx, &stats, interval)).await else {
            return;
        };
        if !cx.rest(next).await {
            return;
        }
    }
}

struct Poller {
    client: reqwest::Client,
    config: PingdomConfig,
    /// Newest result time seen per check (unix seconds).
    seen: BTreeMap<u64, i64>,
    /// Checks confirmed with `GET /checks/{id}`, with their names.
    named: BTreeMap<u64, String>,
    refused_pause: Duration,
    limited_pause: Duration,
}

impl Poller {
    async fn once(
        &mut self,
        cx: &Context,
        stats: &Arc<TargetStats>,
        interval: Duration,
    ) -> Duration {
        let _in_flight = stats.start();
        match self.poll(cx).await {
            Ok(()) => {
                stats.set_problem(None);
                self.refused_pause = REFUSED_PAUSE;
                self.limited_pause = RATE_LIMIT_PAUSE;
                interval
            }
            Err(trouble) => self.back_off(cx, stats, trouble),
        }
    }

    async fn poll(&mut self, cx: &Context) -> Result<(), Trouble> {
        let now = cx.clock.now();
        for id in self.config.check_ids.clone() {
            if !self.named.contains_key(&id) {
                let body: CheckBody = self.get(&format!("/checks/{id}"), &[]).await?;
                tracing::info!(app = %cx.app, check = id, name = %body.check.name, "reading Pingdom check");
                self.named.insert(id, body.check.name);
            }
            let from = self
                .seen
                .get(&id)
                .map_or(now.as_millis() / 1000 - FIRST_LOOKBACK_S, |t| t + 1);
            let query = [
                ("from", from.to_string()),
                ("limit", RESULTS_LIMIT.to_string()),
            ];
            let body: ResultsBody = self.get(&format!("/results/{id}"), &query).await?;
            let mut results = body.results;
            results.sort_by_key(|r| r.time);
            for r in results.into_iter().filter(|r| r.time >= from) {
                self.seen.insert(id, r.time);
                let result = ProbeResult {
                    at: Timestamp::from_millis(r.time.saturating_mul(1000)),
                    name: format!("pingdom:{id}"),
                    ok: r.status == "up",
                    latency_ms: r.responsetime,
                };
                record::probe(&cx.ingest, &cx.app, &self.config.process_type, result);
            }
        }
        Ok(())
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, Trouble> {
        // Values are numbers: nothing to escape.
        let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let url = if query.is_empty() {
            format!("{}{path}", self.config.base_url)
        } else {
            format!("{}{path}?{}", self.config.base_url, query.join("&"))
        };
        let response = self
            .client
            .get(&url)
            .bearer_auth(self.config.api_token.expose())
            .send()
            .await
            .map_err(|e| Trouble::Other(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        match status {
            200..=299 => response.json().await.map_err(|e| {
                Trouble::Other(format!("unreadable answer to {path}: {}", e.without_url()))
            }),
            401 | 403 => Err(Trouble::Refused(format!(
                "Pingdom refused the API token ({status} on {path})"
            ))),
            429 => Err(Trouble::RateLimited(
                retry_after(response.headers()).unwrap_or(self.limited_pause),
            )),
            _ => Err(Trouble::Other(format!(
                "Pingdom answered {status} on {path}"
            ))),
        }
    }

    /// Reports `trouble` and says how long to wait before the next request.
    fn back_off(&mut self, cx: &Context, stats: &TargetStats, trouble: Trouble) -> Duration {
        TargetStats::count(&stats.failures);
        match trouble {
            Trouble::Refused(why) => {
                let pause = self.refused_pause;
                tracing::error!(app = %cx.app, retry_in = ?pause, "{why}; check pingdom.api_token");
                stats.set_problem(Some(format!("{why}; retrying in {}s", pause.as_secs())));
                self.refused_pause = (pause * 2).min(MAX_PAUSE);
                pause
            }
            Trouble::RateLimited(pause) => {
                tracing::warn!(app = %cx.app, retry_in = ?pause, "Pingdom rate limit reached");
                stats.set_problem(Some(format!(
                    "Pingdom rate limit reached; waiting {}s",
                    pause.as_secs()
                )));
                self.limited_pause = (self.limited_pause * 2).min(MAX_PAUSE);
                pause.max(self.config.interval)
            }
            Trouble::Other(why) => {
                tracing::warn!(app = %cx.app, "Pingdom: {why}");
                stats.set_problem(Some(why));
                self.config.interval
            }
        }
    }
}

/// `Retry-After: <seconds>`, else the longest "Time until reset" of the exhausted
/// `Req-Limit-Short` / `Req-Limit-Long` headers (`Remaining: 0 Time until reset: 3599`).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    if let Some(s) = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Duration::from_secs(s));
    }
    ["req-limit-short", "req-limit-long"]
        .iter()
        .filter_map(|h| headers.get(*h)?.to_str().ok())
        .filter_map(parse_req_limit)
        .filter(|(remaining, _)| *remaining == 0)
        .map(|(_, reset)| Duration::from_secs(reset))
        .max()
}

/// `Remaining: 0 Time until reset: 3599` → (0, 3599).
fn parse_req_limit(v: &str) -> Option<(u64, u64)> {
    let number_after = |label: &str| -> Option<u64> {
        let rest = &v[v.find(label)? + label.len()..];
        let digits: String = rest
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    Some((
        number_after("Remaining:")?,
        number_after("Time until reset:")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_time_comes_from_retry_after_or_the_exhausted_limit() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            "req-limit-short",
            "Remaining: 0 Time until reset: 42".parse().unwrap(),
        );
        h.insert(
            "req-limit-long",
            "Remaining: 7000 Time until reset: 2591000".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(42)));
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
    }
}
