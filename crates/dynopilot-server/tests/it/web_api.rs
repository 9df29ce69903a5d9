//! JSON API through the router: snapshots of every read endpoint (times redacted), chart
//! series from stored samples and rollups, the recorder, pages, and the OpenAPI document.

use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::Clock;
use dynopilot_core::policy::{Action, Decision, Reason};
use dynopilot_server::web::recorder::Recorder;
use dynopilot_server::web::{API_ROUTES, assets};
use dynopilot_store::{
    ActionOutcome, ActionRecord, Batch, BatchWriter, DecisionRecord, Event, Rollup, Sample,
    SampleFilter, TimeRange, WriterConfig,
};

use super::{Harness, at, redact, text};

fn scale_decision(at_s: i64, executed: bool) -> Decision {
    Decision {
        id: format!("d{at_s}"),
        app: "shop".to_owned(),
        at: at(at_s),
        action: Action::ScaleFormation {
            process_type: "web".to_owned(),
            from: 2,
            to: 3,
        },
        reason: Reason::Schedule {
            process_type: "web".to_owned(),
            quantity: 2,
            min: 3,
            max: 4,
            window: "default".to_owned(),
        },
        executed,
        dry_run: !executed,
        blocked: Vec::new(),
        limited_by: Vec::new(),
    }
}

async fn journal(h: &Harness) {
    let record = DecisionRecord::from_decision(&scale_decision(-600, true)).unwrap();
    h.store.insert_decision(&record).await.unwrap();
    let action = ActionRecord {
        decision_id: record.id.clone(),
        attempt: 1,
        started_at: at(-599),
        finished_at: Some(at(-598)),
        outcome: ActionOutcome::Ok,
        error: None,
    };
    h.store.record_action(&action).await.unwrap();
    let event = Event {
        app: "shop".to_owned(),
        at: at(-500),
        kind: "control".to_owned(),
        message: "autoscaling paused by ops".to_owned(),
        detail: serde_json::Value::Null,
    };
    let batch = Batch {
        events: vec![event],
        ..Batch::default()
    };
    h.store.write_batch(&batch).await.unwrap();
}

#[tokio::test]
async fn read_endpoints_match_their_snapshots() {
    let h = Harness::loopback().await;
    h.observe_shop();
    journal(&h).await;
    for (name, uri) in [
        ("apps", "/api/v1/apps"),
        ("app", "/api/v1/apps/shop"),
        ("formation", "/api/v1/apps/shop/formation"),
        ("dynos", "/api/v1/apps/shop/dynos"),
        ("decisions", "/api/v1/apps/shop/decisions"),
        ("actions", "/api/v1/apps/shop/actions"),
        ("events", "/api/v1/apps/shop/events"),
    ] {
        let mut json = h.get_json(uri).await;
        redact(&mut json);
        insta::assert_json_snapshot!(name, json);
    }
}

#[tokio::test]
async fn times_are_rfc3339_and_costs_come_from_the_size_table() {
    let h = Harness::loopback().await;
    h.observe_shop();
    journal(&h).await;
    let formation = h.get_json("/api/v1/apps/shop/formation").await;
    assert_eq!(formation[0]["updated_at"], "2025-11-25T09:00:00Z");
    let per_dyno = dynopilot_core::DynoSize::lookup("standard-1x")
        .unwrap()
        .dollars_per_hour();
    let cost = formation[0]["dollars_per_hour"].as_f64().unwrap();
    assert!((cost - 2.0 * per_dyno).abs() < 1e-9, "{cost}");
    let app = h.get_json("/api/v1/apps/shop").await;
    assert!((app["projected_month_dollars"].as_f64().unwrap() - cost * 720.0).abs() < 1e-6);
    let decisions = h.get_json("/api/v1/apps/shop/decisions").await;
    assert_eq!(decisions[0]["at"], "2025-11-25T09:50:00Z");
}

#[tokio::test]
async fn unknown_apps_and_bad_ranges_are_json_errors() {
    let h = Harness::loopback().await;
    let response = h.get("/api/v1/apps/nope/dynos").await;
    assert_eq!(response.status(), 404);
    let json: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
    assert_eq!(json["error"], "not_found");
    let response = h.get("/api/v1/apps/shop/series?range=forever").await;
    assert_eq!(response.status(), 400);
    let response = h.get("/api/v1/apps/shop/series?range=7d&step=1m").await;
    assert_eq!(response.status(), 400, "10080 buckets are too many");
}

#[tokio::test]
async fn series_bucket_stored_samples_rollups_and_decisions() {
    let h = Harness::loopback().await;
    let mut batch = Batch::default();
    for (s, mb) in [(-1800, 300.0), (-1790, 350.0), (-600, 420.0)] {
        let mut sample = Sample::new("shop", "web.1", at(s));
        sample.memory_total_mb = Some(mb);
        sample.memory_quota_mb = Some(512.0);
        batch.samples.push(sample);
    }
    let mut rollup = Rollup::new("shop", "web", at(-600));
    for _ in 0..120 {
        rollup.record_request(200, 50.0, 1.0);
    }
    rollup.record_request(503, 30_000.0, 1.0);
    rollup.record_error("H12");
    rollup.record_error("R14");
    rollup.queue.add_n(12.0, 100);
    rollup.queue.add_n(900.0, 10);
    batch.rollups.push(rollup);
    h.store.write_batch(&batch).await.unwrap();
    let record = DecisionRecord::from_decision(&scale_decision(-300, false)).unwrap();
    h.store.insert_decision(&record).await.unwrap();

    let s = h
        .get_json("/api/v1/apps/shop/series?range=1h&step=1m")
        .await;
    let t = s["t"].as_array().unwrap();
    assert_eq!(t.len(), 60);
    let index = |secs: i64| t.iter().position(|v| v.as_i64() == Some(secs)).unwrap();
    let memory = &s["memory_mb"]["web.1"];
    assert_eq!(
        memory[index(at(-1800).as_millis() / 1000)],
        350.0,
        "max of the minute"
    );
    assert_eq!(memory[index(at(-600).as_millis() / 1000)], 420.0);
    assert_eq!(s["memory_quota_mb"], 512.0);
    let web = &s["traffic"]["web"];
    let i = index(at(-600).as_millis() / 1000);
    assert_eq!(web["requests_per_min"][i], 121.0);
    assert_eq!(web["errors"]["H12"][i], 1);
    assert_eq!(web["errors"]["R14"][i], 1);
    assert_eq!(web["errors"]["5xx"][i], 1);
    assert!(web["p95_service_ms"][i].as_f64().unwrap() < 100.0);
    let queue = web["p95_queue_ms"][i].as_f64().unwrap();
    assert!((queue - 900.0).abs() < 9.0, "queue p95 {queue}");
    assert_eq!(web["p95_queue_ms"][i - 1], serde_json::Value::Null);
    assert_eq!(
        web["queue_target_ms"],
        serde_json::Value::Null,
        "shop has no autoscaler"
    );
    assert_eq!(s["dynos"]["web"][i], 1);
    let markers = s["decisions"].as_array().unwrap();
    assert_eq!(markers.len(), 1);
    assert_eq!(markers[0]["reason"], record.reason);
    assert_eq!(markers[0]["dry_run"], true);
}

#[tokio::test]
async fn the_recorder_writes_each_observation_once() {
    let h = Harness::loopback().await;
    h.observe_shop();
    let clock: Arc<dyn Clock> = h.clock.clone();
    let (writer, _task) = BatchWriter::spawn(
        Arc::clone(&h.store),
        Arc::clone(&clock),
        WriterConfig::default(),
    );
    let mut recorder = Recorder::new(
        h.ingest.clone(),
        clock,
        writer.clone(),
        Duration::from_secs(5),
    );
    assert_eq!(recorder.record_once(), 3, "two samples and one window");
    assert_eq!(recorder.record_once(), 0, "nothing new");
    assert!(writer.flush().await);
    let range = TimeRange::new(at(-3600), at(1));
    let samples = h
        .store
        .samples("shop", &SampleFilter::AllDynos, range)
        .await
        .unwrap();
    let mut memory: Vec<f64> = samples.iter().filter_map(|s| s.memory_total_mb).collect();
    memory.sort_by(f64::total_cmp);
    assert_eq!(memory, [200.0, 400.0]);
    let rollups = h
        .store
        .rollups("shop", "web", range, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(rollups.len(), 1);
    assert_eq!(rollups[0].requests, 5);
    assert_eq!(rollups[0].status[4], 1);
    assert_eq!(rollups[0].connect.count(), 5, "connect times are kept");
    assert_eq!(rollups[0].queue.count(), 3, "queue times are kept");
    assert_eq!(recorder.stats.newest(), Some(at(-20)));
}

#[tokio::test]
async fn pages_show_the_fleet_and_the_app() {
    let h = Harness::loopback().await;
    h.observe_shop();
    journal(&h).await;
    let fleet = text(h.get("/").await).await;
    assert!(fleet.contains(r#"href="/apps/shop""#), "{fleet}");
    assert!(fleet.contains("web 2×standard-1x"));
    assert!(fleet.contains("78%"), "web.1 at 400 of 512 MB");
    assert!(
        fleet.contains("web has 2 dynos, outside 3..=4"),
        "last decision"
    );
    let app = text(h.get("/apps/shop").await).await;
    assert!(app.contains(r#"data-dyno="web.1""#));
    assert!(app.contains("scale web 2 → 3"));
    assert!(
        app.contains("<td>done</td>"),
        "the action's outcome, in words"
    );
    assert!(app.contains(r#"name="csrf""#));
    let partial = text(h.get("/fleet/table").await).await;
    assert!(
        partial.starts_with(r#"<div class="table-scroll"><table"#),
        "{partial}"
    );
}

#[tokio::test]
async fn static_files_are_embedded_and_immutable() {
    let h = Harness::loopback().await;
    for file in [
        "htmx-2.0.11.min.js",
        "uPlot-1.6.32.iife.min.js",
        "charts-4.js",
        "dashboard-2.css",
    ] {
        let response = h.get(&format!("/assets/{file}")).await;
        assert_eq!(response.status(), 200, "{file}");
        assert!(
            response.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
    }
    assert_eq!(h.get("/assets/nope.js").await.status(), 404);
}

/// Every API route in the router is in `API_ROUTES`, and the OpenAPI document has them all.
#[test]
fn openapi_documents_every_route() {
    let source = include_str!("../../src/web/mod.rs");
    let routed: Vec<&str> = source
        .split(".route(\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|path| path.starts_with("/api/"))
        .collect();
    assert!(routed.len() >= 9, "{routed:?}");
    for path in &routed {
        assert!(
            API_ROUTES.iter().any(|(_, p)| p == path),
            "{path} is routed but not in API_ROUTES"
        );
    }
    let doc = assets::OPENAPI;
    for (method, path) in API_ROUTES {
        let at = doc
            .find(&format!("\n  {path}:\n"))
            .unwrap_or_else(|| panic!("{path} is not documented"));
        let section = &doc[at + path.len() + 4..];
        let end = section.find("\n  /").unwrap_or(section.len());
        assert!(
            section[..end].contains(&format!("\n    {method}:")),
            "{method} {path} is not documented"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let h = Harness::loopback().await;
    let response = h.get("/api/v1/openapi.yaml").await;
    assert_eq!(response.status(), 200);
    assert!(text(response).await.starts_with("openapi: 3"));
}
