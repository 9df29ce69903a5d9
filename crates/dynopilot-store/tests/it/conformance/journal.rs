//! Conformance pieces for the journal: decisions, actions, events and policy state.

use std::sync::Arc;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::decision::{Action, Decision, Reason};
use dynopilot_store::{
    ActionOutcome, ActionRecord, Batch, DecisionRecord, Event, Store, TimeRange,
};
use serde_json::json;

use super::t;

fn decision(id: &str, app: &str, at: Timestamp) -> DecisionRecord {
    DecisionRecord {
        id: id.to_owned(),
        app: app.to_owned(),
        at,
        kind: "restart_dyno".to_owned(),
        executed: true,
        dry_run: false,
        reason: format!("reason of {id}"),
        decision: json!({"id": id, "action": {"type": "restart_dyno", "dyno": "web.1"}}),
    }
}

fn action(decision_id: &str, attempt: u32, at: Timestamp, outcome: ActionOutcome) -> ActionRecord {
    ActionRecord {
        decision_id: decision_id.to_owned(),
        attempt,
        started_at: at,
        finished_at: (outcome != ActionOutcome::Started)
            .then(|| at.plus(std::time::Duration::from_millis(250))),
        outcome,
        error: (outcome == ActionOutcome::Failed).then(|| "503 from Heroku".to_owned()),
    }
}

fn all_time() -> TimeRange {
    TimeRange::new(
        Timestamp::from_millis(i64::MIN),
        Timestamp::from_millis(i64::MAX),
    )
}

pub async fn decision_insert_is_idempotent(store: Arc<dyn Store>) {
    let first = decision("d1", "app", t(10));
    assert!(store.insert_decision(&first).await.unwrap());
    let retried = DecisionRecord {
        reason: "a different reason".into(),
        ..first.clone()
    };
    assert!(
        !store.insert_decision(&retried).await.unwrap(),
        "second insert reports existing"
    );
    let stored = store.decisions("app", all_time(), 10).await.unwrap();
    assert_eq!(
        stored,
        vec![first],
        "the first write wins and nothing is duplicated"
    );
}

pub async fn decision_record_from_core_decision_round_trips(store: Arc<dyn Store>) {
    let core = Decision {
        id: "dec-restart-web-1".into(),
        app: "shop".into(),
        at: t(42),
        action: Action::RestartDyno {
            dyno: "web.1".into(),
            instance_id: Some("abc".into()),
        },
        reason: Reason::Crashed {
            dyno: "web.1".into(),
            since: t(30),
        },
        executed: false,
        dry_run: true,
        blocked: vec![],
        limited_by: vec![],
    };
    let record = DecisionRecord::from_decision(&core).unwrap();
    assert_eq!(record.kind, "restart_dyno");
    assert_eq!(record.reason, core.reason.to_string());
    store.insert_decision(&record).await.unwrap();
    let stored = store.decisions("shop", all_time(), 1).await.unwrap();
    let back: Decision = serde_json::from_value(stored[0].decision.clone()).unwrap();
    assert_eq!(back, core);
    assert!(stored[0].dry_run && !stored[0].executed);
}

pub async fn journal_lists_are_newest_first_limited_and_half_open(store: Arc<dyn Store>) {
    for (i, s) in [0, 10, 20, 30].into_iter().enumerate() {
        let id = format!("d{i}");
        store
            .insert_decision(&decision(&id, "app", t(s)))
            .await
            .unwrap();
        store
            .record_action(&action(&id, 1, t(s + 1), ActionOutcome::Ok))
            .await
            .unwrap();
    }
    store
        .insert_decision(&decision("other", "other-app", t(15)))
        .await
        .unwrap();
    let events: Vec<Event> = [0, 10, 20, 30]
        .into_iter()
        .map(|s| Event {
            app: "app".into(),
            at: t(s),
            kind: "dyno_crashed".into(),
            message: format!("crash at {s}"),
            detail: json!({"dyno": "web.1", "s": s}),
        })
        .collect();
    store
        .write_batch(&Batch {
            events,
            ..Batch::default()
        })
        .await
        .unwrap();

    // [t(10), t(30)) holds 10 and 20; 30 is the excluded end.
    let range = TimeRange::new(t(10), t(30));
    let ids: Vec<String> = store
        .decisions("app", range, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, ["d2", "d1"]);
    let limited = store.decisions("app", all_time(), 2).await.unwrap();
    assert_eq!(
        limited.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        ["d3", "d2"]
    );

    let messages: Vec<String> = store
        .events("app", range, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(messages, ["crash at 20", "crash at 10"]);
    let newest = store.events("app", all_time(), 1).await.unwrap();
    assert_eq!(newest[0].detail, json!({"dyno": "web.1", "s": 30}));

    // Actions are ranged by start: t(11) and t(21) fall inside [t(11), t(31)), t(31) does not.
    let actions = store
        .actions("app", TimeRange::new(t(11), t(31)), 10)
        .await
        .unwrap();
    let ids: Vec<&str> = actions.iter().map(|a| a.decision_id.as_str()).collect();
    assert_eq!(ids, ["d2", "d1"]);
    assert_eq!(actions[0], action("d2", 1, t(21), ActionOutcome::Ok));
    assert!(
        store
            .actions("other-app", all_time(), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn completed_decisions_are_those_ended_ok_or_skipped(store: Arc<dyn Store>) {
    for id in ["ok", "skipped", "failed", "in-flight", "retried"] {
        store
            .insert_decision(&decision(id, "app", t(0)))
            .await
            .unwrap();
    }
    store
        .insert_decision(&decision("elsewhere", "other", t(0)))
        .await
        .unwrap();
    let records = [
        action("ok", 1, t(1), ActionOutcome::Ok),
        action("skipped", 1, t(1), ActionOutcome::Skipped),
        action("failed", 1, t(1), ActionOutcome::Failed),
        action("in-flight", 1, t(1), ActionOutcome::Started),
        action("retried", 1, t(1), ActionOutcome::Failed),
        action("retried", 2, t(5), ActionOutcome::Ok),
        action("elsewhere", 1, t(1), ActionOutcome::Ok),
    ];
    for r in &records {
        store.record_action(r).await.unwrap();
    }
    let mut done: Vec<String> = store
        .completed_decision_ids("app")
        .await
        .unwrap()
        .into_iter()
        .collect();
    done.sort();
    assert_eq!(done, ["ok", "retried", "skipped"]);

    // Finishing the in-flight attempt updates its row rather than adding one.
    let finished = action("in-flight", 1, t(1), ActionOutcome::Ok);
    store.record_action(&finished).await.unwrap();
    assert!(
        store
            .completed_decision_ids("app")
            .await
            .unwrap()
            .contains("in-flight")
    );
    let rows = store.actions("app", all_time(), 100).await.unwrap();
    assert_eq!(
        rows.iter().filter(|a| a.decision_id == "in-flight").count(),
        1
    );
    assert_eq!(rows.len(), 6);
}

pub async fn actions_need_a_journaled_decision(store: Arc<dyn Store>) {
    let orphan = action("never-journaled", 1, t(0), ActionOutcome::Started);
    assert!(store.record_action(&orphan).await.is_err());
}

pub async fn policy_state_round_trips_per_app(store: Arc<dyn Store>) {
    assert_eq!(store.policy_state("app").await.unwrap(), None);
    let first = json!({"cooldowns": {"web": 1_704_067_200_000_i64}, "streaks": [1, 2]});
    store.put_policy_state("app", t(1), &first).await.unwrap();
    store
        .put_policy_state("other", t(2), &json!({"x": 1}))
        .await
        .unwrap();
    let second = json!({"cooldowns": {}, "restart_counts": {"web.1": 3}});
    store.put_policy_state("app", t(3), &second).await.unwrap();
    let got = store.policy_state("app").await.unwrap().unwrap();
    assert_eq!(
        (got.app.as_str(), got.updated_at, &got.state),
        ("app", t(3), &second)
    );
    let other = store.policy_state("other").await.unwrap().unwrap();
    assert_eq!(other.state, json!({"x": 1}));
}

pub async fn unfinished_actions_are_those_whose_last_attempt_has_no_outcome(store: Arc<dyn Store>) {
    let ids = [
        "in-flight",
        "lost-answer",
        "ok",
        "failed",
        "abandoned",
        "retried",
        "later",
    ];
    for id in ids {
        store
            .insert_decision(&decision(id, "app", t(0)))
            .await
            .unwrap();
    }
    store
        .insert_decision(&decision("elsewhere", "other", t(0)))
        .await
        .unwrap();
    let records = [
        action("in-flight", 1, t(2), ActionOutcome::Started),
        action("lost-answer", 1, t(1), ActionOutcome::Unknown),
        action("ok", 1, t(1), ActionOutcome::Ok),
        action("failed", 1, t(1), ActionOutcome::Failed),
        action("abandoned", 1, t(1), ActionOutcome::Abandoned),
        action("retried", 1, t(1), ActionOutcome::Started),
        action("retried", 2, t(5), ActionOutcome::Ok),
        action("later", 1, t(1), ActionOutcome::Failed),
        action("later", 2, t(3), ActionOutcome::Started),
        action("elsewhere", 1, t(1), ActionOutcome::Started),
    ];
    for r in &records {
        store.record_action(r).await.unwrap();
    }
    let unfinished = store.unfinished_actions("app").await.unwrap();
    let seen: Vec<(&str, u32, &str)> = unfinished
        .iter()
        .map(|u| (u.decision.id.as_str(), u.attempt, u.outcome.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("lost-answer", 1, "unknown"),
            ("in-flight", 1, "started"),
            ("later", 2, "started"),
        ]
    );
    assert_eq!(unfinished[0].decision, decision("lost-answer", "app", t(0)));
    assert_eq!(unfinished[1].started_at, t(2));
    assert_eq!(unfinished[0].known_outcome(), Some(ActionOutcome::Unknown));
    // Abandoned is final like ok and skipped: the executor never takes it up again.
    let done = store.completed_decision_ids("app").await.unwrap();
    assert!(done.contains("abandoned") && done.contains("ok") && !done.contains("later"));
}

pub async fn unattempted_decisions_are_executable_ones_without_an_attempt(store: Arc<dyn Store>) {
    let queued = decision("queued", "app", t(5));
    let older = decision("older", "app", t(1));
    let attempted = decision("attempted", "app", t(2));
    let dry = DecisionRecord {
        executed: false,
        dry_run: true,
        ..decision("dry", "app", t(3))
    };
    for d in [
        &queued,
        &older,
        &attempted,
        &dry,
        &decision("other-app", "other", t(1)),
    ] {
        store.insert_decision(d).await.unwrap();
    }
    store
        .record_action(&action("attempted", 1, t(2), ActionOutcome::Started))
        .await
        .unwrap();
    let found = store.unattempted_decisions("app").await.unwrap();
    assert_eq!(found, vec![older, queued]);
}
