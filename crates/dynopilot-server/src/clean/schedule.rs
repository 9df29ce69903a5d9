//! The daemon's periodic cleans (`[[apps.clean]]`): every `every`, one clean in a one-off
//! dyno, journaled like any action: the decision first (kind [`KIND`], policy
//! `clean_schedule`), then the attempt as `started`, then its outcome with what was removed.
//! A clean found unfinished at start is abandoned, never re-run (`settle_unfinished`): the
//! next one comes at its time anyway.

use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::{Clock, Timestamp};
use dynopilot_heroku::{HerokuClient, OneOffEnd, RendezvousTls};
use dynopilot_store::{ActionOutcome, ActionRecord, DecisionRecord, Store};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{CleanJob, CleanRun, run_clean};

/// The journal's action kind of a clean.
pub const KIND: &str = "clean_files";
/// The policy a scheduled clean is journaled under.
pub const POLICY: &str = "clean_schedule";

/// One `[[apps.clean]]` entry of one app, ready to run.
#[derive(Debug, Clone)]
pub struct ScheduledClean {
    pub app: String,
    pub job: CleanJob,
    pub every: Duration,
}

/// What the periodic cleans need.
#[derive(Clone)]
pub struct CleanContext {
    pub client: HerokuClient,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub tls: RendezvousTls,
}

/// Starts one task per entry: the first clean one `every` after start, then every `every`.
pub fn spawn(
    context: &CleanContext,
    entries: Vec<ScheduledClean>,
    tasks: &TaskTracker,
    cancel: &CancellationToken,
) {
    for entry in entries {
        let context = context.clone();
        let cancel = cancel.clone();
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = context.clock.sleep(entry.every) => {}
                }
                run_journaled(&context, &entry, &cancel).await;
            }
        });
    }
}

/// One journaled clean; returns the decision id, or `None` when the journal refused the
/// decision (then nothing was started).
pub async fn run_journaled(
    context: &CleanContext,
    entry: &ScheduledClean,
    cancel: &CancellationToken,
) -> Option<String> {
    let now = context.clock.now();
    let record = decision_record(entry, now);
    if let Err(e) = context.store.insert_decision(&record).await {
        tracing::error!(app = %entry.app, error = %e, "cannot journal a scheduled clean; not started");
        return None;
    }
    let started = ActionRecord {
        decision_id: record.id.clone(),
        attempt: 1,
        started_at: now,
        finished_at: None,
        outcome: ActionOutcome::Started,
        error: None,
    };
    if let Err(e) = context.store.record_action(&started).await {
        tracing::error!(app = %entry.app, error = %e, "cannot journal a clean's start; not started");
        return None;
    }
    let mut job = entry.job.clone();
    if job.size.is_none() {
        // The formation's size now; Heroku's default if it cannot be read.
        job.size = super::formation_size(&context.client, &entry.app)
            .await
            .ok()
            .flatten();
    }
    let result = run_clean(&context.client, &entry.app, &job, &context.tls, cancel).await;
    let (outcome, note) = match &result {
        Ok(run) => outcome_of(run, entry.job.dry_run),
        Err(e) => (ActionOutcome::Failed, e.to_string()),
    };
    tracing::info!(app = %entry.app, dir = entry.job.spec.dir(), outcome = outcome.as_str(), "{note}");
    let finished = ActionRecord {
        finished_at: Some(context.clock.now()),
        outcome,
        error: Some(note),
        ..started
    };
    if let Err(e) = context.store.record_action(&finished).await {
        tracing::error!(app = %entry.app, error = %e, "cannot journal a clean's outcome");
    }
    Some(record.id)
}

/// The journal row: shaped like a core decision so the journal's readers show it as one.
fn decision_record(entry: &ScheduledClean, now: Timestamp) -> DecisionRecord {
    let job = &entry.job;
    let reason = format!(
        "scheduled clean of {}: files older than {} every {}{}",
        job.spec.dir(),
        span(job.spec.older_than()),
        span(entry.every),
        if job.dry_run { " (dry run)" } else { "" }
    );
    let id = format!("clean-{}", uuid::Uuid::new_v4().simple());
    let decision = serde_json::json!({
        "id": id,
        "app": entry.app,
        "at": now.to_jiff().to_string(),
        "action": {
            "type": KIND,
            "dir": job.spec.dir(),
            "older_than": span(job.spec.older_than()),
            "exclude": job.spec.exclude(),
            "include_dotfiles": job.spec.include_dotfiles(),
            "command": job.spec.command(job.dry_run),
        },
        "reason": { "kind": POLICY, "text": reason },
        "executed": !job.dry_run,
        "dry_run": job.dry_run,
        "blocked": [],
        "limited_by": [],
    });
    DecisionRecord {
        id,
        app: entry.app.clone(),
        at: now,
        kind: KIND.to_owned(),
        executed: !job.dry_run,
        dry_run: job.dry_run,
        reason,
        decision,
    }
}

/// The attempt's outcome and its note (what was removed, or why it failed).
fn outcome_of(run: &CleanRun, dry_run: bool) -> (ActionOutcome, String) {
    let files = run.output.files.len();
    let bytes = run.output.bytes();
    let verb = if dry_run { "would remove" } else { "removed" };
    let summary = format!("{verb} {files} file(s), {bytes} bytes, on {}", run.dyno);
    match run.end {
        OneOffEnd::Exited(0) => (ActionOutcome::Ok, summary),
        OneOffEnd::Exited(status) => (
            ActionOutcome::Failed,
            format!(
                "find exited with status {status} ({summary}): {}",
                run.output.other.join("; ")
            ),
        ),
        OneOffEnd::NoStatus => (
            ActionOutcome::Failed,
            format!("the dyno hung up without an exit status ({summary})"),
        ),
        OneOffEnd::TimedOut | OneOffEnd::Cancelled => {
            let stop = match &run.stop_error {
                Some(e) => format!("; stopping it failed: {e}"),
                None => String::new(),
            };
            let why = if run.end == OneOffEnd::TimedOut {
                "timed out"
            } else {
                "cancelled by shutdown"
            };
            (
                ActionOutcome::Failed,
                format!("{why}, {} stopped ({summary}){stop}", run.dyno),
            )
        }
    }
}

/// `48h`, `90m`, `45s`.
fn span(d: Duration) -> String {
    let secs = d.as_secs();
    if secs != 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs != 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// Settles a clean found unfinished at start: abandoned with its reason, never re-run.
pub async fn settle_unfinished(
    store: &dyn Store,
    record: &DecisionRecord,
    attempt: u32,
    now: Timestamp,
) {
    let abandoned = ActionRecord {
        decision_id: record.id.clone(),
        attempt,
        started_at: now,
        finished_at: Some(now),
        outcome: ActionOutcome::Abandoned,
        error: Some(
            "dynopilot stopped during the clean; a clean is never re-run, the next one comes at its time"
                .to_owned(),
        ),
    };
    if let Err(e) = store.record_action(&abandoned).await {
        tracing::error!(decision = %record.id, error = %e, "cannot record an abandoned clean");
    }
}
