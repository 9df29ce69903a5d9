//! Platform API semantics: auth, pagination, formation limits, preboot, restarts, rate limit,
//! one-off dynos through rendezvous.

use std::time::Duration;

use dynopilot_heroku::HerokuError;
use dynopilot_heroku::wire::{DynoCreate, FormationUpdate};
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, SimConfig};
use reqwest::Method;

use crate::harness::{APP, Sim};

#[tokio::test]
async fn missing_or_wrong_credentials_get_401_unauthorized() {
    let sim = Sim::start().await;
    let err = sim
        .client_with_key("not-a-key")
        .app_info(APP)
        .await
        .unwrap_err();
    assert!(matches!(err, HerokuError::Unauthorized { .. }), "{err:?}");
    assert_eq!(err.heroku_id(), Some("unauthorized"));

    let response = reqwest::get(format!("{}/apps", sim.handle.base_url))
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["id"], "unauthorized");

    let account = sim.client().account().await.unwrap();
    assert_eq!(account.email, DEMO_EMAIL);
}

#[tokio::test]
async fn another_accounts_app_is_403_and_unknown_app_is_404() {
    let config = SimConfig::empty()
        .with_account("other@example.com", "other-key")
        .with_app(AppSpec::plain("theirs", "other@example.com", 1, 0));
    let sim = Sim::with(config).await;
    let err = sim.client().app_info("theirs").await.unwrap_err();
    assert!(matches!(err, HerokuError::Forbidden { .. }), "{err:?}");
    let err = sim.client().app_info("nope").await.unwrap_err();
    assert_eq!(err.heroku_id(), Some("not_found"));
    let mine = sim.client_with_key("other-key").apps_list().await.unwrap();
    assert_eq!(mine.len(), 1);
}

#[tokio::test]
async fn lists_are_paginated_with_next_range_and_the_client_follows_them() {
    let mut config = SimConfig::empty();
    for n in 0..205 {
        config = config.with_app(AppSpec::plain(&format!("app-{n:03}"), DEMO_EMAIL, 0, 0));
    }
    let sim = Sim::with(config).await;
    let response = sim
        .raw(Method::GET, "/apps")
        .header("Range", "name ..; max=100")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 206);
    let next = response.headers()["next-range"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(next, "name ]app-099..; max=100");
    assert_eq!(
        response.headers()["content-range"].to_str().unwrap(),
        "name app-000..app-099; max=100"
    );
    let second = sim
        .raw(Method::GET, "/apps")
        .header("Range", &next)
        .send()
        .await
        .unwrap();
    let names: Vec<serde_json::Value> = second.json().await.unwrap();
    assert_eq!(names[0]["name"], "app-100");

    let all = sim.client().apps_list().await.unwrap();
    assert_eq!(all.len(), 205);
    let bad = sim
        .raw(Method::GET, "/apps")
        .header("Range", "bogus")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn scaling_up_starts_dynos_that_come_up_after_the_boot_delay() {
    let sim = Sim::start().await;
    let client = sim.client();
    let f = client
        .formation_update(APP, "web", &FormationUpdate::quantity(3))
        .await
        .unwrap();
    assert_eq!(f.quantity, 3);
    let web3 = client.dyno_info(APP, "web.3").await.unwrap();
    assert_eq!(web3.state, "starting");
    sim.advance(Duration::from_secs(4));
    assert_eq!(
        client.dyno_info(APP, "web.3").await.unwrap().state,
        "starting"
    );
    sim.advance(Duration::from_secs(1));
    assert_eq!(client.dyno_info(APP, "web.3").await.unwrap().state, "up");

    client
        .formation_update(APP, "web", &FormationUpdate::quantity(1))
        .await
        .unwrap();
    let dynos = client.dynos_list(APP).await.unwrap();
    let web: Vec<&str> = dynos
        .iter()
        .filter(|d| d.process_type == "web")
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(web, ["web.1"]);
}

#[tokio::test]
async fn unknown_size_bad_quantity_and_eco_limit_are_422() {
    let sim = Sim::start().await;
    let client = sim.client();
    let err = client
        .formation_update(APP, "web", &FormationUpdate::size("Huge-9X"))
        .await
        .unwrap_err();
    assert!(matches!(err, HerokuError::Unprocessable { .. }), "{err:?}");
    assert_eq!(err.heroku_id(), Some("invalid_params"));

    let err = client
        .formation_update(APP, "web", &FormationUpdate::quantity(2).with_size("eco"))
        .await
        .unwrap_err();
    assert_eq!(err.heroku_id(), Some("invalid_params"));
    let ok = client
        .formation_update(APP, "web", &FormationUpdate::quantity(1).with_size("eco"))
        .await
        .unwrap();
    assert_eq!(ok.size_name(), Some("Eco"));
    let err = client
        .formation_update(
            APP,
            "web",
            &FormationUpdate::quantity(11).with_size("Performance-M"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.heroku_id(), Some("invalid_params"));

    for body in [r#"{"quantity": -1}"#, r#"{"quantity": "lots"}"#] {
        let response = sim
            .raw(Method::PATCH, "/apps/shop/formation/web")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{body}");
    }
    let malformed = sim
        .raw(Method::PATCH, "/apps/shop/formation/web")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let missing = client
        .formation_update(APP, "clock", &FormationUpdate::quantity(1))
        .await
        .unwrap_err();
    assert!(matches!(missing, HerokuError::NotFound { .. }));
}

#[tokio::test]
async fn formation_changes_during_preboot_get_the_preboot_409() {
    let sim = Sim::start().await;
    sim.handle.start_preboot(APP, Duration::from_secs(60));
    let err = sim
        .client()
        .formation_update(APP, "web", &FormationUpdate::quantity(3))
        .await
        .unwrap_err();
    assert!(err.is_preboot_conflict(), "{err:?}");
    sim.advance(Duration::from_secs(61));
    sim.client()
        .formation_update(APP, "web", &FormationUpdate::quantity(3))
        .await
        .unwrap();
}

#[tokio::test]
async fn restart_gives_a_new_instance_id_and_cycles_through_starting() {
    let sim = Sim::start().await;
    let client = sim.client();
    let before = client.dyno_info(APP, "web.1").await.unwrap();
    assert_eq!(before.state, "up");
    client.restart_dyno(APP, "web.1").await.unwrap();
    let after = client.dyno_info(APP, "web.1").await.unwrap();
    assert_ne!(after.id, before.id);
    assert_eq!(after.state, "starting");
    let worker_before = client.dyno_info(APP, "worker.1").await.unwrap();
    client.restart_process_type(APP, "worker").await.unwrap();
    assert_ne!(
        client.dyno_info(APP, "worker.1").await.unwrap().id,
        worker_before.id
    );
    client.restart_all(APP).await.unwrap();
    client.stop_dyno(APP, "web.2").await.unwrap();
    assert!(client.restart_dyno(APP, "web.9").await.is_err());
    let methods: Vec<String> = sim
        .handle
        .actions()
        .iter()
        .map(|a| a.method.clone())
        .collect();
    assert!(methods.contains(&"DELETE".to_string()));
}

#[tokio::test]
async fn rate_limit_counts_down_and_answers_429_when_exhausted() {
    let sim = Sim::start().await;
    let first = sim.raw(Method::GET, "/account").send().await.unwrap();
    assert_eq!(first.headers()["ratelimit-remaining"], "4499");
    // The limits endpoint is free.
    let limits = sim.client().rate_limits().await.unwrap();
    assert_eq!(limits.remaining, 4499);

    sim.handle.set_rate_limit_remaining(&sim.handle.token, 1);
    sim.client().app_info(APP).await.unwrap();
    // A second client on the same key (another tool) does not know the bucket is empty.
    let err = sim.client().app_info(APP).await.unwrap_err();
    assert!(matches!(err, HerokuError::RateLimited { .. }), "{err:?}");
    assert_eq!(err.heroku_id(), Some("rate_limit"));
    // 75 per minute come back.
    sim.advance(Duration::from_secs(60));
    assert_eq!(sim.client().rate_limits().await.unwrap().remaining, 75);
}

#[tokio::test]
async fn one_off_dyno_output_arrives_through_rendezvous() {
    let sim = Sim::start().await;
    let client = sim.client();
    let dyno = client
        .dyno_create(
            APP,
            &DynoCreate {
                command: "echo hello from run".into(),
                attach: Some(true),
                time_to_live: Some(600),
                ..DynoCreate::default()
            },
        )
        .await
        .unwrap();
    assert!(dyno.name.starts_with("run."), "{}", dyno.name);
    let url = dyno.attach_url.clone().unwrap();
    assert!(url.starts_with("rendezvous://127.0.0.1:"), "{url}");
    assert!(
        client
            .dynos_list(APP)
            .await
            .unwrap()
            .iter()
            .any(|d| d.name == dyno.name)
    );

    let mut out = Vec::new();
    dynopilot_heroku::rendezvous::attach_plain(&url, &mut out)
        .await
        .unwrap();
    assert_eq!(out, b"hello from run\r\n");
    // The one-off finished once its output was read.
    assert!(
        !client
            .dynos_list(APP)
            .await
            .unwrap()
            .iter()
            .any(|d| d.name == dyno.name)
    );

    let missing_command = sim
        .raw(Method::POST, "/apps/shop/dynos")
        .body(r#"{"attach": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(missing_command.status(), 422);
}

/// Config vars: a change is a release named in Heroku's words (keys in the order sent) that
/// restarts the dynos; bad names are `422`, bad JSON `400`, and an unchanged set makes no
/// release.
#[tokio::test]
async fn config_var_changes_make_releases_and_bad_input_is_refused() {
    let sim = Sim::start().await;
    let path = format!("/apps/{APP}/config-vars");
    let patch = |body: &'static str| {
        sim.raw(Method::PATCH, &path)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let answer = patch(r#"{"ZED": "1", "ALPHA": "2", "DATABASE_URL": null}"#)
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let vars: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(vars, serde_json::json!({ "ZED": "1", "ALPHA": "2" }));
    let releases = sim.client().releases_list(APP).await.unwrap();
    let last = releases.last().unwrap();
    assert_eq!(last.version, 2);
    assert_eq!(
        last.description.as_deref(),
        Some("Set ZED, ALPHA config vars, Remove DATABASE_URL config vars")
    );
    sim.advance(Duration::from_secs(1));
    let dynos = sim.client().dynos_list(APP).await.unwrap();
    assert!(
        dynos
            .iter()
            .all(|d| d.release.as_ref().map(|r| r.version) == Some(2)),
        "{dynos:?}"
    );
    assert_eq!(patch(r#"{"ZED": "1"}"#).await.unwrap().status(), 200);
    assert_eq!(sim.client().releases_list(APP).await.unwrap().len(), 2);
    assert_eq!(patch(r#"{"BAD-NAME": "x"}"#).await.unwrap().status(), 422);
    assert_eq!(patch(r#"{"ZED": 5}"#).await.unwrap().status(), 422);
    assert_eq!(patch(r#"{"ZED": "#).await.unwrap().status(), 400);
    let v1: serde_json::Value = sim
        .raw(Method::GET, &format!("/apps/{APP}/releases/1/config-vars"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        v1["DATABASE_URL"]
            .as_str()
            .unwrap()
            .starts_with("postgres://")
    );
}
