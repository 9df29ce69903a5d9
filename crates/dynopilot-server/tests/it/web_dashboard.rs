//! The dashboard's confirmation step (a preview decided by the runner, nothing done until
//! confirmed, who it is recorded as), server-side notices instead of `?msg=`, the timeline,
//! and the chart series' thresholds and history start.

use axum::body::Body;
use axum::http::{Request, header};
use dynopilot_core::policy::{Action, Blocked, Decision, Guardrail, Reason};
use dynopilot_store::{ActionOutcome, ActionRecord, Batch, DecisionRecord, Event, Sample};

use super::{Harness, at, text};

fn form(cookie: &str, body: String) -> Request<Body> {
    Request::post("/apps/shop/controls")
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

async fn page(h: &Harness, cookie: &str, uri: &str) -> String {
    let request = Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let response = h.send(request).await;
    assert_eq!(response.status(), 200, "GET {uri}");
    text(response).await
}

async fn journaled(h: &Harness) -> usize {
    h.get_json("/api/v1/apps/shop/decisions")
        .await
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_restart_shows_the_runners_preview_and_does_nothing_until_confirmed() {
    let mut h = Harness::loopback().await;
    h.observe_shop();
    let (cookie, csrf) = h.session().await;

    let response = h
        .send(form(
            &cookie,
            format!("csrf={csrf}&command=restart_dyno&dyno=web.1"),
        ))
        .await;
    assert_eq!(
        response.status(),
        200,
        "a confirmation page, not a redirect"
    );
    let confirm = text(response).await;
    assert!(confirm.contains("Restart web.1?"), "{confirm}");
    assert!(
        confirm.contains("passes the guardrails and is sent to Heroku"),
        "{confirm}"
    );
    assert!(confirm.contains("anonymous (loopback)"), "{confirm}");
    assert!(confirm.contains(r#"name="confirmed" value="yes""#));
    assert!(confirm.contains(r#"name="dyno" value="web.1""#));
    assert_eq!(journaled(&h).await, 0, "a preview is not journaled");
    assert!(h.executed.try_recv().is_err(), "nor executed");

    let response = h
        .send(form(
            &cookie,
            format!("csrf={csrf}&command=restart_dyno&dyno=web.1&confirmed=yes"),
        ))
        .await;
    assert_eq!(response.status(), 303);
    let sent = h.executed.try_recv().expect("the confirmed restart runs");
    assert!(matches!(sent.action, Action::RestartDyno { .. }));
    assert_eq!(
        sent.reason,
        Reason::Manual {
            who: "anonymous (loopback)".to_owned(),
            note: String::new()
        }
    );

    // The same path decides the preview: with web.1 just restarted, web.2 is the last
    // healthy dyno, and the preview says the guardrail holds it.
    h.ingest
        .fleet
        .lock()
        .unwrap()
        .app_mut("shop")
        .observed
        .process_types
        .get_mut("web")
        .unwrap()
        .dynos
        .get_mut("web.1")
        .unwrap()
        .lifecycle = dynopilot_core::policy::DynoLifecycle::Starting;
    let confirm = text(
        h.send(form(
            &cookie,
            format!("csrf={csrf}&command=restart_dyno&dyno=web.2"),
        ))
        .await,
    )
    .await;
    assert!(
        confirm.contains("would be held, not sent to Heroku"),
        "{confirm}"
    );
    assert!(confirm.contains("verdict-held"));
}

#[tokio::test]
async fn pause_and_scale_ask_first_and_an_unknown_dyno_cannot_be_confirmed() {
    let h = Harness::loopback().await;
    h.observe_shop();
    let (cookie, csrf) = h.session().await;
    let confirm = text(
        h.send(form(
            &cookie,
            format!("csrf={csrf}&command=pause&process_type=web"),
        ))
        .await,
    )
    .await;
    assert!(confirm.contains("Pause autoscaling of web?"), "{confirm}");
    assert!(confirm.contains("journaled as held"), "{confirm}");
    assert_eq!(h.state.modes.label("shop", &super::shop_policy()), "active");

    let confirm = text(
        h.send(form(
            &cookie,
            format!("csrf={csrf}&command=scale&process_type=web&quantity=9"),
        ))
        .await,
    )
    .await;
    assert!(confirm.contains("Scale web to 9?"), "{confirm}");
    assert!(confirm.contains("The guardrails limit it"), "{confirm}");
    assert!(confirm.contains("scale web 2 → 4"), "{confirm}");

    let confirm = text(
        h.send(form(
            &cookie,
            format!("csrf={csrf}&command=restart_dyno&dyno=web.9"),
        ))
        .await,
    )
    .await;
    assert!(confirm.contains("cannot be done now"), "{confirm}");
    assert!(
        !confirm.contains(r#"name="confirmed""#),
        "no confirm button"
    );
    assert_eq!(journaled(&h).await, 0);
}

#[tokio::test]
async fn notices_come_from_the_server_once_and_never_from_the_url() {
    let h = Harness::loopback().await;
    h.observe_shop();
    let (cookie, csrf) = h.session().await;
    let planted = page(&h, &cookie, "/apps/shop?msg=Your%20account%20is%20locked").await;
    assert!(!planted.contains("Your account is locked"));
    assert!(!planted.contains(r#"id="notice""#));

    let response = h
        .send(form(
            &cookie,
            format!("csrf={csrf}&command=pause&confirmed=yes"),
        ))
        .await;
    assert_eq!(response.status(), 303);
    let (other_cookie, _) = h.session().await;
    let other = page(&h, &other_cookie, "/apps/shop").await;
    assert!(
        !other.contains(r#"id="notice""#),
        "another session sees nothing"
    );
    let shown = page(&h, &cookie, "/apps/shop").await;
    assert!(
        shown.contains(r#"role="status">autoscaling paused</p>"#),
        "{shown}"
    );
    let again = page(&h, &cookie, "/apps/shop").await;
    assert!(!again.contains(r#"id="notice""#), "shown once");
}

fn decision(id: &str, at_s: i64, reason: Reason, blocked: bool) -> Decision {
    Decision {
        id: id.to_owned(),
        app: "shop".to_owned(),
        at: at(at_s),
        action: Action::ScaleFormation {
            process_type: "web".to_owned(),
            from: 2,
            to: 3,
        },
        reason,
        executed: !blocked,
        dry_run: false,
        blocked: if blocked {
            vec![Blocked {
                guardrail: Guardrail::Paused,
                detail: "(autoscaling of web paused by ops)".to_owned(),
            }]
        } else {
            Vec::new()
        },
        limited_by: Vec::new(),
    }
}

#[tokio::test]
async fn the_timeline_lists_everything_in_one_filterable_list_with_chart_links() {
    let h = Harness::loopback().await;
    h.observe_shop();
    let schedule = Reason::Schedule {
        process_type: "web".to_owned(),
        quantity: 2,
        min: 3,
        max: 4,
        window: "default".to_owned(),
    };
    let manual = Reason::Manual {
        who: "ops".to_owned(),
        note: String::new(),
    };
    for d in [
        decision("auto", -900, schedule.clone(), false),
        decision("held", -600, schedule, true),
        decision("hand", -300, manual, false),
    ] {
        let record = DecisionRecord::from_decision(&d).unwrap();
        h.store.insert_decision(&record).await.unwrap();
    }
    h.store
        .record_action(&ActionRecord {
            decision_id: "auto".to_owned(),
            attempt: 1,
            started_at: at(-899),
            finished_at: Some(at(-898)),
            outcome: ActionOutcome::Ok,
            error: None,
        })
        .await
        .unwrap();
    let batch = Batch {
        events: vec![Event {
            app: "shop".to_owned(),
            at: at(-200),
            kind: "control".to_owned(),
            message: "autoscaling of web paused by ops".to_owned(),
            detail: serde_json::Value::Null,
        }],
        ..Batch::default()
    };
    h.store.write_batch(&batch).await.unwrap();
    h.ingest
        .fleet
        .lock()
        .unwrap()
        .app_mut("shop")
        .observed
        .releases
        .push(dynopilot_core::policy::Release {
            at: at(-1200),
            version: 42,
        });

    let (cookie, _) = h.session().await;
    let all = page(&h, &cookie, "/apps/shop/timeline").await;
    let kinds: Vec<&str> = all
        .match_indices(r#"data-kind=""#)
        .map(|(i, m)| {
            let rest = &all[i + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    assert_eq!(
        kinds,
        ["manual", "manual", "hold", "action", "decision", "release"],
        "newest first"
    );
    assert!(all.contains("release v42"));
    assert!(all.contains("held: paused (autoscaling of web paused by ops)"));
    assert!(all.contains("done"));
    let moment = at(-600).as_millis() / 1000;
    assert!(all.contains(&format!("/apps/shop?at={moment}#charts")));

    let holds = page(&h, &cookie, "/apps/shop/timeline?hold=on&release=on").await;
    assert_eq!(holds.matches(r#"data-kind="hold""#).count(), 1);
    assert_eq!(holds.matches(r#"data-kind="release""#).count(), 1);
    assert_eq!(holds.matches(r#"data-kind=""#).count(), 2);
    assert!(holds.contains(r#"name="hold" value="on" checked"#));
    assert!(!holds.contains(r#"name="decision" value="on" checked"#));
}

#[tokio::test]
async fn the_series_carries_the_kill_point_and_starts_where_history_does() {
    let h = Harness::loopback().await;
    h.observe_shop();
    let mut batch = Batch::default();
    for s in [-1500, -1200, -600] {
        let mut sample = Sample::new("shop", "web.1", at(s));
        sample.memory_total_mb = Some(300.0);
        sample.memory_quota_mb = Some(512.0);
        sample.load_1m = Some(0.5);
        batch.samples.push(sample);
    }
    h.store.write_batch(&batch).await.unwrap();

    let week = h.get_json("/api/v1/apps/shop/series?range=7d").await;
    assert_eq!(week["range_seconds"], 7 * 86_400);
    assert_eq!(week["memory_quota_mb"], 512.0);
    assert_eq!(
        week["memory_kill_mb"], 1024.0,
        "standard-1x is killed at 2x"
    );
    let start = week["history_start"].as_i64().expect("history is shorter");
    let t = week["t"].as_array().unwrap();
    assert_eq!(t[0].as_i64(), Some(start));
    assert!(start <= at(-1500).as_millis() / 1000);
    assert!(start > at(-3600).as_millis() / 1000, "starts near the data");
    let step = week["step_seconds"].as_i64().unwrap();
    assert!(
        step <= 60,
        "finer buckets for 25 minutes of history: {step}"
    );
    let points = week["memory_mb"]["web.1"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| !v.is_null())
        .count();
    assert_eq!(points, 3, "each sample in its own bucket");

    let hour = h.get_json("/api/v1/apps/shop/series?range=1h").await;
    let load = hour["traffic"]["web"]["load_per_dyno"].as_array().unwrap();
    assert_eq!(load.iter().filter(|v| v.as_f64() == Some(0.5)).count(), 3);
    assert_eq!(
        hour["traffic"]["web"]["load_target"],
        serde_json::Value::Null
    );

    let fixed = h
        .get_json("/api/v1/apps/shop/series?range=1h&step=1m")
        .await;
    assert_eq!(
        fixed["t"].as_array().unwrap().len(),
        60,
        "asked-for step: whole axis"
    );
    assert_eq!(
        fixed["history_start"].as_i64(),
        Some(at(-1500).as_millis() / 1000 / 60 * 60)
    );
}
