//! `dynopilot run`: loads the configuration (file and environment), resolves the apps (listed or
//! discovered), and runs the daemon until SIGTERM or Ctrl-C, then shuts down in order.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use dynopilot_core::Clock;
use dynopilot_heroku::{ApiKey, ClientConfig, HerokuClient, RequestBudget};
use dynopilot_server::clean::schedule::ScheduledClean;
use dynopilot_server::clients::AppClients;
use dynopilot_server::config::{self, Config};
use dynopilot_server::daemon::{self, AppSettings, DaemonOptions, DaemonSettings, LogSource};
use dynopilot_server::discovery::DiscoverySettings;
use dynopilot_server::ingest::Ingest;
use dynopilot_server::ingest::drain::DrainSettings;
use dynopilot_server::web::auth::WebSettings;

pub fn run(path: Option<&Path>, stdin_app: Option<String>) -> anyhow::Result<()> {
    crate::logging::init();
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let config = Config::load_file(path, &env).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    if !config.run_errors.is_empty() {
        let errors = config::ConfigErrors {
            errors: config.run_errors.clone(),
        };
        bail!("{errors}");
    }
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(serve(config, stdin_app))
}

async fn serve(config: Config, stdin_app: Option<String>) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(dynopilot_clock::SystemClock);
    let api_key = crate::config_cmd::api_key(&config)?;
    // The store first: a damaged or unreachable store stops dynopilot before it calls Heroku.
    let store = dynopilot_store::open(config.store.url.expose())
        .await
        .context("opening the store")?;
    let mut heroku = ClientConfig::new(api_key);
    heroku.base_url = config.heroku.base_url.clone();
    let client = HerokuClient::new(
        heroku.clone(),
        Arc::clone(&clock),
        Arc::new(RequestBudget::new(Arc::clone(&clock))),
    )?;
    let app_keys = app_keys(&config)?;
    let apps = resolve_apps(&config, &client, &app_keys, &clock).await?;
    if apps.iter().any(|a| a.log_source == LogSource::Drain) && config.drain.secret.is_none() {
        bail!(
            "apps use drains but no drain secret is set (drain.secret or DYNOPILOT_DRAIN_SECRET)"
        );
    }
    let settings = DaemonSettings {
        listen: config.server.listen,
        drain: DrainSettings {
            secret: config
                .drain
                .secret
                .as_ref()
                .map(|s| s.expose().to_owned())
                .unwrap_or_default(),
            max_body_bytes: config.drain.max_body_bytes,
            max_in_flight: 32,
        },
        heroku,
        apps,
        poll_interval: config.poll.formation,
        tick: config.poll.tick,
        reconcile_deadline: config.server.reconcile_deadline,
        options: DaemonOptions {
            releases_interval: Some(config.poll.releases),
            runtime_metrics_interval: config.poll.runtime_metrics,
            api_failing_after: config.poll.failing_after,
            app_keys,
            discovery: discovery(&config),
        },
    };
    let mut web = WebSettings::for_listen(settings.listen, config.dashboard.credentials());
    web.tokens = config.api.tokens.clone();
    web.metrics_access = config.api.metrics_access;
    web.https = config.server.https;
    web.restart_request_tokens = settings
        .apps
        .iter()
        .filter_map(|a| {
            let token = config.app(&a.name)?.restart_request_token?;
            Some((a.name.clone(), token.expose().to_owned()))
        })
        .collect();
    web.allowed_hosts = config.server.allowed_hosts.clone();
    web.http = config.server.http.clone();
    let names: Vec<String> = settings.apps.iter().map(|a| a.name.clone()).collect();
    let env: BTreeMap<String, String> = std::env::vars().collect();
    crate::drain_hint::announce_on_first_start(&settings.apps, store.as_ref(), &env, clock.now())
        .await;
    let probe_clock = Arc::clone(&clock);
    let alerting = alerting(&config)?;
    let handle = daemon::start_with_alerts(settings, web, alerting, store, clock).await?;
    tracing::info!(apps = %names.join(", "), "dynopilot listening on {}", handle.base_url());
    // Heartbeats, Pingdom and status checks of the listed apps, off the runner's path.
    let probes = names
        .iter()
        .filter_map(|n| Some((n.clone(), config.app(n)?.probes)))
        .collect();
    handle.spawn_probes(probes, &probe_clock);
    for app in config.apps.iter().filter(|a| names.contains(&a.name)) {
        handle
            .spawn_queue_pollers(&app.name, &app.queues)
            .with_context(|| format!("app {}: queue sources", app.name))?;
        handle.spawn_agents(&app.name, &app.agents);
    }
    let cleans: Vec<ScheduledClean> = config
        .apps
        .iter()
        .filter(|a| names.contains(&a.name))
        .flat_map(|a| {
            a.clean.iter().map(|c| ScheduledClean {
                app: a.name.clone(),
                job: c.job.clone(),
                every: c.every,
            })
        })
        .collect();
    if !cleans.is_empty() {
        let tls = crate::exec_cmd::rendezvous_tls(config.heroku.rendezvous_ca_file.as_deref())
            .context("heroku.rendezvous_ca_file")?;
        handle.spawn_cleans(tls, Arc::clone(&probe_clock), cleans);
    }
    if let Some(app) = stdin_app {
        if !names.contains(&app) {
            bail!(
                "--stdin {app}: not one of the watched apps ({})",
                names.join(", ")
            );
        }
        // stdin is this app's log source (perhaps its only one): its policies are not blind.
        handle.ingest.start_listening(&app);
        spawn_stdin_reader(handle.ingest.clone(), app);
    }
    wait_for_signal().await;
    tracing::info!("shutting down: drains first, then the current tick and calls, then the store");
    handle.shutdown().await;
    Ok(())
}

/// Each app's own API key (`api_key_env`); an unset variable stops the start, naming the app
/// and the variable.
fn app_keys(config: &Config) -> anyhow::Result<BTreeMap<String, ApiKey>> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let keys = config
        .app_api_keys(&env)
        .map_err(|missing| anyhow::anyhow!("{}", missing.join("\n")))?;
    Ok(keys
        .into_iter()
        .map(|(app, key)| (app, ApiKey::new(key.expose().to_owned())))
        .collect())
}

/// With discovery on, the app list is read again every `discovery.refresh`; apps found later
/// get the template's policy for the process types they run.
fn discovery(config: &Config) -> Option<DiscoverySettings> {
    if !config.discovery.enabled {
        return None;
    }
    let template = config.clone();
    Some(DiscoverySettings {
        refresh: config.discovery.refresh,
        log_source: log_source(config.discovery.log_source),
        policy: Arc::new(move |app: &str, types: &[String]| {
            template
                .discovered_app(app)
                .policy_for(types.iter().map(String::as_str))
        }),
        listed: config.apps.iter().map(|a| a.name.clone()).collect(),
    })
}

/// Listed apps, or every app of the account when discovery is on, each with its policy
/// completed for the process types its formation has (read with the app's own key).
async fn resolve_apps(
    config: &Config,
    client: &HerokuClient,
    keys: &BTreeMap<String, ApiKey>,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<Vec<AppSettings>> {
    let clients = AppClients::with_keys(client.clone(), keys, clock)?;
    let mut resolved: Vec<config::AppConfig> = config.apps.clone();
    if config.discovery.enabled {
        let listed = client.apps_list().await.context("discovering apps")?;
        for app in listed {
            if !resolved.iter().any(|a| a.name == app.name) {
                resolved.push(config.discovered_app(&app.name));
            }
        }
    }
    if resolved.is_empty() {
        bail!(
            "no apps to watch: list them under [[apps]] or in DYNOPILOT_APPS, or enable discovery"
        );
    }
    let mut apps = Vec::with_capacity(resolved.len());
    for app in resolved {
        let formation = clients
            .for_app(&app.name)
            .formation_list(&app.name)
            .await
            .with_context(|| format!("reading the formation of {}", app.name))?;
        let policy = app.policy_for(formation.iter().map(|f| f.process_type.as_str()));
        apps.push(AppSettings {
            name: app.name.clone(),
            policy,
            log_source: log_source(app.log_source),
        });
    }
    Ok(apps)
}

/// `heroku logs --tail -a APP | dynopilot run --stdin APP`: every line read is applied to APP,
/// exactly like a drain frame; unparseable lines are counted.
fn spawn_stdin_reader(ingest: Ingest, app: String) {
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        let stdin = std::io::stdin();
        let mut lines = stdin.lock();
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match lines.read_until(b'\n', &mut buffer) {
                Ok(0) => {
                    tracing::info!(app, "stdin closed; drains and pollers keep running");
                    return;
                }
                Ok(_) => {
                    if !ingest.apply_log_line(&app, &buffer) {
                        ingest.metrics.count_dropped("unparseable_stdin_line", 1);
                    }
                }
                Err(e) => {
                    tracing::error!(app, error = %e, "reading stdin failed; stdin ingest stopped");
                    return;
                }
            }
        }
    });
}

fn log_source(source: config::LogSource) -> LogSource {
    match source {
        config::LogSource::Drain => LogSource::Drain,
        config::LogSource::LogSession => LogSource::LogSession,
        config::LogSource::None => LogSource::None,
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Alert delivery through the configured channels; none configured, nothing is delivered (the
/// decisions still carry their alerts in the journal and on the dashboard).
fn alerting(config: &Config) -> anyhow::Result<Option<daemon::Alerting>> {
    if config.alerts.channels.is_empty() {
        return Ok(None);
    }
    let channels = dynopilot_notify::Channels::from_config(&config.alerts.channels)
        .context("setting up alert channels")?;
    Ok(Some(daemon::Alerting {
        deliver: Arc::new(channels),
        settings: config.alerts.settings.clone(),
    }))
}
