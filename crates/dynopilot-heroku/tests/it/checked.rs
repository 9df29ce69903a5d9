//! Writes after a lost answer: a restart is never resent blindly; Heroku's state decides.

use dynopilot_heroku::wire::FormationUpdate;
use dynopilot_heroku::{HerokuError, Landed, WriteCheck};

use crate::fake::{Fake, RecordingClock, Scripted, client, formation_json};

/// The recording clock starts at 1_700_000_000 s = 2023-11-14T22:13:20Z.
const CLOCK_START: &str = "2023-11-14T22:13:20Z";
const BEFORE_START: &str = "2023-11-14T22:10:00Z";

fn dyno_json(name: &str, updated_at: &str) -> serde_json::Value {
    let ty = name.split('.').next().unwrap();
    serde_json::json!({"id": format!("id-{name}"), "name": name, "type": ty, "state": "starting",
        "size": "Standard-1X", "created_at": "2023-11-01T00:00:00Z", "updated_at": updated_at})
}

fn unavailable() -> Scripted {
    Scripted::error(503, "unavailable", "Service Unavailable")
}

#[tokio::test]
async fn a_restart_whose_answer_was_lost_but_which_landed_is_not_sent_again() {
    let fake = Fake::start().await;
    fake.push("DELETE /apps/shop/dynos/web.1", unavailable())
        .push(
            "GET /apps/shop/dynos/web.1",
            Scripted::json(200, dyno_json("web.1", CLOCK_START)),
        );
    let c = client(&fake, &RecordingClock::new());
    let landed = c
        .write_checked("shop", &WriteCheck::RestartDyno { dyno: "web.1" })
        .await
        .unwrap();
    assert_eq!(landed, Landed::Confirmed);
    assert_eq!(fake.requests_to("DELETE /apps/shop/dynos/web.1").len(), 1);
}

#[tokio::test]
async fn a_restart_whose_answer_was_lost_and_which_did_not_land_is_sent_once_more() {
    let fake = Fake::start().await;
    fake.push("DELETE /apps/shop/dynos/web.1", unavailable())
        .push(
            "DELETE /apps/shop/dynos/web.1",
            Scripted::json(202, serde_json::json!({})),
        )
        .push(
            "GET /apps/shop/dynos/web.1",
            Scripted::json(200, dyno_json("web.1", BEFORE_START)),
        );
    let c = client(&fake, &RecordingClock::new());
    let landed = c
        .write_checked("shop", &WriteCheck::RestartDyno { dyno: "web.1" })
        .await
        .unwrap();
    assert_eq!(landed, Landed::Answered);
    assert_eq!(fake.requests_to("DELETE /apps/shop/dynos/web.1").len(), 2);
    assert_eq!(fake.requests_to("GET /apps/shop/dynos/web.1").len(), 1);
}

#[tokio::test]
async fn a_plain_restart_is_not_retried_after_a_5xx() {
    let fake = Fake::start().await;
    fake.push("DELETE /apps/shop/dynos/web.1", unavailable());
    let err = client(&fake, &RecordingClock::new())
        .restart_dyno("shop", "web.1")
        .await
        .unwrap_err();
    assert!(matches!(err, HerokuError::Upstream { status: 503, .. }));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn when_the_dyno_cannot_be_read_the_outcome_stays_unknown_and_nothing_is_resent() {
    let fake = Fake::start().await;
    fake.push("DELETE /apps/shop/dynos/web.1", unavailable());
    for _ in 0..4 {
        fake.push(
            "GET /apps/shop/dynos/web.1",
            Scripted::error(500, "internal", "boom"),
        );
    }
    let c = client(&fake, &RecordingClock::new());
    let err = c
        .write_checked("shop", &WriteCheck::RestartDyno { dyno: "web.1" })
        .await
        .unwrap_err();
    assert_eq!(err.write_outcome(), dynopilot_heroku::WriteOutcome::Unknown);
    assert_eq!(fake.requests_to("DELETE /apps/shop/dynos/web.1").len(), 1);
}

#[tokio::test]
async fn a_type_restart_landed_when_every_dyno_of_the_type_changed_since() {
    let fake = Fake::start().await;
    let dynos = serde_json::json!([
        dyno_json("web.1", CLOCK_START),
        dyno_json("web.2", CLOCK_START),
        dyno_json("worker.1", BEFORE_START),
    ]);
    fake.push("DELETE /apps/shop/formations/web", unavailable())
        .push("GET /apps/shop/dynos", Scripted::json(200, dynos));
    let landed = client(&fake, &RecordingClock::new())
        .write_checked(
            "shop",
            &WriteCheck::RestartProcessType {
                process_type: "web",
            },
        )
        .await
        .unwrap();
    assert_eq!(landed, Landed::Confirmed);
    assert_eq!(
        fake.requests_to("DELETE /apps/shop/formations/web").len(),
        1
    );
}

#[tokio::test]
async fn a_formation_patch_is_repeatable_and_checked_against_the_target() {
    let fake = Fake::start().await;
    for _ in 0..4 {
        fake.push("PATCH /apps/shop/formation/web", unavailable());
    }
    fake.push(
        "GET /apps/shop/formation/web",
        Scripted::json(200, formation_json("web", 4, "Standard-1X")),
    );
    let update = FormationUpdate::quantity(4);
    let landed = client(&fake, &RecordingClock::new())
        .write_checked(
            "shop",
            &WriteCheck::Formation {
                process_type: "web",
                update: &update,
            },
        )
        .await
        .unwrap();
    assert_eq!(landed, Landed::Confirmed);
    // Four tries by the idempotent retry, then one read instead of a fifth.
    assert_eq!(fake.requests_to("PATCH /apps/shop/formation/web").len(), 4);
}

#[tokio::test]
async fn a_one_off_dyno_whose_answer_was_lost_is_found_not_created_twice() {
    let fake = Fake::start().await;
    let mut run = dyno_json("run.1001", CLOCK_START);
    run["type"] = "run".into();
    run["command"] = "rake db:migrate".into();
    run["created_at"] = CLOCK_START.into();
    fake.push("POST /apps/shop/dynos", unavailable()).push(
        "GET /apps/shop/dynos",
        Scripted::json(
            200,
            serde_json::json!([dyno_json("web.1", BEFORE_START), run]),
        ),
    );
    let create = dynopilot_heroku::wire::DynoCreate {
        command: "rake db:migrate".into(),
        ..Default::default()
    };
    let dyno = client(&fake, &RecordingClock::new())
        .dyno_create_checked("shop", &create)
        .await
        .unwrap();
    assert_eq!(dyno.name, "run.1001");
    assert_eq!(fake.requests_to("POST /apps/shop/dynos").len(), 1);
}
