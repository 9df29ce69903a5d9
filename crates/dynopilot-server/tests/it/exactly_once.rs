//! Exactly once through lost answers and restarts of dynopilot, against the simulator over
//! loopback: the write lands, the answer is a 503 (apply-then-fail), and the simulator's own
//! record of applied actions says how many times Heroku really acted.

use std::sync::Arc;
use std::time::Duration;

use dynopilot_clock::SystemClock;
use dynopilot_core::Clock;
use dynopilot_core::policy::{Action, Decision, PolicyState, Reason};
use dynopilot_heroku::ZeroJitter;
use dynopilot_server::executor::{Executor, Outcome};
use dynopilot_server::ingest::Ingest;
use dynopilot_server::reconcile::{self, RECONCILED};
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, AppliedAction, FaultPlan, SimHandle};
use dynopilot_store::{ActionOutcome, ActionRecord, DecisionRecord, Store, TimeRange};

use crate::scenarios::{sim_client, start_sim};

struct Rig {
    sim: SimHandle,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    executor: Executor,
}

async fn rig(faults: &str) -> Rig {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 2, 1), &clock).await;
    if !faults.is_empty() {
        sim.set_faults(FaultPlan::parse(faults, "test").unwrap());
    }
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let client = sim_client(&sim, &clock).with_jitter(Arc::new(ZeroJitter));
    let executor = Executor::new(
        client,
        Arc::clone(&store),
        Ingest::new(Arc::clone(&clock)),
        Arc::clone(&clock),
    );
    Rig {
        sim,
        store,
        clock,
        executor,
    }
}

fn decision(id: &str, at: dynopilot_core::Timestamp, action: Action) -> Decision {
    Decision {
        id: id.to_owned(),
        app: "shop".to_owned(),
        at,
        action,
        reason: Reason::Manual {
            who: "ops@example.com".to_owned(),
            note: String::new(),
        },
        executed: true,
        dry_run: false,
        blocked: Vec::new(),
        limited_by: Vec::new(),
    }
}

async fn journal(store: &Arc<dyn Store>, d: &Decision) {
    store
        .insert_decision(&DecisionRecord::from_decision(d).unwrap())
        .await
        .unwrap();
}

fn landed(sim: &SimHandle, target: &str) -> Vec<AppliedAction> {
    sim.applied_actions()
        .into_iter()
        .filter(|a| a.app == "shop" && a.target == target)
        .collect()
}

async fn attempts(store: &Arc<dyn Store>, id: &str) -> Vec<ActionRecord> {
    let all = TimeRange::new(
        dynopilot_core::Timestamp::from_millis(0),
        dynopilot_core::Timestamp::from_millis(i64::MAX),
    );
    let mut found: Vec<ActionRecord> = store
        .actions("shop", all, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.decision_id == id)
        .collect();
    found.sort_by_key(|a| a.attempt);
    found
}

#[tokio::test]
async fn a_restart_whose_503_hides_that_it_landed_restarts_the_dyno_once() {
    let mut rig = rig("apply-then-fail=1:DELETE /apps/*/dynos/*:count=1").await;
    let d = decision(
        "restart-1",
        rig.clock.now(),
        Action::RestartDyno {
            dyno: "web.1".into(),
            instance_id: None,
        },
    );
    journal(&rig.store, &d).await;
    assert_eq!(rig.executor.execute(&d).await, Outcome::Done);
    let restarts = landed(&rig.sim, "web.1");
    assert_eq!(restarts.len(), 1, "{restarts:?}");
    assert_eq!(restarts[0].faulted.as_deref(), Some("503"));
    let journaled = attempts(&rig.store, "restart-1").await;
    assert_eq!(journaled.len(), 1);
    assert_eq!(journaled[0].outcome, ActionOutcome::Ok);
}

#[tokio::test]
async fn a_scale_whose_answer_is_lost_changes_the_formation_once() {
    let mut rig = rig("apply-then-fail=1:PATCH /apps/*/formation/*:answer=reset:count=1").await;
    let d = decision(
        "scale-1",
        rig.clock.now(),
        Action::ScaleFormation {
            process_type: "web".into(),
            from: 2,
            to: 4,
        },
    );
    journal(&rig.store, &d).await;
    assert_eq!(rig.executor.execute(&d).await, Outcome::Done);
    let changes = landed(&rig.sim, "web");
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].faulted.as_deref(), Some("reset"));
}

#[tokio::test]
async fn a_resize_whose_503_hides_that_it_landed_resizes_once() {
    let mut rig = rig("apply-then-fail=1:PATCH /apps/*/formation/*:count=1").await;
    let d = decision(
        "resize-1",
        rig.clock.now(),
        Action::Resize {
            process_type: "worker".into(),
            from: "Standard-1X".into(),
            to: "Standard-2X".into(),
        },
    );
    journal(&rig.store, &d).await;
    assert_eq!(rig.executor.execute(&d).await, Outcome::Done);
    let changes = landed(&rig.sim, "worker");
    assert_eq!(changes.len(), 1, "{changes:?}");
}

/// A journaled attempt with no outcome, as a process killed mid-call leaves it.
async fn started(rig: &Rig, d: &Decision, at: dynopilot_core::Timestamp) {
    journal(&rig.store, d).await;
    let record = ActionRecord {
        decision_id: d.id.clone(),
        attempt: 1,
        started_at: at,
        finished_at: None,
        outcome: ActionOutcome::Started,
        error: None,
    };
    rig.store.record_action(&record).await.unwrap();
}

#[tokio::test]
async fn reconciliation_confirms_a_restart_that_landed_before_the_crash_and_does_not_repeat_it() {
    let mut rig = rig("").await;
    let at = rig.clock.now();
    let d = decision(
        "landed-before-crash",
        at,
        Action::RestartDyno {
            dyno: "web.2".into(),
            instance_id: None,
        },
    );
    started(&rig, &d, at).await;
    // The request reached Heroku; the process died before the answer was journaled.
    sim_client(&rig.sim, &rig.clock)
        .restart_dyno("shop", "web.2")
        .await
        .unwrap();
    let report = reconcile::reconcile(
        &mut rig.executor,
        &["shop".to_owned()],
        reconcile::DEFAULT_DEADLINE,
    )
    .await;
    assert_eq!(report.confirmed, ["landed-before-crash"]);
    assert_eq!(landed(&rig.sim, "web.2").len(), 1);
    let journaled = attempts(&rig.store, "landed-before-crash").await;
    assert_eq!(journaled.len(), 1);
    assert_eq!(journaled[0].outcome, ActionOutcome::Ok);
    assert_eq!(journaled[0].error.as_deref(), Some(RECONCILED));
}

#[tokio::test]
async fn reconciliation_carries_out_a_recent_unsent_action_under_the_same_decision() {
    let mut rig = rig("").await;
    let at = rig.clock.now();
    let sent_never = decision(
        "never-sent",
        at,
        Action::ScaleFormation {
            process_type: "web".into(),
            from: 2,
            to: 3,
        },
    );
    started(&rig, &sent_never, at.minus(Duration::from_secs(2))).await;
    let queued = decision(
        "queued",
        at,
        Action::RestartDyno {
            dyno: "worker.1".into(),
            instance_id: None,
        },
    );
    journal(&rig.store, &queued).await;
    let report = reconcile::reconcile(
        &mut rig.executor,
        &["shop".to_owned()],
        reconcile::DEFAULT_DEADLINE,
    )
    .await;
    assert_eq!(report.carried_out, ["never-sent", "queued"]);
    assert_eq!(landed(&rig.sim, "web").len(), 1);
    assert_eq!(landed(&rig.sim, "worker.1").len(), 1);
    let scale = attempts(&rig.store, "never-sent").await;
    assert_eq!(
        scale.iter().map(|a| a.outcome).collect::<Vec<_>>(),
        [ActionOutcome::Failed, ActionOutcome::Ok],
        "attempt 2 under the same decision id"
    );
}

#[tokio::test]
async fn reconciliation_abandons_an_old_unsent_restart_with_its_reason_and_an_alert() {
    let mut rig = rig("").await;
    let at = rig.clock.now().minus(Duration::from_secs(600));
    let d = decision(
        "too-old",
        at,
        Action::RestartDyno {
            dyno: "web.1".into(),
            instance_id: None,
        },
    );
    journal(&rig.store, &d).await;
    let report = reconcile::reconcile(
        &mut rig.executor,
        &["shop".to_owned()],
        reconcile::DEFAULT_DEADLINE,
    )
    .await;
    assert_eq!(report.abandoned.len(), 1);
    assert!(landed(&rig.sim, "web.1").is_empty());
    let journaled = attempts(&rig.store, "too-old").await;
    assert_eq!(journaled[0].outcome, ActionOutcome::Abandoned);
    let why = journaled[0].error.as_deref().unwrap();
    assert!(why.contains("past the 300 s deadline"), "{why}");
    let all = TimeRange::new(
        dynopilot_core::Timestamp::from_millis(0),
        dynopilot_core::Timestamp::from_millis(i64::MAX),
    );
    let events = rig.store.events("shop", all, 10).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "alert:action-abandoned" && e.message.contains("restart web.1")),
        "{events:?}"
    );
    // The restart no longer counts in the policy state.
    let mut state = PolicyState::default();
    state.last_restart.insert("web.1".into(), at);
    state
        .restarts
        .push(dynopilot_core::policy::state::RestartRecord {
            at,
            target: "web.1".into(),
            policy: "manual".into(),
        });
    for lost in rig.executor.not_carried_out.take() {
        reconcile::forget(&mut state, &lost);
    }
    assert!(state.restarts.is_empty() && state.last_restart.is_empty());
    // Abandoned is final: a later run does not take it up again.
    let again = reconcile::reconcile(
        &mut rig.executor,
        &["shop".to_owned()],
        reconcile::DEFAULT_DEADLINE,
    )
    .await;
    assert_eq!(again, reconcile::Report::default());
}
