//! Pollers: the formation, dynos and releases of every watched app from the Platform API, each
//! on its interval (`[poll]`), with the app's own client and within its request budget; the
//! check, at start and then every `poll.runtime_metrics`, that `log-runtime-metrics` is on
//! (memory and silence policies are blind without it); and the `api-failing` alert after
//! `poll.failing_after` failed polls in a row, resolved at the next good one. The dyno list
//! polled is the one log lines are checked against: lines about other dynos drive nothing.
//! While an app has a dyno starting, its list is read again within 5 s.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dynopilot_core::policy::{
    Availability, DynoLifecycle, DynoState, Formation, Release, Severity,
};
use dynopilot_core::{Clock, Timestamp};
use dynopilot_heroku::wire::{Dyno, Formation as WireFormation};
use dynopilot_heroku::{HerokuClient, HerokuError, LOG_RUNTIME_METRICS};
use tokio_util::sync::CancellationToken;

use crate::clients::AppClients;
use crate::config::PollConfig;
use crate::fleet::AppState;
use crate::ingest::Ingest;
use crate::notice::Notices;
use crate::outcomes::{Caller, Outcomes};
use crate::watched::WatchedApps;

/// How soon an app with a dyno starting is read again (its boot takes seconds; a whole
/// interval of believing it still starting would hold the policies that wait for `up`).
const STARTING_REPOLL: Duration = Duration::from_secs(5);

/// The core topic of a failing-polls alert (`api-failing`, target `poll`) and of its resolve.
const POLLS_FAILING: &str = "api_failure:poll";
const POLLS_RECOVERED: &str = "api-recovered:poll";

pub struct Poller {
    pub clients: AppClients,
    pub ingest: Ingest,
    pub clock: Arc<dyn Clock>,
    /// Polled afresh every round: discovery adds and retires apps while this runs.
    pub apps: Arc<WatchedApps>,
    /// `formation` paces the rounds; releases and `log-runtime-metrics` are read when due.
    pub intervals: PollConfig,
    /// API errors are counted here for `/metrics`.
    pub stats: Arc<Outcomes>,
    /// Where the end of an announced app error is reported (`app-reachable`).
    pub alerts: crate::alerts::AlertSender,
    /// Where a streak of failed polls is announced (`api-failing`, `api-recovered`); none in
    /// setups without an executor.
    pub notices: Option<Notices>,
    due: Mutex<BTreeMap<String, Due>>,
}

/// Per app: when releases and runtime metrics were last read, and the failed polls in a row.
#[derive(Clone, Debug, Default)]
struct Due {
    releases_at: Option<Timestamp>,
    metrics_at: Option<Timestamp>,
    failed_in_a_row: u32,
    /// The `api-failing` alert of this streak was raised.
    announced: bool,
}

impl Poller {
    pub fn new(
        clients: AppClients,
        ingest: Ingest,
        clock: Arc<dyn Clock>,
        apps: Arc<WatchedApps>,
        intervals: PollConfig,
    ) -> Self {
        Poller {
            clients,
            ingest,
            clock,
            apps,
            intervals,
            stats: Arc::default(),
            alerts: crate::alerts::AlertSender::default(),
            notices: None,
            due: Mutex::default(),
        }
    }

    fn client(&self, app: &str) -> &HerokuClient {
        self.clients.for_app(app)
    }

    pub async fn run(self, cancel: CancellationToken) {
        let mut next_full = self.clock.now();
        loop {
            let apps = self.apps.names();
            if let Ok(mut due) = self.due.lock() {
                due.retain(|app, _| apps.contains(app));
            }
            for app in &apps {
                // Someone may switch the feature on (or off) while we run: look again later.
                if !self.in_error(app)
                    && self.is_due(app, |d| &mut d.metrics_at, self.intervals.runtime_metrics)
                {
                    self.check_runtime_metrics(app).await;
                }
            }
            let now = self.clock.now();
            let full = now >= next_full;
            if full {
                next_full = now.plus(self.intervals.formation);
            }
            // Between full rounds, only the apps with a dyno still starting are read again.
            for app in &apps {
                if full || self.repoll_starting(app) {
                    self.poll_or_back_off(app).await;
                }
            }
            let mut pause = next_full.since(self.clock.now());
            if apps.iter().any(|app| self.repoll_starting(app)) {
                pause = pause.min(STARTING_REPOLL);
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = self.clock.sleep(pause) => {}
            }
        }
    }

    /// Whether the last dyno list of `app` showed a dyno starting (or restarting): the
    /// policies that act on `up` dynos only (memory guard) wait for the next read to see it
    /// up, so it comes within `STARTING_REPOLL` instead of a whole interval.
    fn has_starting_dyno(&self, app: &str) -> bool {
        let Ok(fleet) = self.ingest.fleet.lock() else {
            return false;
        };
        fleet.app(app).is_some_and(|a| {
            a.observed
                .process_types
                .values()
                .flat_map(|pt| pt.dynos.values())
                .any(|d| d.lifecycle == DynoLifecycle::Starting)
        })
    }

    /// A starting dyno is read again early only while polls succeed: a failing API is not
    /// asked more often (and its `api-failing` streak keeps counting whole intervals).
    fn repoll_starting(&self, app: &str) -> bool {
        let failing = self
            .due
            .lock()
            .map(|due| due.get(app).is_some_and(|d| d.failed_in_a_row > 0))
            .unwrap_or(true);
        !failing && self.has_starting_dyno(app)
    }

    /// True (and the time noted) when the read `field` of `app` is older than `every`.
    fn is_due(
        &self,
        app: &str,
        field: impl FnOnce(&mut Due) -> &mut Option<Timestamp>,
        every: Duration,
    ) -> bool {
        let now = self.clock.now();
        let Ok(mut due) = self.due.lock() else {
            return true;
        };
        let at = field(due.entry(app.to_owned()).or_default());
        if at.is_none_or(|t| now.since(t) >= every) {
            *at = Some(now);
            return true;
        }
        false
    }

    /// Polls `app` unless it is in error and its retry is not due. An access error (404,
    /// 403, 401) marks the app in error with a growing backoff; a success clears it. Either
    /// way the other apps are polled as usual. Other failures (timeouts, 5xx, the API
    /// unreachable) count towards the `api-failing` streak.
    async fn poll_or_back_off(&self, app: &str) {
        if self.with_status(app, |s| s.waiting(self.clock.now())) {
            return;
        }
        match self.poll_app(app).await {
            Ok(()) => {
                self.streak_ended(app).await;
                if let Some(was) = self.with_status(app, crate::access::AppStatus::recover) {
                    tracing::info!(app, kind = was.kind, "app is reachable again; watching it");
                    // Only an error that was announced has an alert to resolve.
                    if was.announced {
                        let now = self.clock.now();
                        self.alerts
                            .event(dynopilot_notify::topic::app_reachable(app, now, was.kind));
                    }
                }
            }
            Err(e) if crate::access::is_access_error(&e) => {
                self.stats.count_api_error(Caller::Poller, &e);
                self.mark_error(app, &e);
            }
            Err(e) => {
                self.stats.count_api_error(Caller::Poller, &e);
                tracing::warn!(app, error = %e, "poll failed; will retry next interval");
                self.failed_again(app, &e).await;
            }
        }
    }

    /// One more failed poll in a row: at `failing_after` of them, one `api-failing` alert.
    async fn failed_again(&self, app: &str, e: &HerokuError) {
        let streak = {
            let Ok(mut due) = self.due.lock() else {
                return;
            };
            let d = due.entry(app.to_owned()).or_default();
            d.failed_in_a_row = d.failed_in_a_row.saturating_add(1);
            let wanted = self.intervals.failing_after;
            if wanted == 0 || d.announced || d.failed_in_a_row < wanted {
                return;
            }
            d.announced = true;
            d.failed_in_a_row
        };
        let message = format!(
            "{app}: {streak} polls of the Platform API failed in a row (last: {e}); formation and dynos stay as last seen until it answers"
        );
        tracing::error!(app, failed_in_a_row = streak, "{message}");
        if let Some(notices) = &self.notices {
            let now = self.clock.now();
            notices
                .raise(app, POLLS_FAILING, Severity::Critical, message, now)
                .await;
        }
    }

    /// A good poll ends the streak; an announced one is resolved (`api-recovered`).
    async fn streak_ended(&self, app: &str) {
        let (was, announced) = {
            let Ok(mut due) = self.due.lock() else {
                return;
            };
            let d = due.entry(app.to_owned()).or_default();
            let was = (d.failed_in_a_row, d.announced);
            d.failed_in_a_row = 0;
            d.announced = false;
            was
        };
        if !announced {
            return;
        }
        let message = format!("{app}: the Platform API answers polls again (after {was} failed)");
        tracing::info!(app, "{message}");
        if let Some(notices) = &self.notices {
            let now = self.clock.now();
            notices
                .raise(app, POLLS_RECOVERED, Severity::Info, message, now)
                .await;
        }
    }

    /// Marks `app` in error (logged once per episode, then at debug level).
    pub fn mark_error(&self, app: &str, e: &HerokuError) {
        let now = self.clock.now();
        let (fresh, retry_at) = self.with_status(app, |s| {
            let fresh = s.fail(e, self.intervals.formation, now);
            (fresh, s.error.as_ref().map(|e| e.retry_at))
        });
        let retry = retry_at.map(|t| t.to_string()).unwrap_or_default();
        if fresh {
            tracing::error!(app, kind = e.kind(), error = %e, "app in error: not watched until it is reachable; the other apps keep running");
        } else {
            tracing::debug!(app, error = %e, retry_at = %retry, "app still in error");
        }
    }

    fn in_error(&self, app: &str) -> bool {
        self.with_status(app, |s| s.error.is_some())
    }

    fn with_status<T: Default>(
        &self,
        app: &str,
        f: impl FnOnce(&mut crate::access::AppStatus) -> T,
    ) -> T {
        match self.ingest.fleet.lock() {
            Ok(mut fleet) => f(&mut fleet.app_mut(app).status),
            Err(_) => T::default(),
        }
    }

    /// Records whether `log-runtime-metrics` is on; the runner warns about what is blind.
    async fn check_runtime_metrics(&self, app: &str) {
        let on = match self
            .client(app)
            .feature_info(app, LOG_RUNTIME_METRICS)
            .await
        {
            Ok(feature) => Availability::Known(feature.enabled),
            Err(e) => {
                self.stats.count_api_error(Caller::Poller, &e);
                // What an earlier check found still stands.
                tracing::warn!(app, error = %e, "cannot check log-runtime-metrics");
                return;
            }
        };
        if let Ok(mut fleet) = self.ingest.fleet.lock() {
            fleet.app_mut(app).set_runtime_metrics(on);
        }
    }

    /// One poll of `app`: formation, dynos, and recent releases when they are due.
    pub async fn poll_app(&self, app: &str) -> Result<(), HerokuError> {
        let client = self.client(app);
        let formation = client.formation_list(app).await?;
        let dynos = client.dynos_list(app).await?;
        let releases = if self.is_due(app, |d| &mut d.releases_at, self.intervals.releases) {
            match client.releases_recent(app, 5).await {
                Ok(r) => r,
                Err(e) => {
                    // Read again at the next round rather than a whole interval later.
                    if let Ok(mut due) = self.due.lock() {
                        due.entry(app.to_owned()).or_default().releases_at = None;
                    }
                    return Err(e);
                }
            }
        } else {
            Vec::new()
        };
        let now = self.clock.now();
        let Ok(mut fleet) = self.ingest.fleet.lock() else {
            return Ok(());
        };
        let state = fleet.app_mut(app);
        apply_formation(state, &formation, now);
        apply_dynos(state, &dynos, now);
        for release in releases {
            let at = release.created_at.map_or(now, Timestamp::from_jiff);
            if !state
                .observed
                .releases
                .iter()
                .any(|r| r.version == release.version)
            {
                state.observed.releases.push(Release {
                    at,
                    version: release.version,
                });
            }
        }
        let excess = state.observed.releases.len().saturating_sub(20);
        state.observed.releases.drain(..excess);
        Ok(())
    }
}

fn apply_formation(state: &mut AppState, formation: &[WireFormation], now: Timestamp) {
    for f in formation {
        let size = f
            .dyno_size
            .as_ref()
            .and_then(|s| s.name.clone())
            .or_else(|| f.size.clone())
            .unwrap_or_default();
        let updated_at = f.updated_at.map_or(now, Timestamp::from_jiff);
        let entry = state
            .observed
            .process_types
            .entry(f.process_type.clone())
            .or_default();
        let changed = entry
            .formation
            .as_ref()
            .is_none_or(|old| old.quantity != f.quantity || !old.size.eq_ignore_ascii_case(&size));
        if changed {
            entry.formation = Some(Formation {
                quantity: f.quantity,
                size,
                updated_at,
            });
        }
    }
}

/// Heroku's view of the dynos is authoritative for which dynos exist and their state; the
/// logs are faster, so a state seen in the logs after the API's `updated_at` is kept.
fn apply_dynos(state: &mut AppState, dynos: &[Dyno], now: Timestamp) {
    state.set_dyno_list(dynos.iter().map(|d| d.name.clone()));
    for process_type in state.observed.process_types.values_mut() {
        process_type
            .dynos
            .retain(|name, _| dynos.iter().any(|d| &d.name == name));
    }
    for dyno in dynos {
        let Some(lifecycle) = lifecycle(&dyno.state) else {
            continue;
        };
        let since = dyno
            .updated_at
            .or(dyno.created_at)
            .map_or(now, Timestamp::from_jiff);
        let entry = state
            .observed
            .process_types
            .entry(dyno.process_type.clone())
            .or_default();
        let current = entry
            .dynos
            .entry(dyno.name.clone())
            .or_insert_with(|| DynoState::new(None, lifecycle, since));
        if current.lifecycle != lifecycle && since >= current.since {
            current.lifecycle = lifecycle;
            current.since = since;
        }
    }
}

fn lifecycle(state: &str) -> Option<DynoLifecycle> {
    Some(match state {
        "starting" | "restarting" => DynoLifecycle::Starting,
        "up" => DynoLifecycle::Up,
        "crashed" => DynoLifecycle::Crashed,
        "down" | "stopping" => DynoLifecycle::Down,
        "idle" => DynoLifecycle::Idle,
        _ => return None,
    })
}
