//! Injected faults over real HTTP: apply-then-fail lands the write exactly once while the
//! client sees a 503 or a dropped connection, counted rules stop, patterns only hit matching
//! requests, latency is added, resets drop the connection; `/_sim/actions` records it all.

use std::time::Duration;

use dynopilot_sim::{FaultPlan, SimConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{APP, Sim};

fn plan(spec: &str) -> FaultPlan {
    FaultPlan::parse(spec, "test").unwrap()
}

/// `GET /_sim/actions` (no auth: it is the simulator's own endpoint).
async fn applied(sim: &Sim, query: &str) -> Vec<Value> {
    let url = format!("{}/_sim/actions{query}", sim.handle.base_url);
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// A fresh connection per request, so a dropped one never poisons the next.
fn fresh(sim: &Sim, method: Method, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
        .request(method, format!("{}{path}", sim.handle.base_url))
        .header("Accept", "application/vnd.heroku+json; version=3")
        .bearer_auth(&sim.handle.token)
}

async fn dyno_id(sim: &Sim, dyno: &str) -> String {
    let d = sim.client().dyno_info(APP, dyno).await.unwrap();
    d.id
}

#[tokio::test]
async fn apply_then_fail_restarts_the_dyno_once_while_the_client_sees_503() {
    let sim = Sim::start().await;
    let before = dyno_id(&sim, "web.1").await;
    sim.handle
        .set_faults(plan("apply-then-fail=1:DELETE /apps/*/dynos/*:count=1"));
    let response = fresh(&sim, Method::DELETE, "/apps/shop/dynos/web.1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], "service_unavailable");
    // The write landed anyway: the dyno is a new one.
    assert_ne!(dyno_id(&sim, "web.1").await, before);
    let actions = applied(&sim, "").await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    let a = &actions[0];
    assert_eq!(a["seq"], 1);
    assert_eq!(a["app"], APP);
    assert_eq!(a["kind"], "restart_dyno");
    assert_eq!(a["target"], "web.1");
    assert_eq!(a["change"], "restarted");
    assert_eq!(a["request"], "DELETE /apps/shop/dynos/web.1");
    assert_eq!(a["faulted"], "503");
    assert_eq!(a["at"], "2023-11-14T22:13:30Z");
    // The call history shows what the client saw.
    let calls = sim.handle.actions();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, 503);
    assert_eq!(calls[0].faulted.as_deref(), Some("503 after applying"));
    // count=1: the retry is answered for real and is a second, unfaulted restart.
    let retry = fresh(&sim, Method::DELETE, "/apps/shop/dynos/web.1")
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 202);
    let actions = applied(&sim, "?kind=restart_dyno").await;
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[1]["faulted"], Value::Null);
}

#[tokio::test]
async fn apply_then_fail_with_a_reset_scales_once_and_drops_the_connection() {
    let sim = Sim::start().await;
    sim.handle.set_faults(plan(
        "apply-then-fail=1:PATCH /apps/*/formation/*:count=1:answer=reset",
    ));
    let result = fresh(&sim, Method::PATCH, "/apps/shop/formation/web")
        .json(&json!({"quantity": 4}))
        .send()
        .await;
    let err = result.expect_err("the connection must be dropped without an answer");
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
    let formation = sim.client().formation_info(APP, "web").await.unwrap();
    assert_eq!(formation.quantity, 4);
    let actions = applied(&sim, "?app=shop").await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["kind"], "formation_update");
    assert_eq!(actions[0]["target"], "web");
    assert_eq!(actions[0]["quantity"], json!({"from": 2, "to": 4}));
    assert_eq!(actions[0]["size"], Value::Null);
    assert_eq!(actions[0]["change"], "quantity 2 → 4");
    assert_eq!(actions[0]["faulted"], "reset");
    assert_eq!(sim.handle.actions()[0].status, 444);
    assert_eq!(sim.handle.fault_counts().resets, 1);
    // Repeating the same absolute change lands nothing new.
    let again = fresh(&sim, Method::PATCH, "/apps/shop/formation/web")
        .json(&json!({"quantity": 4}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(applied(&sim, "").await.len(), 1);
}

#[tokio::test]
async fn apply_then_fail_on_a_resize_records_the_size_change_once() {
    let sim = Sim::start().await;
    sim.handle
        .set_faults(plan("apply-then-fail=1:PATCH:answer=500:count=1"));
    let response = fresh(&sim, Method::PATCH, "/apps/shop/formation")
        .json(&json!({"updates": [{"type": "worker", "size": "Standard-2X"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let formation = sim.client().formation_info(APP, "worker").await.unwrap();
    assert_eq!(formation.size.as_deref(), Some("Standard-2X"));
    let actions = applied(&sim, "").await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(
        actions[0]["size"],
        json!({"from": "Standard-1X", "to": "Standard-2X"})
    );
    assert_eq!(actions[0]["faulted"], "500");
}

#[tokio::test]
async fn every_kind_of_write_is_recorded_with_its_target() {
    let sim = Sim::start().await;
    let client = sim.client();
    client.restart_process_type(APP, "worker").await.unwrap();
    client.restart_all(APP).await.unwrap();
    client.stop_dyno(APP, "web.2").await.unwrap();
    let response = sim
        .raw(Method::POST, "/apps/shop/dynos")
        .json(&json!({"command": "rake db:migrate"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let run: Value = response.json().await.unwrap();
    // A failed write (no such dyno) lands nothing.
    assert!(client.restart_dyno(APP, "web.9").await.is_err());
    let actions = applied(&sim, "").await;
    let got: Vec<(String, String)> = actions
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["target"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("restart_process_type", "worker"),
        ("restart_all", "all"),
        ("stop_dyno", "web.2"),
        ("dyno_create", run["name"].as_str().unwrap()),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, t)| ((*k).to_string(), (*t).to_string()))
        .collect();
    assert_eq!(got, expected);
    assert!(actions.iter().all(|a| a["faulted"].is_null()));
    assert_eq!(actions[3]["change"], "created (rake db:migrate)");
    let seqs: Vec<u64> = actions.iter().map(|a| a["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert_eq!(applied(&sim, "?target=web.2").await.len(), 1);
    assert_eq!(applied(&sim, "?app=other").await.len(), 0);
}

#[tokio::test]
async fn a_counted_fault_stops_after_n_and_is_visible_at_sim_faults() {
    let sim = Sim::start().await;
    sim.handle.set_faults(plan("5xx=1:GET /account:count=3"));
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            sim.raw(Method::GET, "/account")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [503, 503, 503, 200, 200]);
    let view: Value = reqwest::get(format!("{}/_sim/faults", sim.handle.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["rules"], json!(["5xx=1:GET /account:count=3"]));
    assert_eq!(view["injected"]["server_errors"], 3);
}

#[tokio::test]
async fn a_path_pattern_only_faults_matching_requests() {
    let sim = Sim::start().await;
    sim.handle.set_faults(plan("5xx=1:/apps/*/dynos/web.*"));
    let web = sim
        .raw(Method::GET, "/apps/shop/dynos/web.1")
        .send()
        .await
        .unwrap();
    assert_eq!(web.status(), 503);
    for path in [
        "/apps/shop/dynos/worker.1",
        "/apps/shop/dynos",
        "/apps/shop",
    ] {
        let response = sim.raw(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    // A pre-handler fault applies nothing.
    let delete = fresh(&sim, Method::DELETE, "/apps/shop/dynos/web.2")
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 503);
    assert!(applied(&sim, "").await.is_empty());
    assert_eq!(sim.handle.actions()[0].faulted.as_deref(), Some("503"));
}

#[tokio::test]
async fn latency_is_added_to_matching_requests_only() {
    let sim = Sim::start().await;
    sim.handle.set_faults(plan("latency=300ms:GET /apps/*"));
    let timed = async |path: &str| {
        let started = tokio::time::Instant::now();
        let status = sim.raw(Method::GET, path).send().await.unwrap().status();
        assert_eq!(status, 200);
        started.elapsed()
    };
    let slow = timed("/apps/shop").await;
    assert!(slow >= Duration::from_millis(300), "{slow:?}");
    let fast = timed("/account").await;
    assert!(fast < Duration::from_millis(300), "{fast:?}");
    assert_eq!(sim.handle.fault_counts().delayed, 1);
}

#[tokio::test]
async fn a_reset_drops_the_connection_before_anything_is_applied() {
    let sim = Sim::start().await;
    let before = dyno_id(&sim, "web.1").await;
    sim.handle.set_faults(plan("reset=1:DELETE:count=1"));
    let err = fresh(&sim, Method::DELETE, "/apps/shop/dynos/web.1")
        .send()
        .await
        .expect_err("no answer");
    assert!(
        err.is_request() || err.is_connect() || err.to_string().contains("error"),
        "{err:?}"
    );
    assert_eq!(dyno_id(&sim, "web.1").await, before);
    assert!(applied(&sim, "").await.is_empty());
    let calls = sim.handle.actions();
    assert_eq!(
        (calls[0].status, calls[0].faulted.as_deref()),
        (444, Some("reset"))
    );
    // The server is still up, and the next request on a new connection is answered.
    let ok = fresh(&sim, Method::DELETE, "/apps/shop/dynos/web.1")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 202);
}

#[tokio::test]
async fn faults_from_the_config_apply_from_the_start_and_repeat_for_a_seed() {
    let run = async || {
        let mut config = SimConfig::empty().with_app(dynopilot_sim::AppSpec::plain(
            APP,
            dynopilot_sim::config::DEMO_EMAIL,
            1,
            0,
        ));
        config.faults = plan("5xx=0.5,seed=11");
        let sim = Sim::with(config).await;
        let mut statuses = Vec::new();
        for _ in 0..20 {
            let response = sim.raw(Method::GET, "/account").send().await.unwrap();
            statuses.push(response.status().as_u16());
        }
        statuses
    };
    let first = run().await;
    assert!(first.contains(&503) && first.contains(&200), "{first:?}");
    assert_eq!(first, run().await);
}
