//! A scripted fake Platform API on 127.0.0.1:0: tests queue responses per "METHOD /path" and
//! read back every request it received. Also a clock that records sleeps instead of waiting.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use dynopilot_core::time::Sleep;
use dynopilot_core::{Clock, Timestamp};
use dynopilot_heroku::{
    ApiKey, ClientConfig, HerokuClient, RequestBudget, RetryPolicy, ZeroJitter,
};
use futures_util::StreamExt;

pub const KEY: &str = "hrku-TEST-SECRET-KEY-0042";

/// A response the fake will give, possibly streamed in several chunks.
#[derive(Clone, Debug)]
pub struct Scripted {
    status: u16,
    headers: Vec<(String, String)>,
    chunks: Vec<Vec<u8>>,
    /// Keep the body open after the chunks instead of ending it.
    hang: bool,
}

impl Scripted {
    pub fn json(status: u16, value: serde_json::Value) -> Self {
        Scripted {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            chunks: vec![serde_json::to_vec(&value).unwrap()],
            hang: false,
        }
    }

    pub fn raw(status: u16, body: &[u8]) -> Self {
        Scripted {
            status,
            headers: Vec::new(),
            chunks: vec![body.to_vec()],
            hang: false,
        }
    }

    pub fn chunks(status: u16, chunks: &[&[u8]]) -> Self {
        Scripted {
            status,
            headers: Vec::new(),
            chunks: chunks.iter().map(|c| c.to_vec()).collect(),
            hang: false,
        }
    }

    pub fn error(status: u16, id: &str, message: &str) -> Self {
        Scripted::json(status, serde_json::json!({"id": id, "message": message}))
    }

    /// The body stays open (silent) after its chunks, like a stalled log stream.
    pub fn then_hang(mut self) -> Self {
        self.hang = true;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Shared {
    script: Mutex<HashMap<String, VecDeque<Scripted>>>,
    log: Mutex<Vec<Recorded>>,
}

pub struct Fake {
    pub base: String,
    shared: Arc<Shared>,
}

impl Fake {
    pub async fn start() -> Fake {
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Fake { base, shared }
    }

    /// Queues `response` for the next request to `route` ("GET /apps/x").
    pub fn push(&self, route: &str, response: Scripted) -> &Self {
        self.shared
            .script
            .lock()
            .unwrap()
            .entry(route.to_string())
            .or_default()
            .push_back(response);
        self
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.log.lock().unwrap().clone()
    }

    pub fn requests_to(&self, route: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| format!("{} {}", r.method, r.path) == route)
            .collect()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    shared.log.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        headers,
        body: body.to_vec(),
    });
    let route = format!("{method} {path}");
    let next = shared
        .script
        .lock()
        .unwrap()
        .get_mut(&route)
        .and_then(VecDeque::pop_front);
    let scripted = next.unwrap_or_else(|| {
        Scripted::error(404, "not_found", &format!("fake has nothing for {route}"))
    });
    let mut builder = Response::builder().status(StatusCode::from_u16(scripted.status).unwrap());
    for (name, value) in &scripted.headers {
        builder = builder.header(name, value);
    }
    let chunks = scripted
        .chunks
        .into_iter()
        .map(|c| Ok::<_, std::io::Error>(Bytes::from(c)));
    let body = if scripted.hang {
        Body::from_stream(futures_util::stream::iter(chunks).chain(futures_util::stream::pending()))
    } else {
        Body::from_stream(futures_util::stream::iter(chunks))
    };
    builder.body(body).unwrap()
}

/// Sleeps longer than this stay pending forever under [`RecordingClock`].
pub const HORIZON: Duration = Duration::from_secs(600);

/// A clock whose sleeps return at once, moving time forward and remembering each wait; waits
/// longer than [`HORIZON`] never finish (so a 1-hour idle timeout cannot fire mid-test).
#[derive(Debug)]
pub struct RecordingClock {
    now: Mutex<Timestamp>,
    sleeps: Mutex<Vec<Duration>>,
}

impl RecordingClock {
    pub fn new() -> Arc<Self> {
        Arc::new(RecordingClock {
            now: Mutex::new(Timestamp::from_secs(1_700_000_000)),
            sleeps: Mutex::new(Vec::new()),
        })
    }

    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

impl Clock for RecordingClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap()
    }

    fn sleep_until(&self, deadline: Timestamp) -> Sleep {
        let mut now = self.now.lock().unwrap();
        // Waits past the horizon (idle timeouts) never end within a test.
        if deadline.since(*now) > HORIZON {
            return Box::pin(std::future::pending());
        }
        if deadline > *now {
            self.sleeps.lock().unwrap().push(deadline.since(*now));
            *now = deadline;
        }
        Box::pin(std::future::ready(()))
    }
}

/// A client for `fake` with zero jitter and the recording clock.
pub fn client(fake: &Fake, clock: &Arc<RecordingClock>) -> HerokuClient {
    client_with(fake, clock, RetryPolicy::default())
}

pub fn client_with(fake: &Fake, clock: &Arc<RecordingClock>, retry: RetryPolicy) -> HerokuClient {
    client_at(&fake.base, clock, retry)
}

/// A client for any base URL (e.g. one nobody listens on).
pub fn client_at(base: &str, clock: &Arc<RecordingClock>, retry: RetryPolicy) -> HerokuClient {
    client_on(base, Arc::clone(clock) as Arc<dyn Clock>, retry)
}

/// A client on any clock (e.g. `ManualClock`).
pub fn client_on(base: &str, clock: Arc<dyn Clock>, retry: RetryPolicy) -> HerokuClient {
    let budget = Arc::new(RequestBudget::new(Arc::clone(&clock)));
    let config = ClientConfig {
        base_url: base.to_string(),
        retry,
        ..ClientConfig::new(ApiKey::new(KEY))
    };
    HerokuClient::new(config, clock, budget)
        .unwrap()
        .with_jitter(Arc::new(ZeroJitter))
}

pub fn app_json(id: &str, name: &str) -> serde_json::Value {
    serde_json::json!({"id": id, "name": name, "generation": {"id": "g", "name": "cedar"},
        "region": {"id": "r", "name": "us"}, "updated_at": "2024-01-01T00:00:00Z"})
}

pub fn formation_json(process_type: &str, quantity: u32, size: &str) -> serde_json::Value {
    serde_json::json!({"id": format!("f-{process_type}"), "type": process_type,
        "quantity": quantity, "size": size, "dyno_size": {"id": "s", "name": size},
        "command": "bin/run", "app": {"id": "a1", "name": "shop"},
        "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"})
}
