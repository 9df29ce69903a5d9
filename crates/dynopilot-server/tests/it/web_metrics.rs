//! `/metrics`: the exposition parses, the listed series exist, and they move.

use std::collections::BTreeMap;
use std::sync::Arc;

use dynopilot_core::Clock;
use dynopilot_core::policy::{Action, Decision, Reason};
use dynopilot_server::executor::{Executor, Outcome};
use dynopilot_server::ingest::Entry;
use dynopilot_sim::AppSpec;
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_store::DecisionRecord;

use super::{Harness, at, text};
use crate::scenarios::{sim_client, start_sim};

/// Parses the text format into `name{labels}` → value, checking every line's shape.
fn parse(exposition: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in exposition.lines() {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment: {line}");
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line: {line}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad name: {line}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "bad labels: {line}");
        }
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        out.insert(series.to_owned(), value);
    }
    out
}

async fn scrape(h: &Harness) -> BTreeMap<String, f64> {
    let response = h.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    parse(&text(response).await)
}

#[tokio::test]
async fn the_listed_series_exist_and_move() {
    let h = Harness::loopback().await;
    h.observe_shop();
    let before = scrape(&h).await;
    for name in [
        "dynopilot_ingest_lines_total",
        "dynopilot_runner_ticks_total",
        "dynopilot_runner_tick_duration_seconds",
        "dynopilot_store_write_lag_seconds",
        "dynopilot_login_failures_total",
        "dynopilot_uptime_seconds",
        r#"dynopilot_dynos{app="shop",process_type="web",size="standard-1x",state="up"}"#,
        r#"dynopilot_memory_max_mb{app="shop",process_type="web"}"#,
        r#"dynopilot_service_p95_ms{app="shop",process_type="web"}"#,
    ] {
        assert!(before.contains_key(name), "{name} missing from {before:#?}");
    }
    assert_eq!(
        before[r#"dynopilot_dynos{app="shop",process_type="web",size="standard-1x",state="up"}"#],
        2.0
    );
    assert_eq!(
        before[r#"dynopilot_memory_max_mb{app="shop",process_type="web"}"#],
        400.0
    );

    let line = b"at=info method=GET path=/ host=shop.herokuapp.com request_id=1 fwd=1.2.3.4 dyno=web.1 connect=1ms service=20ms status=200 bytes=10 protocol=https";
    let garbage = Entry {
        timestamp: "not a time",
        source: "heroku",
        process: "router",
        message: line,
        text: None,
    };
    h.ingest.apply_entries("shop", [garbage, garbage]);
    assert_eq!(h.get("/api/v1/apps/nope").await.status(), 404);
    let (cookie, csrf) = h.session().await;
    let scale = axum::http::Request::post("/api/v1/apps/shop/controls")
        .header("cookie", &cookie)
        .header("content-type", "application/json")
        .header("x-csrf-token", &csrf)
        .body(axum::body::Body::from(
            r#"{"command":"scale","process_type":"web","quantity":3}"#,
        ))
        .unwrap();
    assert_eq!(h.send(scale).await.status(), 200);

    let after = scrape(&h).await;
    let lines = "dynopilot_ingest_lines_total";
    assert_eq!(after[lines] - before[lines], 2.0);
    let dropped = r#"dynopilot_ingest_dropped_total{reason="bad_timestamp_used_now"}"#;
    assert_eq!(after[dropped], 2.0);
    let not_found = r#"dynopilot_http_errors_total{kind="not_found"}"#;
    assert_eq!(after[not_found], 1.0);
    let api_4xx = r#"dynopilot_http_requests_total{kind="api",status="4xx"}"#;
    assert_eq!(after[api_4xx], 1.0);
    let scale = r#"dynopilot_decisions_total{kind="scale_formation",mode="executed"}"#;
    assert!(!before.contains_key(scale));
    assert_eq!(after[scale], 1.0);
}

fn decision(id: &str, app: &str, action: Action) -> Decision {
    Decision {
        id: id.to_owned(),
        app: app.to_owned(),
        at: at(-10),
        action,
        reason: Reason::Manual {
            who: "ops".to_owned(),
            note: "metrics test".to_owned(),
        },
        executed: true,
        dry_run: false,
        blocked: Vec::new(),
        limited_by: Vec::new(),
    }
}

#[tokio::test]
async fn executor_outcomes_and_api_errors_are_counted_by_kind() {
    let h = Harness::loopback().await;
    let clock: Arc<dyn Clock> = h.clock.clone();
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 2, 0), &clock).await;
    let mut executor = Executor::new(
        sim_client(&sim, &clock),
        Arc::clone(&h.store),
        h.ingest.clone(),
        Arc::clone(&clock),
    );
    executor.stats = Arc::clone(&h.state.outcomes);
    let scale = decision(
        "scale",
        "shop",
        Action::ScaleFormation {
            process_type: "web".to_owned(),
            from: 2,
            to: 3,
        },
    );
    // The simulator has no app named ghost: Heroku answers 404, which is not retried.
    let missing = decision(
        "missing",
        "ghost",
        Action::RestartDyno {
            dyno: "web.1".to_owned(),
            instance_id: None,
        },
    );
    let hook = decision(
        "hook",
        "shop",
        Action::RunHook {
            name: "warm_cache".to_owned(),
        },
    );
    for d in [&scale, &missing, &hook] {
        let record = DecisionRecord::from_decision(d).unwrap();
        h.store.insert_decision(&record).await.unwrap();
    }
    let before = scrape(&h).await;
    assert!(
        before
            .keys()
            .all(|k| !k.starts_with("dynopilot_actions_total{"))
    );

    assert_eq!(executor.execute(&scale).await, Outcome::Done);
    assert!(matches!(
        executor.execute(&missing).await,
        Outcome::Failed {
            kind: "not_found",
            ..
        }
    ));
    assert!(matches!(executor.execute(&hook).await, Outcome::Skipped(_)));
    // Already done: carried out once, so counted once.
    assert_eq!(executor.execute(&scale).await, Outcome::AlreadyDone);

    let after = scrape(&h).await;
    let expected = [
        (
            r#"dynopilot_actions_total{kind="scale_formation",outcome="succeeded"}"#,
            1.0,
        ),
        (
            r#"dynopilot_actions_total{kind="restart_dyno",outcome="failed",error="not_found"}"#,
            1.0,
        ),
        (
            r#"dynopilot_actions_total{kind="run_hook",outcome="skipped"}"#,
            1.0,
        ),
        (
            r#"dynopilot_heroku_api_errors_total{kind="not_found",caller="executor"}"#,
            1.0,
        ),
    ];
    for (series, value) in expected {
        assert_eq!(after.get(series), Some(&value), "{series} in {after:#?}");
    }
    let actions: f64 = after
        .iter()
        .filter(|(k, _)| k.starts_with("dynopilot_actions_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(actions, 3.0);
}

#[tokio::test]
async fn connect_and_queue_time_p95_come_from_router_lines_and_app_metrics() {
    let h = Harness::loopback().await;
    let router = |connect: u32, service: u32| {
        format!(
            "at=info method=GET path=/ host=shop.herokuapp.com request_id=1 fwd=1.2.3.4 \
             dyno=web.1 connect={connect}ms service={service}ms status=200 bytes=10 protocol=https"
        )
    };
    let mut lines: Vec<(String, String, String)> = (0..20)
        .map(|i| {
            (
                "heroku".into(),
                "router".into(),
                router(if i < 18 { 1 } else { 40 }, 20),
            )
        })
        .collect();
    lines.extend((0..20).map(|i| {
        let ms = if i < 18 { 5 } else { 300 };
        (
            "app".into(),
            "web.1".into(),
            format!("measure#queue_time={ms}ms"),
        )
    }));
    let stamp = at(-30).to_jiff().to_string();
    let entries: Vec<Entry<'_>> = lines
        .iter()
        .map(|(source, process, message)| Entry {
            timestamp: &stamp,
            source,
            process,
            message: message.as_bytes(),
            text: None,
        })
        .collect();
    h.ingest.apply_entries("shop", entries);
    h.ingest.fleet.lock().unwrap().close_windows(at(0));
    let m = scrape(&h).await;
    let connect = m[r#"dynopilot_connect_p95_ms{app="shop",process_type="web"}"#];
    let queue = m[r#"dynopilot_queue_time_p95_ms{app="shop",process_type="web"}"#];
    assert!((connect - 40.0).abs() <= 0.4, "connect p95 {connect}");
    assert!((queue - 300.0).abs() <= 3.0, "queue p95 {queue}");
}

#[tokio::test]
async fn healthz_is_json() {
    let h = Harness::loopback().await;
    let json = h.get_json("/healthz").await;
    assert_eq!(json["status"], "ok");
}

async fn healthz_answer(h: &Harness) -> (u16, serde_json::Value) {
    let response = h.get("/healthz").await;
    let status = response.status().as_u16();
    let json = serde_json::from_slice(&super::body(response).await).unwrap();
    (status, json)
}

#[tokio::test]
async fn healthz_is_503_with_the_reason_while_the_store_fails() {
    let h = Harness::loopback().await;
    h.state
        .runner
        .ticked_at(at(0), std::time::Duration::from_secs(1));
    assert_eq!(healthz_answer(&h).await.0, 200);
    h.state.store_health.failed(
        dynopilot_server::store_health::RECORDER,
        &"disk I/O error",
        at(1),
    );
    let (status, json) = healthz_answer(&h).await;
    assert_eq!(status, 503, "{json}");
    assert_eq!(json["status"], "degraded");
    assert_eq!(json["degraded"][0]["component"], "store");
    assert!(
        json["degraded"][0]["error"]
            .as_str()
            .unwrap()
            .contains("disk I/O error")
    );
    h.state
        .store_health
        .succeeded(dynopilot_server::store_health::RECORDER, at(2));
    assert_eq!(healthz_answer(&h).await.0, 200);
}

#[tokio::test]
async fn healthz_is_503_when_the_runner_stops_ticking() {
    let h = Harness::loopback().await;
    // Ticking every 20 s: stuck after three intervals without one.
    h.state
        .runner
        .ticked_at(at(0), std::time::Duration::from_secs(20));
    h.clock.set(at(59));
    assert_eq!(healthz_answer(&h).await.0, 200);
    h.clock.set(at(61));
    let (status, json) = healthz_answer(&h).await;
    assert_eq!(status, 503, "{json}");
    assert_eq!(json["degraded"][0]["component"], "runner");
    assert_eq!(json["degraded"][0]["seconds"], 61);
    h.state
        .runner
        .ticked_at(at(61), std::time::Duration::from_secs(20));
    assert_eq!(healthz_answer(&h).await.0, 200);
}

#[tokio::test]
async fn healthz_is_503_when_the_runner_never_ticked_within_30_s_of_start() {
    let h = Harness::loopback().await;
    assert_eq!(healthz_answer(&h).await.0, 200, "grace at start");
    h.clock.set(at(31));
    let (status, json) = healthz_answer(&h).await;
    assert_eq!(status, 503, "{json}");
    assert_eq!(json["degraded"][0]["last_tick"], serde_json::Value::Null);
}
