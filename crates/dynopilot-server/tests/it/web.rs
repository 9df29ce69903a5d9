//! The dashboard, JSON API, controls, sign-in and /metrics, driven through the router with
//! `oneshot` (no socket); the browser test runs the real daemon against the simulator.

#[path = "web_api.rs"]
mod api;
#[path = "web_auth.rs"]
mod auth;
#[path = "web_browser.rs"]
mod browser;
#[path = "web_controls.rs"]
mod controls;
#[path = "web_dashboard.rs"]
mod dashboard;
#[path = "web_hosts.rs"]
mod hosts;
#[path = "web_metrics.rs"]
mod metrics;
#[path = "web_security.rs"]
mod security;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, header};
use dynopilot_core::policy::{
    self, DynoLifecycle, DynoState, Formation, MemorySample, ProcessTypeConfig, ProcessTypeState,
    RouterWindow,
};
use dynopilot_core::{Clock, LatencySketch, ManualClock, Timestamp};
use dynopilot_server::ingest::Ingest;
use dynopilot_server::runner::Runner;
use dynopilot_server::web::link::RunnerLink;
use dynopilot_server::web::{self, ControlRequest, WebSettings, WebState};
use dynopilot_store::Store;
use tokio::sync::{Mutex, mpsc};
use tower::ServiceExt;

/// 2025-11-25T10:00:00Z.
pub const T0: i64 = 1_764_064_800;

pub fn at(s: i64) -> Timestamp {
    Timestamp::from_secs(T0 + s)
}

pub struct Harness {
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    pub ingest: Ingest,
    pub state: WebState,
    pub router: Router,
    pub runner: Arc<Mutex<Runner>>,
    /// Decisions the runner handed to the executor.
    pub executed: mpsc::Receiver<policy::Decision>,
}

pub fn shop_policy() -> policy::Config {
    let mut config = policy::Config::new("shop");
    config.process_types.insert(
        "web".to_owned(),
        ProcessTypeConfig {
            min: Some(1),
            max: Some(4),
            ..ProcessTypeConfig::default()
        },
    );
    config
}

impl Harness {
    pub async fn new(settings: WebSettings) -> Harness {
        let clock = Arc::new(ManualClock::new(at(0)));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
        let ingest = Ingest::new(Arc::clone(&dyn_clock));
        let policies: BTreeMap<String, policy::Config> =
            [("shop".to_owned(), shop_policy())].into();
        let (control_tx, mut control_rx) = mpsc::channel::<ControlRequest>(8);
        let (exec_tx, executed) = mpsc::channel(32);
        let link = RunnerLink::default();
        let state = WebState::new(
            ingest.clone(),
            Arc::clone(&store),
            Arc::clone(&dyn_clock),
            policies.clone(),
            control_tx,
            &link,
            settings,
        );
        let runner = Arc::new(Mutex::new(Runner {
            ingest: ingest.clone(),
            store: Arc::clone(&store),
            clock: dyn_clock,
            policies,
            states: BTreeMap::new(),
            executor: exec_tx,
            tick: Duration::from_secs(1),
            blocked_seen: BTreeMap::new(),
            web: link,
            journal_down: Default::default(),
            blind: Default::default(),
            following: Default::default(),
        }));
        let serving = Arc::clone(&runner);
        tokio::spawn(async move {
            while let Some(request) = control_rx.recv().await {
                serving.lock().await.handle_control(request).await;
            }
        });
        let router = web::router(state.clone());
        Harness {
            clock,
            store,
            ingest,
            state,
            router,
            runner,
            executed,
        }
    }

    pub async fn loopback() -> Harness {
        Harness::new(WebSettings::default()).await
    }

    /// web: 2 × standard-1x, web.1 at 400 MB and web.2 at 200 MB of 512, one router window
    /// (five requests, three app-reported queue times).
    pub fn observe_shop(&self) {
        let mut fleet = self.ingest.fleet.lock().unwrap();
        let observed = &mut fleet.app_mut("shop").observed;
        let mut web = ProcessTypeState {
            formation: Some(Formation {
                quantity: 2,
                size: "standard-1x".to_owned(),
                updated_at: at(-3600),
            }),
            ..ProcessTypeState::default()
        };
        for (i, mb) in [(1, 400.0), (2, 200.0)] {
            let id = format!("heroku.{i}.run");
            let mut dyno = DynoState::new(Some(id.clone()), DynoLifecycle::Up, at(-3000));
            dyno.record_memory(MemorySample {
                at: at(-20),
                instance_id: Some(id),
                total_mb: mb,
                rss_mb: mb,
                swap_mb: 0.0,
                quota_mb: Some(512.0),
            });
            web.dynos.insert(format!("web.{i}"), dyno);
        }
        let mut service = LatencySketch::default();
        for ms in [20.0, 40.0, 60.0, 80.0, 100.0] {
            service.add(ms);
        }
        let mut connect = LatencySketch::default();
        connect.add_n(1.0, 5);
        let mut queue = LatencySketch::default();
        for ms in [2.0, 4.0, 8.0] {
            queue.add(ms);
        }
        web.router.push(RouterWindow {
            start: at(-70),
            end: at(-60),
            count: 5,
            status_2xx: 4,
            status_5xx: 1,
            service_ms: service,
            connect_ms: connect,
            queue_ms: queue,
            ..RouterWindow::default()
        });
        observed.process_types.insert("web".to_owned(), web);
    }

    pub async fn send(&self, request: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(request).await.unwrap()
    }

    pub async fn get(&self, uri: &str) -> Response<Body> {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    pub async fn get_json(&self, uri: &str) -> serde_json::Value {
        let response = self.get(uri).await;
        assert_eq!(response.status(), 200, "GET {uri}");
        serde_json::from_slice(&body(response).await).unwrap()
    }

    /// An anonymous (loopback) session: (cookie header value, csrf token).
    pub async fn session(&self) -> (String, String) {
        let response = self.get("/api/v1/apps").await;
        let cookie = set_cookie(&response).expect("anonymous session cookie");
        let page = self
            .send(
                Request::get("/apps/shop")
                    .header(header::COOKIE, &cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let csrf = page.headers()["x-csrf-token"].to_str().unwrap().to_owned();
        (cookie, csrf)
    }
}

pub async fn body(response: Response<Body>) -> Vec<u8> {
    axum::body::to_bytes(response.into_body(), 10 << 20)
        .await
        .unwrap()
        .to_vec()
}

pub async fn text(response: Response<Body>) -> String {
    String::from_utf8(body(response).await).unwrap()
}

/// `name=value` of the first Set-Cookie header.
pub fn set_cookie(response: &Response<Body>) -> Option<String> {
    let value = response.headers().get(header::SET_COOKIE)?.to_str().ok()?;
    Some(value.split(';').next()?.to_owned())
}

/// Replaces RFC 3339 timestamps (and decision ids, which embed the time) for snapshots.
pub fn redact(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) if looks_like_time(s) => *s = "[time]".to_owned(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == "id" || k == "decision_id" {
                    *v = serde_json::Value::String("[id]".to_owned());
                } else {
                    redact(v);
                }
            }
        }
        _ => {}
    }
}

fn looks_like_time(s: &str) -> bool {
    s.len() >= 20 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T' && s.ends_with('Z')
}
