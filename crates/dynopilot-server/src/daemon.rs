//! Starts and stops the whole daemon: store, Heroku client, drain endpoint, log-session tails,
//! pollers, runner and executor, with shutdown in order (stop accepting drains, finish the tick
//! and in-flight calls, close the store).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use dynopilot_core::Clock;
use dynopilot_core::policy;
use dynopilot_heroku::{ApiKey, ClientConfig, HerokuClient, HerokuError, RequestBudget};
use dynopilot_store::{BatchWriter, Store, WriterConfig, WriterStats};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clients::AppClients;
use crate::executor::Executor;
use crate::http_server::{self, HttpStats};
use crate::ingest::Ingest;
use crate::ingest::drain::{self, AppDirectory, DrainSettings};
use crate::outcomes::Outcomes;
use crate::poll::Poller;
use crate::runner::Runner;
use crate::web::link::RunnerLink;
use crate::web::recorder::Recorder;
use crate::web::{WebSettings, WebState};

/// How an app's logs reach dynopilot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSource {
    /// Heroku posts to our drain endpoint (set up with `heroku drains:add`).
    Drain,
    /// We tail a log session: no setup on Heroku's side, one API call per reconnect.
    LogSession,
    None,
}

#[derive(Debug, Clone)]
pub struct AppSettings {
    pub name: String,
    pub policy: policy::Config,
    pub log_source: LogSource,
}

/// Everything `start` needs, already validated (the config module builds it).
pub struct DaemonSettings {
    pub listen: SocketAddr,
    pub drain: DrainSettings,
    pub heroku: ClientConfig,
    pub apps: Vec<AppSettings>,
    pub poll_interval: Duration,
    pub tick: Duration,
    /// How old an unfinished decision may be and still be carried out after a restart
    /// (`reconcile::DEFAULT_DEADLINE`).
    pub reconcile_deadline: Duration,
    /// Everything else, with defaults (today's behaviour).
    pub options: DaemonOptions,
}

/// Daemon settings that have a sensible default.
#[derive(Clone)]
pub struct DaemonOptions {
    /// How often releases are read; `None`: at every poll.
    pub releases_interval: Option<Duration>,
    /// How often `log-runtime-metrics` is checked again.
    pub runtime_metrics_interval: Duration,
    /// Failed polls in a row before an app's `api-failing` alert; 0: never.
    pub api_failing_after: u32,
    /// Apps with their own Platform API key (`api_key_env`); the others use `heroku`'s.
    pub app_keys: BTreeMap<String, ApiKey>,
    /// Refreshes app discovery while running; `None`: the app set is fixed at start.
    pub discovery: Option<crate::discovery::DiscoverySettings>,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        let poll = crate::config::PollConfig::default();
        DaemonOptions {
            releases_interval: None,
            runtime_metrics_interval: poll.runtime_metrics,
            api_failing_after: poll.failing_after,
            app_keys: BTreeMap::new(),
            discovery: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "refusing to listen on {addr}: it is reachable from other machines and no credentials are \
         configured; set dashboard.password_hash (or DYNOPILOT_DASHBOARD_PASSWORD) and/or \
         [[api.tokens]], or listen on 127.0.0.1"
    )]
    NoCredentials { addr: SocketAddr },
    #[error("Heroku client: {0}")]
    Client(HerokuError),
    #[error(
        "app {app} is not visible to this API key ({source}); check the app name and the key's access"
    )]
    AppNotVisible { app: String, source: HerokuError },
}

pub struct DaemonHandle {
    pub addr: SocketAddr,
    pub ingest: Ingest,
    pub store: Arc<dyn Store>,
    pub directory: Arc<RwLock<AppDirectory>>,
    /// Agent tokens and queue mappings (`crate::agents`), filled by `spawn_agents`.
    pub agents: crate::agents::AgentState,
    /// The store writer's counters and backlog (samples and rollups held while the store fails).
    pub writer: Arc<WriterStats>,
    /// The HTTP server's connection counters (shed, refused, timed out).
    pub http_stats: Arc<HttpStats>,
    /// Alert delivery counters (empty when no alerting is configured).
    pub alert_stats: Arc<crate::alerts::AlertStats>,
    http_cancel: CancellationToken,
    cancel: CancellationToken,
    tasks: TaskTracker,
    http: TaskTracker,
    alerts: crate::alerts::AlertSender,
    /// Each app's Platform API client (its own key or the daemon's).
    clients: AppClients,
    alerts_cancel: CancellationToken,
    alerts_task: TaskTracker,
}

impl DaemonHandle {
    /// Starts one poller per queue source of `app` (`[[apps.queues]]`), stopped with the
    /// daemon. Fails, starting none, when a source's URL is unusable.
    pub fn spawn_queue_pollers(
        &self,
        app: &str,
        sources: &[crate::config::QueueSourceConfig],
    ) -> Result<(), dynopilot_queues::SourceError> {
        let pollers = sources
            .iter()
            .map(|s| crate::queue_poll::QueuePoller::new(app, s.clone(), self.ingest.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        for poller in pollers {
            poller.mark_reader();
            self.tasks.spawn(poller.run(self.cancel.clone()));
        }
        Ok(())
    }

    /// Starts the periodic cleans (`[[apps.clean]]`, `crate::clean::schedule`) as tasks of
    /// the daemon, stopped with it (a clean in flight has its dyno stopped).
    pub fn spawn_cleans(
        &self,
        tls: dynopilot_heroku::RendezvousTls,
        clock: Arc<dyn Clock>,
        entries: Vec<crate::clean::schedule::ScheduledClean>,
    ) {
        for entry in entries {
            let context = crate::clean::schedule::CleanContext {
                client: self.clients.for_app(&entry.app).clone(),
                store: Arc::clone(&self.store),
                clock: Arc::clone(&clock),
                tls: tls.clone(),
            };
            crate::clean::schedule::spawn(&context, vec![entry], &self.tasks, &self.cancel);
        }
    }

    /// Accepts reports from `app`'s agents (Judoscale, HireFire) and starts its HireFire
    /// pull, stopped with the daemon.
    pub fn spawn_agents(&self, app: &str, agents: &crate::config::AgentsConfig) {
        crate::agents::start(
            &self.agents,
            app,
            agents,
            &self.ingest.clock,
            &self.tasks,
            &self.cancel,
        );
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts the apps' heartbeats, Pingdom polls and status checks (`crate::probes`) as
    /// tasks of the daemon, stopped with it.
    pub fn spawn_probes(
        &self,
        apps: Vec<(String, crate::config::AppProbes)>,
        clock: &Arc<dyn Clock>,
    ) -> Arc<crate::probes::ProbeStats> {
        crate::probes::spawn(apps, &self.ingest, clock, &self.tasks, &self.cancel)
    }

    /// Ordered shutdown: stop accepting drains, then let the runner finish its tick and the
    /// executor its call, then close the store.
    pub async fn shutdown(self) {
        self.http_cancel.cancel();
        self.http.close();
        self.http.wait().await;
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        // The dispatcher stops last, so what the runner decided on its way out, and the
        // `dynopilot-stopped` message, are still journaled and (briefly) delivered.
        if self.alerts.is_connected() {
            let now = self.ingest.clock.now();
            self.alerts
                .event(dynopilot_notify::lifecycle_event(false, now, "shut down"));
        }
        self.alerts_cancel.cancel();
        self.alerts_task.close();
        self.alerts_task.wait().await;
        if let Err(e) = self.store.close().await {
            tracing::error!(error = %e, "closing the store");
        }
    }
}

pub async fn start(
    settings: DaemonSettings,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
) -> Result<DaemonHandle, DaemonError> {
    let web = WebSettings::for_listen(settings.listen, None);
    start_with_web(settings, web, store, clock).await
}

/// `start`, with the dashboard's sign-in settings.
pub async fn start_with_web(
    settings: DaemonSettings,
    web: WebSettings,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
) -> Result<DaemonHandle, DaemonError> {
    start_with_alerts(settings, web, None, store, clock).await
}

/// Alert delivery for the daemon: the channels and how events reach them.
pub struct Alerting {
    pub deliver: Arc<dyn dynopilot_notify::Deliver>,
    pub settings: crate::alerts::AlertSettings,
}

/// `start_with_web`, delivering alerts through `alerting` when given.
pub async fn start_with_alerts(
    settings: DaemonSettings,
    web: WebSettings,
    alerting: Option<Alerting>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
) -> Result<DaemonHandle, DaemonError> {
    // Off loopback, the API and the controls must be locked (see `web::auth`).
    if !settings.listen.ip().is_loopback() && !web.has_credentials() {
        return Err(DaemonError::NoCredentials {
            addr: settings.listen,
        });
    }
    let budget = Arc::new(RequestBudget::new(Arc::clone(&clock)));
    let client = HerokuClient::new(settings.heroku, Arc::clone(&clock), Arc::clone(&budget))
        .map_err(DaemonError::Client)?;
    let clients = AppClients::with_keys(client.clone(), &settings.options.app_keys, &clock)
        .map_err(DaemonError::Client)?;
    let ingest = Ingest::new(Arc::clone(&clock));
    mark_log_sources(&ingest, &settings.apps, clock.now());
    check_apps(
        &clients,
        &ingest,
        &settings.apps,
        settings.poll_interval,
        clock.now(),
    )
    .await;
    let directory = Arc::new(RwLock::new(AppDirectory::default()));
    if let Ok(mut dir) = directory.write() {
        dir.apps
            .extend(settings.apps.iter().map(|a| a.name.clone()));
    }
    let listener = http_server::bind(settings.listen).map_err(|source| DaemonError::Listen {
        addr: settings.listen,
        source,
    })?;
    let addr = listener
        .local_addr()
        .map_err(|source| DaemonError::Listen {
            addr: settings.listen,
            source,
        })?;
    let (http, http_cancel) = (TaskTracker::new(), CancellationToken::new());
    let (tasks, cancel) = (TaskTracker::new(), CancellationToken::new());
    // --- dashboard, API, /metrics (web module) ---
    let (writer, _writer_task) = BatchWriter::spawn(
        Arc::clone(&store),
        Arc::clone(&clock),
        WriterConfig::default(),
    );
    let recorder = Recorder::new(
        ingest.clone(),
        Arc::clone(&clock),
        writer.clone(),
        Duration::from_secs(5),
    );
    let (control_tx, control_rx) = mpsc::channel(32);
    let (alerts_task, alerts_cancel) = (TaskTracker::new(), CancellationToken::new());
    let alert_stats = Arc::new(crate::alerts::AlertStats::default());
    let alerts = start_alerts(
        alerting,
        &store,
        &clock,
        &alert_stats,
        &alerts_task,
        &alerts_cancel,
    );
    let link = RunnerLink {
        alerts: alerts.clone(),
        controls: Some(control_rx),
        ..RunnerLink::default()
    };
    let apps = settings
        .apps
        .iter()
        .map(|a| (a.name.clone(), a.policy.clone()))
        .collect();
    let http_limits = web.http.clone();
    let mut web_state = WebState::new(
        ingest.clone(),
        Arc::clone(&store),
        Arc::clone(&clock),
        apps,
        control_tx,
        &link,
        web,
    );
    let watched = Arc::new(crate::watched::WatchedApps::new(
        settings
            .apps
            .iter()
            .map(|a| (a.name.clone(), a.policy.clone()))
            .collect(),
    ));
    web_state.apps = Arc::clone(&watched);
    web_state.outcomes = Arc::new(Outcomes::sharing(Arc::clone(client.attempts())));
    web_state.alerts = Arc::clone(&alert_stats);
    web_state.budget = Some(Arc::clone(&budget));
    let writer_stats = Arc::clone(writer.stats());
    web_state.writer = Some(Arc::clone(&writer_stats));
    let http_stats = Arc::new(HttpStats::default());
    web_state.http = Some(Arc::clone(&http_stats));
    web_state.recorder = Arc::clone(&recorder.stats);
    let outcomes = Arc::clone(&web_state.outcomes);
    tasks.spawn(recorder.run(cancel.clone()));
    let health = Arc::clone(&web_state.store_health);
    health.alert_through(
        writer.clone(),
        settings.apps.iter().map(|a| a.name.clone()).collect(),
    );
    let watch = crate::store_health::Watch {
        health,
        writer: Arc::clone(&writer_stats),
        store: Arc::clone(&store),
        app: settings.apps.first().map(|a| a.name.clone()),
        clock: Arc::clone(&clock),
        every: Duration::from_secs(1),
    };
    tasks.spawn(crate::store_health::watch(watch, cancel.clone()));
    drop(writer);
    let agents = crate::agents::AgentState {
        ingest: ingest.clone(),
        directory: Arc::default(),
    };
    let router = drain::router(ingest.clone(), settings.drain, Arc::clone(&directory))
        .merge(crate::agents::router(agents.clone()))
        .merge(crate::web::router(web_state));
    // --- end web module ---
    // Timeouts, header limits and connection caps: see http_server.
    http_server::raise_open_file_limit();
    http.spawn(http_server::serve(
        listener,
        router,
        http_limits,
        Arc::clone(&http_stats),
        http_cancel.clone(),
    ));
    let (sender, receiver) = mpsc::channel(256);
    let mut executor = Executor::new(
        client.clone(),
        Arc::clone(&store),
        ingest.clone(),
        Arc::clone(&clock),
    );
    executor.clients = clients.clone();
    executor.stats = Arc::clone(&outcomes);
    executor.not_carried_out = Arc::clone(&link.not_carried_out);
    executor.hooks_are_alerts = alerts.is_connected();
    let names: Vec<String> = settings.apps.iter().map(|a| a.name.clone()).collect();
    crate::reconcile::reconcile(&mut executor, &names, settings.reconcile_deadline).await;
    tasks.spawn(executor.run(receiver, cancel.clone()));
    let notices = crate::notice::Notices {
        store: Arc::clone(&store),
        alerts: alerts.clone(),
        executor: sender.clone(),
    };
    let runner = Runner {
        ingest: ingest.clone(),
        store: Arc::clone(&store),
        clock: Arc::clone(&clock),
        policies: settings
            .apps
            .iter()
            .map(|a| (a.name.clone(), a.policy.clone()))
            .collect::<BTreeMap<_, _>>(),
        states: BTreeMap::new(),
        executor: sender,
        tick: settings.tick,
        blocked_seen: BTreeMap::new(),
        web: link,
        journal_down: Default::default(),
        blind: Default::default(),
        following: crate::runner::Following::apps(Arc::clone(&watched)),
    };
    tasks.spawn(runner.run(cancel.clone()));
    let options = settings.options;
    let intervals = crate::config::PollConfig {
        tick: settings.tick,
        formation: settings.poll_interval,
        releases: options.releases_interval.unwrap_or(settings.poll_interval),
        runtime_metrics: options.runtime_metrics_interval,
        failing_after: options.api_failing_after,
    };
    let mut poller = Poller::new(
        clients.clone(),
        ingest.clone(),
        Arc::clone(&clock),
        Arc::clone(&watched),
        intervals,
    );
    poller.stats = outcomes;
    poller.alerts = alerts.clone();
    poller.notices = Some(notices.clone());
    tasks.spawn(poller.run(cancel.clone()));
    let tails = crate::tails::Tails::new(
        clients.clone(),
        ingest.clone(),
        Arc::clone(&clock),
        tasks.clone(),
        cancel.clone(),
    );
    for app in settings
        .apps
        .iter()
        .filter(|a| a.log_source == LogSource::LogSession)
    {
        tails.start(&app.name);
    }
    if let Some(discovery) = options.discovery {
        let discovery = crate::discovery::Discovery {
            settings: discovery,
            client: clients.default_client().clone(),
            clock: Arc::clone(&clock),
            ingest: ingest.clone(),
            watched: Arc::clone(&watched),
            directory: Arc::clone(&directory),
            tails,
            notices,
        };
        tasks.spawn(discovery.run(cancel.clone()));
    }
    Ok(DaemonHandle {
        addr,
        ingest,
        store,
        directory,
        agents,
        writer: writer_stats,
        http_stats,
        alert_stats,
        http_cancel,
        cancel,
        tasks,
        http,
        alerts,
        clients,
        alerts_cancel,
        alerts_task,
    })
}

/// Spawns the alert dispatcher (which first resumes pending deliveries) and announces the
/// start; without alerting, a sender that sends nowhere.
fn start_alerts(
    alerting: Option<Alerting>,
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
    stats: &Arc<crate::alerts::AlertStats>,
    tracker: &TaskTracker,
    cancel: &CancellationToken,
) -> crate::alerts::AlertSender {
    let Some(alerting) = alerting else {
        return crate::alerts::AlertSender::default();
    };
    let dispatcher = crate::alerts::Dispatcher::new(
        Arc::clone(store),
        Arc::clone(clock),
        alerting.deliver,
        alerting.settings,
    )
    .with_stats(Arc::clone(stats));
    let (sender, receiver) = dispatcher.channel();
    tracker.spawn(dispatcher.run(receiver, cancel.clone()));
    let detail = format!("version {}", env!("CARGO_PKG_VERSION"));
    sender.event(dynopilot_notify::lifecycle_event(
        true,
        clock.now(),
        &detail,
    ));
    sender
}

/// Silence is measured from here: the drain endpoint and the log-session tails start now. An
/// app without a log source is marked so, and its log-reading policies report themselves blind.
fn mark_log_sources(ingest: &Ingest, apps: &[AppSettings], now: dynopilot_core::Timestamp) {
    let Ok(mut fleet) = ingest.fleet.lock() else {
        return;
    };
    for app in apps {
        let state = fleet.app_mut(&app.name);
        match app.log_source {
            LogSource::Drain | LogSource::LogSession => state.start_listening(now),
            LogSource::None => state.without_log_source(),
        }
    }
}

/// Looks up every app once: an app the key cannot see is marked in error (the poller retries
/// it with backoff) instead of stopping the daemon. Releases before now are history.
async fn check_apps(
    clients: &AppClients,
    ingest: &Ingest,
    apps: &[AppSettings],
    retry: Duration,
    now: dynopilot_core::Timestamp,
) {
    for app in apps {
        let looked_up = clients.for_app(&app.name).app_info(&app.name).await;
        let Ok(mut fleet) = ingest.fleet.lock() else {
            return;
        };
        let state = fleet.app_mut(&app.name);
        state.observed.watching_since = Some(now);
        if let Err(e) = looked_up {
            tracing::error!(app = %app.name, kind = e.kind(), error = %e, "app not visible to this API key; marked in error and retried with backoff, the other apps keep running");
            state.status.fail(&e, retry, now);
        }
    }
}
