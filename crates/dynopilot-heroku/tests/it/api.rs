//! Requests as Heroku expects them: headers, paths, bodies, Range pagination.

use dynopilot_heroku::wire::{DynoCreate, FormationBatchItem, FormationUpdate, LogSessionCreate};

use crate::fake::{Fake, KEY, RecordingClock, Scripted, app_json, client, formation_json};

#[tokio::test]
async fn sends_accept_bearer_and_user_agent() {
    let fake = Fake::start().await;
    fake.push(
        "GET /account",
        Scripted::json(
            200,
            serde_json::json!({"id": "u1", "email": "ops@example.com"}),
        ),
    );
    let account = client(&fake, &RecordingClock::new())
        .account()
        .await
        .unwrap();
    assert_eq!(account.email, "ops@example.com");
    let req = &fake.requests_to("GET /account")[0];
    assert_eq!(
        req.header("accept"),
        Some("application/vnd.heroku+json; version=3")
    );
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let ua = req.header("user-agent").unwrap();
    assert_eq!(ua, format!("dynopilot/{}", env!("CARGO_PKG_VERSION")));
}

#[tokio::test]
async fn apps_list_follows_next_range_across_three_pages() {
    let fake = Fake::start().await;
    fake.push(
        "GET /apps",
        Scripted::json(
            206,
            serde_json::json!([app_json("1", "a"), app_json("2", "b")]),
        )
        .header("Next-Range", "id ]2..; max=200"),
    )
    .push(
        "GET /apps",
        Scripted::json(206, serde_json::json!([app_json("3", "c")]))
            .header("Next-Range", "id ]3..; max=200"),
    )
    .push(
        "GET /apps",
        Scripted::json(200, serde_json::json!([app_json("4", "d")])),
    );
    let apps = client(&fake, &RecordingClock::new())
        .apps_list()
        .await
        .unwrap();
    let names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    let ranges: Vec<String> = fake
        .requests_to("GET /apps")
        .iter()
        .map(|r| r.header("range").unwrap().to_string())
        .collect();
    assert_eq!(
        ranges,
        ["id ..; max=200", "id ]2..; max=200", "id ]3..; max=200"]
    );
}

#[tokio::test]
async fn a_206_without_next_range_ends_the_list() {
    let fake = Fake::start().await;
    fake.push(
        "GET /apps/shop/releases",
        Scripted::json(
            206,
            serde_json::json!([{"id": "r9", "version": 9, "status": "succeeded"}]),
        ),
    );
    let recent = client(&fake, &RecordingClock::new())
        .releases_recent("shop", 1)
        .await
        .unwrap();
    assert_eq!(recent[0].version, 9);
    let req = &fake.requests_to("GET /apps/shop/releases")[0];
    assert_eq!(req.header("range"), Some("version ..; max=1, order=desc"));
}

#[tokio::test]
async fn formation_update_and_batch_send_schema_bodies() {
    let fake = Fake::start().await;
    fake.push(
        "PATCH /apps/shop/formation/web",
        Scripted::json(200, formation_json("web", 3, "Standard-2X")),
    )
    .push(
        "PATCH /apps/shop/formation",
        Scripted::json(
            200,
            serde_json::json!([formation_json("worker", 0, "Basic")]),
        ),
    );
    let client = client(&fake, &RecordingClock::new());
    let f = client
        .formation_update(
            "shop",
            "web",
            &FormationUpdate::quantity(3).with_size("Standard-2X"),
        )
        .await
        .unwrap();
    assert_eq!((f.quantity, f.size_name()), (3, Some("Standard-2X")));
    let batch = vec![FormationBatchItem {
        process_type: "worker".into(),
        update: FormationUpdate::quantity(0),
    }];
    let out = client.formation_batch_update("shop", batch).await.unwrap();
    assert_eq!(out[0].process_type, "worker");
    let single = &fake.requests_to("PATCH /apps/shop/formation/web")[0];
    assert_eq!(
        single.json(),
        serde_json::json!({"quantity": 3, "dyno_size": {"name": "Standard-2X"}})
    );
    let batch = &fake.requests_to("PATCH /apps/shop/formation")[0];
    assert_eq!(
        batch.json(),
        serde_json::json!({"updates": [{"type": "worker", "quantity": 0}]})
    );
}

#[tokio::test]
async fn restart_and_stop_use_herokus_methods_and_paths() {
    let fake = Fake::start().await;
    let ok = || Scripted::json(202, serde_json::json!({}));
    fake.push("DELETE /apps/shop/dynos/web.1", ok())
        .push("DELETE /apps/shop/formations/web", ok())
        .push("DELETE /apps/shop/dynos", ok())
        .push("POST /apps/shop/dynos/web.2/actions/stop", ok())
        .push("POST /apps/shop/formations/worker/actions/stop", ok());
    let c = client(&fake, &RecordingClock::new());
    c.restart_dyno("shop", "web.1").await.unwrap();
    c.restart_process_type("shop", "web").await.unwrap();
    c.restart_all("shop").await.unwrap();
    c.stop_dyno("shop", "web.2").await.unwrap();
    c.stop_process_type("shop", "worker").await.unwrap();
    let routes: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        routes,
        [
            "DELETE /apps/shop/dynos/web.1",
            "DELETE /apps/shop/formations/web",
            "DELETE /apps/shop/dynos",
            "POST /apps/shop/dynos/web.2/actions/stop",
            "POST /apps/shop/formations/worker/actions/stop",
        ]
    );
}

#[tokio::test]
async fn path_segments_are_percent_encoded() {
    let fake = Fake::start().await;
    let err = client(&fake, &RecordingClock::new())
        .dyno_info("my app", "../web/1?x")
        .await
        .unwrap_err();
    assert_eq!(err.heroku_id(), Some("not_found"));
    assert_eq!(
        fake.requests()[0].path,
        "/apps/my%20app/dynos/..%2Fweb%2F1%3Fx"
    );
}

#[tokio::test]
async fn dyno_create_log_session_drains_sizes_and_features_round_trip() {
    let fake = Fake::start().await;
    fake.push(
        "POST /apps/shop/dynos",
        Scripted::json(
            201,
            serde_json::json!({"id": "d9", "name": "run.4242", "type": "run",
            "state": "starting", "size": "Basic", "command": "rake db:migrate",
            "attach_url": "rendezvous://127.0.0.1:5000/s3cr3t",
            "release": {"id": "r1", "version": 7}}),
        ),
    )
    .push(
        "POST /apps/shop/log-sessions",
        Scripted::json(
            201,
            serde_json::json!({"id": "ls1",
            "logplex_url": "https://logplex.example/sessions/ls1?srv=1"}),
        ),
    )
    .push(
        "POST /apps/shop/log-drains",
        Scripted::json(
            201,
            serde_json::json!({"id": "dr1", "url": "https://d.example/drain",
            "token": "d.0123"}),
        ),
    )
    .push(
        "GET /dyno-sizes",
        Scripted::json(
            200,
            serde_json::json!([{"name": "Basic", "memory": 0.5, "compute": 1,
            "cost": {"cents": 700, "unit": "month"}, "dedicated": false}]),
        ),
    )
    .push(
        "PATCH /apps/shop/features/log-runtime-metrics",
        Scripted::json(
            200,
            serde_json::json!({"id": "f", "name": "log-runtime-metrics",
            "enabled": true}),
        ),
    )
    .push(
        "GET /apps/shop/features/log-runtime-metrics",
        Scripted::json(
            200,
            serde_json::json!({"id": "f", "name": "log-runtime-metrics",
            "enabled": true, "state": "public"}),
        ),
    );
    let c = client(&fake, &RecordingClock::new());
    let create = DynoCreate {
        command: "rake db:migrate".into(),
        attach: Some(true),
        time_to_live: Some(600),
        ..DynoCreate::default()
    };
    let dyno = c.dyno_create("shop", &create).await.unwrap();
    assert_eq!(dyno.name, "run.4242");
    let session = LogSessionCreate {
        dyno_name: Some("web.1".into()),
        tail: Some(true),
        ..LogSessionCreate::default()
    };
    let ls = c.log_session_create("shop", &session).await.unwrap();
    assert!(ls.logplex_url.contains("ls1"));
    let drain = c
        .log_drain_add("shop", "https://d.example/drain")
        .await
        .unwrap();
    assert_eq!(drain.token, "d.0123");
    let sizes = c.dyno_sizes().await.unwrap();
    assert_eq!(sizes[0].cost.as_ref().and_then(|c| c.cents), Some(700));
    let feature = c
        .feature_info("shop", dynopilot_heroku::LOG_RUNTIME_METRICS)
        .await
        .unwrap();
    assert!(feature.enabled);
    let feature = c
        .feature_update("shop", "log-runtime-metrics", true)
        .await
        .unwrap();
    assert_eq!(feature.name, "log-runtime-metrics");

    let sent = &fake.requests_to("PATCH /apps/shop/features/log-runtime-metrics")[0];
    assert_eq!(sent.json(), serde_json::json!({"enabled": true}));
    let sent = &fake.requests_to("POST /apps/shop/dynos")[0];
    assert_eq!(
        sent.json(),
        serde_json::json!({"command": "rake db:migrate", "attach": true, "time_to_live": 600})
    );
    let sent = &fake.requests_to("POST /apps/shop/log-sessions")[0];
    assert_eq!(
        sent.json(),
        serde_json::json!({"dyno_name": "web.1", "tail": true})
    );
    let sent = &fake.requests_to("POST /apps/shop/log-drains")[0];
    assert_eq!(
        sent.json(),
        serde_json::json!({"url": "https://d.example/drain"})
    );
}

#[tokio::test]
async fn dot_and_empty_names_are_refused_before_sending() {
    let fake = Fake::start().await;
    let c = client(&fake, &RecordingClock::new());
    for dyno in ["..", ".", ""] {
        let err = c.restart_dyno("shop", dyno).await.unwrap_err();
        assert!(matches!(
            err,
            dynopilot_heroku::HerokuError::InvalidInput { .. }
        ));
    }
    assert!(fake.requests().is_empty());
}
