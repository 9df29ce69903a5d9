//! Probes and status checks that dynopilot runs itself, off the runner's critical path: HTTP
//! heartbeats and Pingdom feed `ProbeResult`s into the fleet (the `probe_latency` signal),
//! http / Redis / Postgres checks feed `ObservedState::checks`. Each target is one tokio task
//! that runs, waits its interval and runs again, so a target never has two probes in flight;
//! an app's targets share a small budget of concurrent runs.

mod heartbeat;
mod http_check;
mod judge;
pub mod pingdom;
mod postgres;
mod record;
mod redis_check;
mod stats;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::Clock;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::AppProbes;
use crate::ingest::Ingest;

pub use judge::judge;
pub use stats::{ProbeStats, TargetStats};

/// Runs of one app's targets that may be in flight at once; the others wait their turn.
pub const PER_APP_BUDGET: usize = 4;

/// What every target task shares.
#[derive(Clone)]
pub struct Context {
    pub app: String,
    pub ingest: Ingest,
    pub clock: Arc<dyn Clock>,
    pub budget: Arc<Semaphore>,
    pub stats: Arc<ProbeStats>,
    pub cancel: CancellationToken,
}

/// Starts one task per heartbeat, Pingdom account and status check of every app.
pub fn spawn(
    apps: Vec<(String, AppProbes)>,
    ingest: &Ingest,
    clock: &Arc<dyn Clock>,
    tasks: &TaskTracker,
    cancel: &CancellationToken,
) -> Arc<ProbeStats> {
    let stats = Arc::new(ProbeStats::default());
    for (app, probes) in apps.into_iter().filter(|(_, p)| !p.is_empty()) {
        let cx = Context {
            app,
            ingest: ingest.clone(),
            clock: Arc::clone(clock),
            budget: Arc::new(Semaphore::new(PER_APP_BUDGET)),
            stats: Arc::clone(&stats),
            cancel: cancel.clone(),
        };
        for probe in probes.heartbeats {
            tasks.spawn(heartbeat::run(cx.clone(), probe));
        }
        if let Some(pingdom) = probes.pingdom {
            tasks.spawn(pingdom::run(cx.clone(), pingdom));
        }
        for check in probes.checks {
            tasks.spawn(run_check(cx.clone(), check));
        }
    }
    stats
}

async fn run_check(cx: Context, check: crate::config::CheckConfig) {
    use dynopilot_core::policy::CheckKind;
    match check.kind {
        CheckKind::Http => http_check::run(cx, check).await,
        CheckKind::Redis => redis_check::run(cx, check).await,
        CheckKind::Postgres => postgres::run(cx, check).await,
    }
}

impl Context {
    /// One run within the app's budget; `None` once cancelled.
    async fn turn<F: Future<Output = Duration>>(&self, run: F) -> Option<Duration> {
        let _permit = self.budget.acquire().await.ok()?;
        tokio::select! {
            () = self.cancel.cancelled() => None,
            next = run => Some(next),
        }
    }

    /// Waits `d` before the next run; false once cancelled.
    async fn rest(&self, d: Duration) -> bool {
        tokio::select! {
            () = self.cancel.cancelled() => false,
            () = self.clock.sleep(d) => true,
        }
    }
}
