//! Scheduled cleans (`[[apps.clean]]`) against the simulator over loopback: a run is journaled
//! like any action (decision first, then the attempt and its outcome with what was removed)
//! and removes exactly the old files of its one-off dyno; one found unfinished at start is
//! abandoned by reconciliation and never run again.

use std::sync::Arc;
use std::time::Duration;

use dynopilot_clock::SystemClock;
use dynopilot_core::{Clock, Timestamp};
use dynopilot_heroku::RendezvousTls;
use dynopilot_server::clean::schedule::{self, CleanContext, ScheduledClean};
use dynopilot_server::clean::{CleanJob, CleanSpec};
use dynopilot_server::executor::Executor;
use dynopilot_server::ingest::Ingest;
use dynopilot_server::reconcile;
use dynopilot_sim::config::DEMO_EMAIL;
use dynopilot_sim::{AppSpec, AppliedKind, SimHandle};
use dynopilot_store::{ActionOutcome, ActionRecord, DecisionRecord, Store, TimeRange};
use tokio_util::sync::CancellationToken;

use crate::scenarios::{sim_client, start_sim};

const DAY: u64 = 86_400;

fn all() -> TimeRange {
    TimeRange::new(Timestamp::from_millis(0), Timestamp::from_millis(i64::MAX))
}

async fn seed(sim: &SimHandle) {
    let files = serde_json::json!({"files": [
        {"path": "/tmp/old.log", "size": 100, "age_secs": 3 * DAY},
        {"path": "/tmp/fresh.log", "size": 5, "age_secs": 60},
        {"path": "/tmp/.keep", "size": 1, "age_secs": 3 * DAY},
    ]});
    let answer = reqwest::Client::new()
        .put(format!("{}/_sim/apps/shop/files", sim.base_url))
        .json(&files)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

fn entry() -> ScheduledClean {
    ScheduledClean {
        app: "shop".to_owned(),
        job: CleanJob {
            spec: CleanSpec::new("/tmp", Duration::from_secs(2 * DAY), Vec::new(), false).unwrap(),
            dry_run: false,
            size: None,
            timeout: Duration::from_secs(60),
        },
        every: Duration::from_secs(DAY),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_clean_is_journaled_with_what_it_removed() {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 1, 0), &clock).await;
    seed(&sim).await;
    let store = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let context = CleanContext {
        client: sim_client(&sim, &clock),
        store: Arc::clone(&store),
        clock: Arc::clone(&clock),
        tls: RendezvousTls::with_extra_roots_pem(dynopilot_sim::rendezvous_tls::CERT_PEM).unwrap(),
    };
    let id = schedule::run_journaled(&context, &entry(), &CancellationToken::new())
        .await
        .unwrap();

    let decisions = store.decisions("shop", all(), 10).await.unwrap();
    assert_eq!(decisions.len(), 1);
    let d = &decisions[0];
    assert_eq!(
        (d.id.as_str(), d.kind.as_str()),
        (id.as_str(), schedule::KIND)
    );
    assert_eq!(
        d.reason,
        "scheduled clean of /tmp: files older than 48h every 24h"
    );
    assert_eq!(d.decision["reason"]["kind"], schedule::POLICY);
    assert_eq!(d.decision["action"]["dir"], "/tmp");

    let created: Vec<_> = sim
        .applied_actions()
        .into_iter()
        .filter(|a| a.kind == AppliedKind::DynoCreate)
        .collect();
    assert_eq!(created.len(), 1);
    let dyno = &created[0].target;
    let mut attempts = store.actions("shop", all(), 10).await.unwrap();
    attempts.sort_by_key(|a| a.finished_at.is_some());
    let last = attempts.last().unwrap();
    assert_eq!(last.outcome, ActionOutcome::Ok, "{last:?}");
    assert_eq!(
        last.error.as_deref(),
        Some(format!("removed 1 file(s), 100 bytes, on {dyno}").as_str())
    );
    let files: serde_json::Value = reqwest::get(format!(
        "{}/_sim/apps/shop/dynos/{dyno}/files",
        sim.base_url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let left: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["/tmp/.keep", "/tmp/fresh.log"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_clean_is_abandoned_at_start_and_never_rerun() {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sim = start_sim(AppSpec::plain("shop", DEMO_EMAIL, 1, 0), &clock).await;
    let store: Arc<dyn Store> = dynopilot_store::open("sqlite::memory:").await.unwrap();
    let now = clock.now();
    let record = DecisionRecord {
        id: "clean-interrupted".to_owned(),
        app: "shop".to_owned(),
        at: now,
        kind: schedule::KIND.to_owned(),
        executed: true,
        dry_run: false,
        reason: "scheduled clean of /tmp: files older than 48h every 24h".to_owned(),
        decision: serde_json::json!({"action": {"type": schedule::KIND, "dir": "/tmp"},
            "reason": {"kind": schedule::POLICY}}),
    };
    store.insert_decision(&record).await.unwrap();
    let started = ActionRecord {
        decision_id: record.id.clone(),
        attempt: 1,
        started_at: now,
        finished_at: None,
        outcome: ActionOutcome::Started,
        error: None,
    };
    store.record_action(&started).await.unwrap();

    let mut executor = Executor::new(
        sim_client(&sim, &clock),
        Arc::clone(&store),
        Ingest::new(Arc::clone(&clock)),
        Arc::clone(&clock),
    );
    let report = reconcile::reconcile(
        &mut executor,
        &["shop".to_owned()],
        reconcile::DEFAULT_DEADLINE,
    )
    .await;
    assert_eq!(report.abandoned.len(), 1, "{:?}", report.abandoned);
    assert!(report.unreadable.is_empty(), "{:?}", report.unreadable);
    let attempts = store.actions("shop", all(), 10).await.unwrap();
    assert!(
        attempts
            .iter()
            .any(|a| a.outcome == ActionOutcome::Abandoned
                && a.error
                    .as_deref()
                    .is_some_and(|e| e.contains("never re-run"))),
        "{attempts:?}"
    );
    assert!(
        sim.applied_actions()
            .iter()
            .all(|a| a.kind != AppliedKind::DynoCreate),
        "nothing was run again"
    );
}
