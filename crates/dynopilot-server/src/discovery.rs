//! App discovery while running: every `discovery.refresh` the account's app list is read
//! again; an app new to it is picked up (its policy from the template and its formation, the
//! pollers and runner follow it, its log-session tail starts), an app gone from it is retired
//! (its tail stops, runner and pollers leave it, its state stays in the store). Each change is
//! one log line, one journaled notice and one alert (`app-discovered`, `app-retired`). Apps
//! listed in the configuration are never retired here: they were asked for by name.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use dynopilot_core::policy::{self, Severity};
use dynopilot_core::{Clock, Timestamp};
use dynopilot_heroku::HerokuClient;
use tokio_util::sync::CancellationToken;

use crate::daemon::LogSource;
use crate::ingest::Ingest;
use crate::ingest::drain::AppDirectory;
use crate::notice::Notices;
use crate::tails::Tails;
use crate::watched::WatchedApps;

/// The policy of a discovered app, given its name and the process types it runs.
pub type TemplatePolicy = Arc<dyn Fn(&str, &[String]) -> policy::Config + Send + Sync>;

/// What the daemon needs to refresh discovery (`None` in `DaemonOptions`: discovery is off).
#[derive(Clone)]
pub struct DiscoverySettings {
    pub refresh: Duration,
    pub log_source: LogSource,
    pub policy: TemplatePolicy,
    /// Apps listed by name (`[[apps]]`, `DYNOPILOT_APPS`): never retired by discovery.
    pub listed: BTreeSet<String>,
}

/// What one refresh changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub discovered: Vec<String>,
    pub retired: Vec<String>,
}

pub struct Discovery {
    pub settings: DiscoverySettings,
    /// The daemon's own key: the apps it can see are the ones discovered.
    pub client: HerokuClient,
    pub clock: Arc<dyn Clock>,
    pub ingest: Ingest,
    pub watched: Arc<WatchedApps>,
    pub directory: Arc<RwLock<AppDirectory>>,
    pub tails: Tails,
    pub notices: Notices,
}

impl Discovery {
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = self.clock.sleep(self.settings.refresh) => {}
            }
            self.refresh().await;
        }
    }

    /// Reads the app list once and applies the difference. A failed read changes nothing:
    /// an outage of the API is not every app being deleted.
    pub async fn refresh(&self) -> Changes {
        let listed = match self.client.apps_list().await {
            Ok(apps) => apps,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?self.settings.refresh, "cannot list apps; discovery changes nothing until the next refresh");
                return Changes::default();
            }
        };
        let seen: BTreeSet<String> = listed.into_iter().map(|a| a.name).collect();
        let watched: BTreeSet<String> = self.watched.names().into_iter().collect();
        let mut changes = Changes::default();
        for app in seen.difference(&watched) {
            if self.pick_up(app).await {
                changes.discovered.push(app.clone());
            }
        }
        for app in watched.difference(&seen) {
            if !self.settings.listed.contains(app) {
                self.retire(app).await;
                changes.retired.push(app.clone());
            }
        }
        changes
    }

    /// Starts watching `app`; false (tried again at the next refresh) when its formation
    /// cannot be read, since its policy depends on the process types it runs.
    async fn pick_up(&self, app: &str) -> bool {
        let formation = match self.client.formation_list(app).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(app, error = %e, "new app seen but its formation cannot be read; trying again at the next refresh");
                return false;
            }
        };
        let types: Vec<String> = formation.iter().map(|f| f.process_type.clone()).collect();
        let policy = (self.settings.policy)(app, &types);
        let now = self.clock.now();
        self.start_observing(app, now);
        self.watched.insert(app, policy);
        if let Ok(mut dir) = self.directory.write() {
            dir.apps.insert(app.to_owned());
        }
        if self.settings.log_source == LogSource::LogSession {
            self.tails.start(app);
        }
        let message = format!(
            "{app} discovered: watching it now (process types {})",
            if types.is_empty() {
                "none yet".to_owned()
            } else {
                types.join(", ")
            }
        );
        tracing::info!(app, "{message}");
        self.notices
            .raise(
                app,
                dynopilot_notify::topic::APP_DISCOVERED,
                Severity::Info,
                message,
                now,
            )
            .await;
        true
    }

    /// Silence is counted from now; releases before now are history, not deploys.
    fn start_observing(&self, app: &str, now: Timestamp) {
        let Ok(mut fleet) = self.ingest.fleet.lock() else {
            return;
        };
        let state = fleet.app_mut(app);
        state.observed.watching_since = Some(now);
        match self.settings.log_source {
            LogSource::Drain | LogSource::LogSession => state.start_listening(now),
            LogSource::None => state.without_log_source(),
        }
    }

    async fn retire(&self, app: &str) {
        self.watched.remove(app);
        self.tails.stop(app);
        if let Ok(mut dir) = self.directory.write() {
            dir.apps.remove(app);
        }
        let message = format!(
            "{app} retired: no longer in the account's app list (deleted, or the key lost access); not watched any more, its history stays in the store"
        );
        tracing::warn!(app, "{message}");
        let now = self.clock.now();
        self.notices
            .raise(
                app,
                dynopilot_notify::topic::APP_RETIRED,
                Severity::Warning,
                message,
                now,
            )
            .await;
    }
}
