//! `HerokuClient`: HTTP plumbing for the Platform API — headers, budget, retries, pagination,
//! error classification. The endpoint methods live in `endpoints.rs`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dynopilot_core::Clock;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use reqwest::Url;
use serde::de::DeserializeOwned;

use crate::api_key::ApiKey;
use crate::attempts::AttemptStats;
use crate::budget::RequestBudget;
use crate::error::HerokuError;
use crate::retry::{Idempotency, Jitter, RandomJitter, RetryPolicy};

/// Heroku's production API.
pub const DEFAULT_BASE_URL: &str = "https://api.heroku.com";
/// Platform API v3.
pub const ACCEPT_V3: &str = "application/vnd.heroku+json; version=3";
/// Items per page requested with `Range` (Heroku's default and our choice).
pub const PAGE_SIZE: u32 = 200;
/// A safety stop for a server that keeps answering `206` with a `Next-Range`.
const MAX_PAGES: usize = 1000;

/// `dynopilot/<crate version>`.
pub fn default_user_agent() -> String {
    format!("dynopilot/{}", env!("CARGO_PKG_VERSION"))
}

/// How to reach Heroku.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: String,
    pub api_key: ApiKey,
    pub user_agent: String,
    pub retry: RetryPolicy,
    /// Limit for one API call (not for log streams, which stay open).
    pub request_timeout: Duration,
}

impl ClientConfig {
    /// Production defaults for `api_key`.
    pub fn new(api_key: ApiKey) -> Self {
        ClientConfig {
            base_url: DEFAULT_BASE_URL.to_string(),
            api_key,
            user_agent: default_user_agent(),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// A typed Platform API client. Cheap to clone; clones share the HTTP pool and the budget.
#[derive(Clone)]
pub struct HerokuClient {
    http: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    config_retry: RetryPolicy,
    request_timeout: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    budget: Arc<RequestBudget>,
    pub(crate) jitter: Arc<dyn Jitter>,
    attempts: Arc<AttemptStats>,
}

impl std::fmt::Debug for HerokuClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HerokuClient")
            .field("base_url", &self.base.as_str())
            .field("api_key", &"ApiKey(***)")
            .finish_non_exhaustive()
    }
}

/// One request as the endpoint methods describe it.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub segments: &'a [&'a str],
    pub body: Option<serde_json::Value>,
    pub idempotency: Idempotency,
    /// `GET /account/rate-limits` is free; everything else takes a budget token.
    pub costs_token: bool,
}

impl<'a> Call<'a> {
    pub fn get(segments: &'a [&'a str]) -> Self {
        Call {
            method: Method::GET,
            segments,
            body: None,
            idempotency: Idempotency::Idempotent,
            costs_token: true,
        }
    }

    pub fn with(method: Method, segments: &'a [&'a str], idempotency: Idempotency) -> Self {
        Call {
            method,
            idempotency,
            ..Call::get(segments)
        }
    }

    pub fn body(mut self, body: &impl serde::Serialize) -> Result<Self, HerokuError> {
        let value = serde_json::to_value(body)
            .map_err(|e| HerokuError::invalid(format!("cannot encode request body: {e}")))?;
        self.body = Some(value);
        Ok(self)
    }
}

/// A successful response.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl HerokuClient {
    /// Builds a client. `budget` should be shared by every client using the same account.
    pub fn new(
        config: ClientConfig,
        clock: Arc<dyn Clock>,
        budget: Arc<RequestBudget>,
    ) -> Result<Self, HerokuError> {
        let base = Url::parse(&config.base_url)
            .map_err(|e| HerokuError::invalid(format!("bad base URL: {e}")))?;
        if base.cannot_be_a_base() {
            return Err(HerokuError::invalid("bad base URL: cannot hold a path"));
        }
        if config.api_key.is_empty() {
            return Err(HerokuError::invalid("empty API key"));
        }
        let auth = config
            .api_key
            .bearer_header()
            .ok_or_else(|| HerokuError::invalid("API key has characters not allowed in HTTP"))?;
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(HerokuError::transport)?;
        let seed = u64::try_from(clock.now().as_millis()).unwrap_or(0);
        Ok(HerokuClient {
            http,
            base,
            auth,
            config_retry: config.retry,
            request_timeout: config.request_timeout,
            clock,
            budget,
            jitter: Arc::new(RandomJitter::seeded(seed)),
            attempts: Arc::default(),
        })
    }

    /// This client acting with another key (an app's own key): same connection pool, retry
    /// policy, jitter and attempt counters, and `budget`, since each key is its own account's
    /// request bucket.
    pub fn with_api_key(
        &self,
        api_key: &ApiKey,
        budget: Arc<RequestBudget>,
    ) -> Result<Self, HerokuError> {
        if api_key.is_empty() {
            return Err(HerokuError::invalid("empty API key"));
        }
        let auth = api_key
            .bearer_header()
            .ok_or_else(|| HerokuError::invalid("API key has characters not allowed in HTTP"))?;
        Ok(HerokuClient {
            auth,
            budget,
            ..self.clone()
        })
    }

    /// Replaces the jitter source (tests use [`crate::ZeroJitter`]).
    pub fn with_jitter(mut self, jitter: Arc<dyn Jitter>) -> Self {
        self.jitter = jitter;
        self
    }

    /// Counts this client's failed attempts and retries into `attempts` (clones made after
    /// this share them).
    pub fn with_attempts(mut self, attempts: Arc<AttemptStats>) -> Self {
        self.attempts = attempts;
        self
    }

    pub fn attempts(&self) -> &Arc<AttemptStats> {
        &self.attempts
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.config_retry
    }

    pub fn budget(&self) -> &Arc<RequestBudget> {
        &self.budget
    }

    /// The base URL with each segment appended, percent-encoded.
    fn url(&self, segments: &[&str]) -> Result<Url, HerokuError> {
        // An empty, "." or ".." name would silently change which resource is addressed
        // (e.g. restart one dyno -> restart all), so refuse it outright.
        if segments
            .iter()
            .any(|s| s.is_empty() || *s == "." || *s == "..")
        {
            return Err(HerokuError::invalid(
                "app, dyno and process type names must not be empty, '.' or '..'",
            ));
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| HerokuError::invalid("bad base URL"))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// One attempt: budget token, request, budget bookkeeping, classification.
    async fn send_once(&self, call: &Call<'_>, range: Option<&str>) -> Result<Reply, HerokuError> {
        let url = self.url(call.segments)?;
        if call.costs_token {
            self.budget.acquire().await;
        }
        let mut request = self
            .http
            .request(call.method.clone(), url)
            .timeout(self.request_timeout)
            .header(header::ACCEPT, ACCEPT_V3)
            .header(header::AUTHORIZATION, self.auth.clone());
        if let Some(range) = range {
            request = request.header(header::RANGE, range);
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(HerokuError::transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(remaining) = header_u32(&headers, "ratelimit-remaining") {
            self.budget.observe_remaining(remaining);
        }
        let body = response.bytes().await.map_err(HerokuError::transport)?;
        if status.is_success() {
            return Ok(Reply {
                status,
                headers,
                body,
            });
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.budget.observe_exhausted();
        }
        let retry_after =
            header_u32(&headers, "retry-after").map(|s| Duration::from_secs(s.into()));
        Err(HerokuError::from_status(
            status.as_u16(),
            retry_after,
            &body,
        ))
    }

    /// `send_once`, counted: a failed attempt by its status class, an attempt after the first
    /// as a retry.
    async fn send_counted(
        &self,
        call: &Call<'_>,
        range: Option<&str>,
        attempt: u32,
    ) -> Result<Reply, HerokuError> {
        if attempt > 1 {
            self.attempts.record_retry();
        }
        let result = self.send_once(call, range).await;
        if let Err(e) = &result {
            self.attempts.record_failure(e);
        }
        result
    }

    /// One logical request with retries; `range` is sent unchanged on every attempt.
    async fn send(&self, call: &Call<'_>, range: Option<&str>) -> Result<Reply, HerokuError> {
        self.config_retry
            .run(
                &*self.clock,
                &*self.jitter,
                call.idempotency,
                move |attempt| self.send_counted(call, range, attempt),
            )
            .await
    }

    /// Sends `call` and decodes its JSON body.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, HerokuError> {
        let reply = self.send(&call, None).await?;
        decode(&reply.body)
    }

    /// Sends `call` and ignores the body (restart and stop answer `{}`).
    pub(crate) async fn empty(&self, call: Call<'_>) -> Result<(), HerokuError> {
        self.send(&call, None).await.map(|_| ())
    }

    /// Sends a list request, following `Next-Range` while Heroku answers `206`.
    pub(crate) async fn list<T: DeserializeOwned>(
        &self,
        call: Call<'_>,
        first_range: Option<String>,
    ) -> Result<Vec<T>, HerokuError> {
        self.list_pages(call, first_range, MAX_PAGES).await
    }

    /// Like [`HerokuClient::list`] but stops after `max_pages` pages.
    pub(crate) async fn list_pages<T: DeserializeOwned>(
        &self,
        call: Call<'_>,
        first_range: Option<String>,
        max_pages: usize,
    ) -> Result<Vec<T>, HerokuError> {
        let limit = max_pages.min(MAX_PAGES);
        let mut items = Vec::new();
        let mut range = first_range;
        for page in 1..=limit {
            let reply = self.send(&call, range.as_deref()).await?;
            items.extend(decode::<Vec<T>>(&reply.body)?);
            let next = reply
                .headers
                .get("next-range")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let Some(next) = next.filter(|_| reply.status == StatusCode::PARTIAL_CONTENT) else {
                return Ok(items);
            };
            if page == MAX_PAGES {
                return Err(HerokuError::decode(format!(
                    "pagination did not end after {MAX_PAGES} pages"
                )));
            }
            range = Some(next);
        }
        Ok(items)
    }

    /// Opens a log session's `logplex_url` for streaming. The API key is NOT sent: the URL is
    /// on another host and carries its own credentials.
    pub(crate) async fn open_stream(
        &self,
        url: &str,
        event_stream: bool,
    ) -> Result<reqwest::Response, HerokuError> {
        let url = Url::parse(url).map_err(|e| HerokuError::invalid(format!("bad log URL: {e}")))?;
        let mut request = self.http.get(url);
        if event_stream {
            request = request.header(reqwest::header::ACCEPT, "text/event-stream");
        }
        let response = request.send().await.map_err(HerokuError::transport)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.bytes().await.unwrap_or_default();
        Err(HerokuError::from_status(status.as_u16(), None, &body))
    }
}

fn header_u32(headers: &HeaderMap, name: &str) -> Option<u32> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, HerokuError> {
    serde_json::from_slice(body).map_err(HerokuError::decode)
}
