//! Controls go through the runner: pauses block autoscale decisions (journaled as blocked),
//! dry-run can be switched, manual scale and restart pass the guardrails and reach the
//! executor with who asked.

use axum::body::Body;
use axum::http::{Request, header};
use dynopilot_core::policy::{Action, Guardrail, Reason};

use super::{Harness, at};

async fn control(h: &Harness, body: &str) -> serde_json::Value {
    let (cookie, csrf) = h.session().await;
    let request = Request::post("/api/v1/apps/shop/controls")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-csrf-token", &csrf)
        .body(Body::from(body.to_owned()))
        .unwrap();
    let response = h.send(request).await;
    assert_eq!(response.status(), 200);
    serde_json::from_slice(&super::body(response).await).unwrap()
}

/// web has 2 dynos; raising `min` to 3 makes the schedule policy scale it up.
async fn require_three(h: &Harness) {
    let mut runner = h.runner.lock().await;
    let config = runner.policies.get_mut("shop").unwrap();
    config.process_types.get_mut("web").unwrap().min = Some(3);
}

#[tokio::test]
async fn a_pause_blocks_the_next_scale_decision_and_resume_lets_it_through() {
    let mut h = Harness::loopback().await;
    h.observe_shop();
    require_three(&h).await;
    let reply = control(&h, r#"{"command":"pause","process_type":"web"}"#).await;
    assert_eq!(reply["result"], "applied");
    assert_eq!(reply["message"], "autoscaling of web paused");

    h.clock.set(at(10));
    let decisions = h.runner.lock().await.tick_once(at(10)).await;
    let scale = decisions
        .iter()
        .find(|d| matches!(d.action, Action::ScaleFormation { .. }))
        .expect("the schedule still decides");
    assert!(!scale.executed);
    assert_eq!(scale.blocked[0].guardrail, Guardrail::Paused);
    while let Ok(sent) = h.executed.try_recv() {
        assert!(
            matches!(sent.action, Action::Alert { .. }),
            "only alerts: {sent:?}"
        );
    }
    let journal = h.get_json("/api/v1/apps/shop/decisions").await;
    let journaled = journal
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "scale_formation")
        .unwrap();
    assert_eq!(journaled["blocked"][0]["guardrail"], "paused");
    assert_eq!(journaled["executed"], false);
    let events = h.get_json("/api/v1/apps/shop/events").await;
    assert_eq!(
        events[0]["message"],
        "autoscaling of web paused by anonymous"
    );

    control(&h, r#"{"command":"resume","process_type":"web"}"#).await;
    // A new state: the paused decision was recorded as decided, so start from fresh state.
    h.runner.lock().await.states.clear();
    let decisions = h.runner.lock().await.tick_once(at(20)).await;
    assert!(decisions.iter().any(|d| d.executed), "{decisions:#?}");
    let mut sent = Vec::new();
    while let Ok(d) = h.executed.try_recv() {
        sent.push(d.action);
    }
    assert!(
        sent.iter()
            .any(|a| matches!(a, Action::ScaleFormation { to: 3, .. })),
        "{sent:?}"
    );
}

#[tokio::test]
async fn dry_run_from_the_dashboard_overrides_the_config() {
    let mut h = Harness::loopback().await;
    h.observe_shop();
    require_three(&h).await;
    let reply = control(&h, r#"{"command":"dry_run","on":true}"#).await;
    assert_eq!(reply["message"], "dry-run on");
    let decisions = h.runner.lock().await.tick_once(at(10)).await;
    assert!(!decisions.is_empty());
    assert!(decisions.iter().all(|d| d.dry_run && !d.executed));
    assert!(h.executed.try_recv().is_err());
    let apps = h.get_json("/api/v1/apps").await;
    assert_eq!(apps[0]["mode"], "dry-run");
}

#[tokio::test]
async fn manual_scale_is_journaled_with_who_and_reaches_the_executor() {
    let mut h = Harness::loopback().await;
    h.observe_shop();
    let reply = control(
        &h,
        r#"{"command":"scale","process_type":"web","quantity":3}"#,
    )
    .await;
    assert_eq!(reply["result"], "decided", "{reply}");
    assert_eq!(reply["decision"]["reason"], "requested by anonymous");
    assert_eq!(reply["decision"]["executed"], true);
    let sent = h.executed.try_recv().unwrap();
    assert_eq!(
        sent.reason,
        Reason::Manual {
            who: "anonymous".to_owned(),
            note: String::new()
        }
    );
    let journal = h.get_json("/api/v1/apps/shop/decisions").await;
    assert_eq!(journal[0]["policy"], "manual");
}

#[tokio::test]
async fn manual_actions_pass_the_same_guardrails() {
    let mut h = Harness::loopback().await;
    h.observe_shop();
    let reply = control(
        &h,
        r#"{"command":"scale","process_type":"web","quantity":9}"#,
    )
    .await;
    assert_eq!(reply["decision"]["action"]["to"], 4, "capped at max");
    assert_eq!(reply["decision"]["limited_by"][0]["guardrail"], "bounds");
    assert!(h.executed.try_recv().is_ok());

    // Both dynos up: restarting one is fine; the last healthy one is protected.
    let reply = control(&h, r#"{"command":"restart_dyno","dyno":"web.1"}"#).await;
    assert_eq!(reply["decision"]["executed"], true, "{reply}");
    let reply = control(&h, r#"{"command":"restart_dyno","dyno":"web.2"}"#).await;
    assert_eq!(reply["decision"]["executed"], false, "{reply}");
    assert_eq!(
        reply["decision"]["blocked"][0]["guardrail"],
        "last_healthy_dyno"
    );

    let reply = control(&h, r#"{"command":"restart_dyno","dyno":"web.9"}"#).await;
    assert_eq!(reply["result"], "rejected");
}

#[tokio::test]
async fn the_control_form_redirects_back_with_the_outcome() {
    let h = Harness::loopback().await;
    h.observe_shop();
    let (cookie, csrf) = h.session().await;
    let request = Request::post("/apps/shop/controls")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "csrf={csrf}&command=pause&confirmed=yes"
        )))
        .unwrap();
    let response = h.send(request).await;
    assert_eq!(response.status(), 303);
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    assert_eq!(location, "/apps/shop", "the outcome is not in the URL");
    assert_eq!(h.state.modes.label("shop", &super::shop_policy()), "paused");
}

#[tokio::test]
async fn a_timed_pause_ends_by_itself_and_says_so() {
    let h = Harness::loopback().await;
    h.observe_shop();
    let reply = control(&h, r#"{"command":"pause","seconds":60}"#).await;
    assert_eq!(reply["result"], "applied");
    assert_eq!(
        reply["message"],
        "autoscaling paused until 2025-11-25T10:01:00Z"
    );
    h.runner.lock().await.tick_once(at(59)).await;
    assert_eq!(h.state.modes.label("shop", &super::shop_policy()), "paused");
    h.clock.set(at(61));
    h.runner.lock().await.tick_once(at(61)).await;
    assert_eq!(h.state.modes.label("shop", &super::shop_policy()), "active");
    let events = h.get_json("/api/v1/apps/shop/events").await;
    assert_eq!(
        events[0]["message"],
        "autoscaling resumed: the timed pause ended"
    );
}

#[tokio::test]
async fn a_forced_restart_passes_the_cooldown_and_is_journaled_as_forced() {
    let mut h = Harness::loopback().await;
    h.observe_shop();
    let first = control(&h, r#"{"command":"restart_dyno","dyno":"web.1"}"#).await;
    assert_eq!(first["decision"]["executed"], true, "{first}");
    let again = control(&h, r#"{"command":"restart_dyno","dyno":"web.1"}"#).await;
    assert_eq!(again["decision"]["executed"], false, "{again}");
    assert!(again["message"].as_str().unwrap().contains("blocked"));
    let forced = control(
        &h,
        r#"{"command":"restart_dyno","dyno":"web.1","force":true}"#,
    )
    .await;
    assert_eq!(forced["decision"]["executed"], true, "{forced}");
    let reason = forced["decision"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("requested by anonymous: forced past "),
        "{reason}"
    );
    let mut sent = 0;
    while let Ok(d) = h.executed.try_recv() {
        if matches!(d.action, Action::RestartDyno { .. }) {
            sent += 1;
            assert!(matches!(d.reason, Reason::Manual { .. }));
        }
    }
    assert_eq!(
        sent, 2,
        "the first and the forced restart reach the executor"
    );
}

#[tokio::test]
async fn a_process_type_restart_goes_to_the_executor_and_an_unknown_type_is_rejected() {
    let mut h = Harness::loopback().await;
    h.observe_shop();
    let reply = control(
        &h,
        r#"{"command":"restart_process_type","process_type":"web"}"#,
    )
    .await;
    assert_eq!(reply["result"], "decided", "{reply}");
    let sent = h.executed.try_recv().unwrap();
    assert_eq!(
        sent.action,
        Action::RestartProcessType {
            process_type: "web".to_owned()
        }
    );
    let reply = control(
        &h,
        r#"{"command":"restart_process_type","process_type":"wrk"}"#,
    )
    .await;
    assert_eq!(reply["result"], "rejected");
    assert_eq!(reply["message"], "no process type named wrk");
}
