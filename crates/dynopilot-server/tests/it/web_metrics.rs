//! `/metrics`: the exposition parses, the listed series exist, and they move.

use std::collections::BTreeMap;

use dynopilot_server::ingest::Entry;

use super::{Harness, text};

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

#[tokio::test]
async fn healthz_is_json() {
    let h = Harness::loopback().await;
    let json = h.get_json("/healthz").await;
    assert_eq!(json["status"], "ok");
}
