//! A fake Pingdom API 3.1 for tests: `GET /checks/{id}` and `GET /results/{id}` (with `from`,
//! `to`, `limit`) in Pingdom's documented shapes, bearer-token auth, Pingdom's error body, and
//! answers forced for the next requests (401, 429 with `Retry-After` / `Req-Limit-*`). Every
//! request is recorded (method, path, query, authorization) so tests check what was asked.
//! Routes sit under `/_pingdom/api/3.1`, outside Heroku's namespace; `router()` can be served
//! alone or merged into the simulator's.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

pub const PREFIX: &str = "/_pingdom/api/3.1";

/// One request as the fake received it.
#[derive(Clone, Debug, PartialEq)]
pub struct PingdomRequest {
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub authorization: Option<String>,
}

/// One result of a check, as `GET /results/{id}` lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct PingdomResult {
    /// Unix seconds.
    pub time: i64,
    /// `up`, `down`, `unconfirmed_down`, `unknown`.
    pub status: String,
    pub response_ms: u64,
}

/// An answer forced for one request instead of the normal one.
#[derive(Clone, Debug, PartialEq)]
pub struct Forced {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct Inner {
    token: String,
    checks: BTreeMap<u64, (String, Vec<PingdomResult>)>,
    requests: Vec<PingdomRequest>,
    forced: VecDeque<Forced>,
}

/// The fake's state, shared by the router and the test.
#[derive(Clone, Debug, Default)]
pub struct FakePingdom {
    inner: Arc<Mutex<Inner>>,
}

impl FakePingdom {
    pub fn new(token: &str) -> Self {
        let fake = FakePingdom::default();
        fake.lock().token = token.to_owned();
        fake
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn add_check(&self, id: u64, name: &str) {
        self.lock().checks.insert(id, (name.to_owned(), Vec::new()));
    }

    pub fn add_result(&self, id: u64, result: PingdomResult) {
        if let Some((_, results)) = self.lock().checks.get_mut(&id) {
            results.push(result);
        }
    }

    /// The next `n` requests get `answer`, whatever they ask.
    pub fn force(&self, answer: Forced, n: usize) {
        let mut inner = self.lock();
        for _ in 0..n {
            inner.forced.push_back(answer.clone());
        }
    }

    pub fn requests(&self) -> Vec<PingdomRequest> {
        self.lock().requests.clone()
    }

    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .route(&format!("{PREFIX}/checks/{{id}}"), get(check))
            .route(&format!("{PREFIX}/results/{{id}}"), get(results))
            .with_state(self.clone())
    }

    /// Records the request; `Some` is the answer instead when forced or unauthorised.
    fn admit(
        &self,
        path: String,
        query: BTreeMap<String, String>,
        headers: &HeaderMap,
    ) -> Option<Response> {
        let authorization = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut inner = self.lock();
        let expected = format!("Bearer {}", inner.token);
        let authorised = authorization.as_deref() == Some(expected.as_str());
        inner.requests.push(PingdomRequest {
            path,
            query,
            authorization,
        });
        if let Some(forced) = inner.forced.pop_front() {
            return Some(forced_answer(&forced));
        }
        (!authorised).then(|| error(StatusCode::UNAUTHORIZED, "Invalid token"))
    }
}

async fn check(
    State(fake): State<FakePingdom>,
    Path(id): Path<u64>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(answer) = fake.admit(format!("/checks/{id}"), query, &headers) {
        return answer;
    }
    let inner = fake.lock();
    let Some((name, results)) = inner.checks.get(&id) else {
        return error(StatusCode::NOT_FOUND, "Check not found");
    };
    let last = results.iter().max_by_key(|r| r.time);
    Json(json!({
        "check": {
            "id": id,
            "name": name,
            "hostname": "example.com",
            "resolution": 1,
            "status": last.map_or("unknown", |r| r.status.as_str()),
            "lasttesttime": last.map_or(0, |r| r.time),
            "lastresponsetime": last.map_or(0, |r| r.response_ms),
            "type": { "http": { "url": "/", "encryption": true, "port": 443 } },
        }
    }))
    .into_response()
}

async fn results(
    State(fake): State<FakePingdom>,
    Path(id): Path<u64>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let number = |k: &str| query.get(k).and_then(|v| v.parse::<i64>().ok());
    let (from, to, limit) = (number("from"), number("to"), number("limit"));
    if let Some(answer) = fake.admit(format!("/results/{id}"), query.clone(), &headers) {
        return answer;
    }
    let inner = fake.lock();
    let Some((_, results)) = inner.checks.get(&id) else {
        return error(StatusCode::NOT_FOUND, "Check not found");
    };
    let mut listed: Vec<&PingdomResult> = results
        .iter()
        .filter(|r| from.is_none_or(|f| r.time >= f) && to.is_none_or(|t| r.time <= t))
        .collect();
    // Newest first, as Pingdom lists them.
    listed.sort_by_key(|r| std::cmp::Reverse(r.time));
    listed.truncate(usize::try_from(limit.unwrap_or(1000).clamp(1, 1000)).unwrap_or(1000));
    let body: Vec<_> = listed
        .iter()
        .map(|r| {
            json!({
                "probeid": 33,
                "time": r.time,
                "status": r.status,
                "responsetime": r.response_ms,
                "statusdesc": if r.status == "up" { "OK" } else { "Down" },
                "statusdesclong": if r.status == "up" { "OK" } else { "Connection timed out" },
            })
        })
        .collect();
    Json(json!({ "results": body, "activeprobes": [33] })).into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "error": {
            "statuscode": status.as_u16(),
            "statusdesc": status.canonical_reason().unwrap_or(""),
            "errormessage": message,
        }
    });
    (status, Json(body)).into_response()
}

fn forced_answer(forced: &Forced) -> Response {
    let status = StatusCode::from_u16(forced.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = if forced.status == 429 {
        "Rate limit exceeded"
    } else {
        "Forced by the test"
    };
    let mut response = error(status, message);
    for (name, value) in &forced.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            axum::http::HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
