//! Pollers: the formation, dynos and releases of every app from the Platform API, on an
//! interval and within the shared request budget; and the check, at start and then hourly, that
//! `log-runtime-metrics` is on (memory and silence policies are blind without it). The dyno
//! list polled is the one log lines are checked against: lines about other dynos drive nothing.
//! While an app has a dyno starting, its list is read again within 5 s.

use std::sync::Arc;
use std::time::Duration;

use dynopilot_core::policy::{Availability, DynoLifecycle, DynoState, Formation, Release};
use dynopilot_core::{Clock, Timestamp};
use dynopilot_heroku::wire::{Dyno, Formation as WireFormation};
use dynopilot_heroku::{HerokuClient, HerokuError, LOG_RUNTIME_METRICS};
use tokio_util::sync::CancellationToken;

use crate::fleet::AppState;
use crate::ingest::Ingest;
use crate::outcomes::{Caller, Outcomes};

/// How soon an app with a dyno starting is read again (its boot takes seconds; a whole
/// interval of believing it still starting would hold the policies that wait for `up`).
const STARTING_REPOLL: Duration = Duration::from_secs(5);

/// How often `log-runtime-metrics` is looked at again.
const RECHECK_RUNTIME_METRICS: Duration = Duration::from_secs(3600);

pub struct Poller {
    pub client: HerokuClient,
    pub ingest: Ingest,
    pub clock: Arc<dyn Clock>,
    pub apps: Vec<String>,
    pub interval: Duration,
    /// API errors are counted here for `/metrics`.
    pub stats: Arc<Outcomes>,
    /// Where the end of an announced app error is reported (`app-reachable`).
    pub alerts: crate::alerts::AlertSender,
}

impl Poller {
    pub async fn run(self, cancel: CancellationToken) {
        let mut checked_at: Option<Timestamp> = None;
        let mut next_full = self.clock.now();
        loop {
            // Someone may switch the feature on (or off) while we run: look again every hour.
            if checked_at.is_none_or(|at| self.clock.now().since(at) >= RECHECK_RUNTIME_METRICS) {
                checked_at = Some(self.clock.now());
                for app in self.apps.iter().filter(|app| !self.in_error(app)) {
                    self.check_runtime_metrics(app).await;
                }
            }
            let now = self.clock.now();
            let full = now >= next_full;
            if full {
                next_full = now.plus(self.interval);
            }
            // Between full rounds, only the apps with a dyno still starting are read again.
            for app in &self.apps {
                if full || self.has_starting_dyno(app) {
                    self.poll_or_back_off(app).await;
                }
            }
            let now = self.clock.now();
            let mut pause = next_full.since(now);
            if self.apps.iter().any(|app| self.has_starting_dyno(app)) {
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

    /// Polls `app` unless it is in error and its retry is not due. An access error (404,
    /// 403, 401) marks the app in error with a growing backoff; a success clears it. Either
    /// way the other apps are polled as usual.
    async fn poll_or_back_off(&self, app: &str) {
        if self.with_status(app, |s| s.waiting(self.clock.now())) {
            return;
        }
        match self.poll_app(app).await {
            Ok(()) => {
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
            }
        }
    }

    /// Marks `app` in error (logged once per episode, then at debug level).
    pub fn mark_error(&self, app: &str, e: &HerokuError) {
        let now = self.clock.now();
        let (fresh, retry_at) = self.with_status(app, |s| {
            let fresh = s.fail(e, self.interval, now);
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
        let on = match self.client.feature_info(app, LOG_RUNTIME_METRICS).await {
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

    /// One poll of `app`: formation, dynos, recent releases.
    pub async fn poll_app(&self, app: &str) -> Result<(), HerokuError> {
        let formation = self.client.formation_list(app).await?;
        let dynos = self.client.dynos_list(app).await?;
        let releases = self.client.releases_recent(app, 5).await?;
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
