//! `dynopilot alert test [--channel NAME] [-c FILE]`: sends a test alert through every configured
//! channel (or one) and prints, per channel, `sent (detail)` or `failed: reason`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;
use dynopilot_core::Clock;
use dynopilot_core::policy::Severity;
use dynopilot_notify::{AlertEvent, ChannelConfig, Channels, EventKind};
use dynopilot_server::config::Config;

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Send a test alert through each configured channel (or one) and say how each went;
    /// exits non-zero when any failed. A PagerDuty test incident is resolved right after.
    Test {
        /// Only this channel (a name under `[alerts.channels]`).
        #[arg(long)]
        channel: Option<String>,
        /// Configuration file; default `$DYNOPILOT_CONFIG`, else the environment alone.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

pub fn run(cmd: AlertCommand) -> anyhow::Result<()> {
    let AlertCommand::Test { channel, config } = cmd;
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let config = match Config::load_file(config.as_deref(), &env) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!(
                "{}",
                dynopilot_server::config::redact_urls_in(&errors.to_string())
            );
            anyhow::bail!("the configuration has {} problem(s)", errors.errors.len());
        }
    };
    let selected = select(&config.alerts.channels, channel.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let failed = runtime.block_on(test_all(&selected, &mut std::io::stdout().lock()))?;
    if failed > 0 {
        anyhow::bail!("{failed} of {} channel(s) failed", selected.len());
    }
    Ok(())
}

fn select(
    channels: &BTreeMap<String, ChannelConfig>,
    only: Option<&str>,
) -> anyhow::Result<BTreeMap<String, ChannelConfig>> {
    match only {
        None if channels.is_empty() => {
            anyhow::bail!("no alert channel is configured (add [alerts.channels.NAME])")
        }
        None => Ok(channels.clone()),
        Some(name) => match channels.get(name) {
            Some(c) => Ok(BTreeMap::from([(name.to_owned(), c.clone())])),
            None => {
                let known: Vec<&str> = channels.keys().map(String::as_str).collect();
                anyhow::bail!(
                    "no channel named `{name}` (configured: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                )
            }
        },
    }
}

/// Sends to each channel in name order; returns how many failed.
async fn test_all(
    configs: &BTreeMap<String, ChannelConfig>,
    out: &mut dyn Write,
) -> anyhow::Result<usize> {
    let clock = Arc::new(dynopilot_clock::SystemClock);
    let channels = Channels::with_clock(configs, clock.clone())?;
    let width = configs.keys().map(String::len).max().unwrap_or(0);
    let mut failed = 0;
    for (name, config) in configs {
        let event = test_event(clock.now());
        let line = match channels.send(name, &event).await {
            Ok(receipt) => {
                let mut detail = receipt.detail;
                if matches!(config, ChannelConfig::Pagerduty(_)) {
                    detail.push_str(&resolve(&channels, name, event).await);
                }
                format!("sent ({detail})")
            }
            Err(e) => {
                failed += 1;
                let kind = if e.transient { "" } else { " (permanent)" };
                format!("failed{kind}: {}", e.reason)
            }
        };
        writeln!(out, "{name:<width$}  {} {line}", config.type_name())?;
    }
    Ok(failed)
}

/// Closes the test incident the trigger opened.
async fn resolve(channels: &Channels, name: &str, mut event: AlertEvent) -> String {
    event.kind = EventKind::Resolve;
    event.id.push_str("-resolve");
    match channels.send(name, &event).await {
        Ok(_) => "; test incident resolved".to_owned(),
        Err(e) => format!("; resolving the test incident failed: {}", e.reason),
    }
}

fn test_event(now: dynopilot_core::Timestamp) -> AlertEvent {
    let stamp = now.as_millis();
    AlertEvent {
        id: format!("test-{stamp}"),
        kind: EventKind::Trigger,
        topic: "test".to_owned(),
        severity: Severity::Info,
        app: "dynopilot".to_owned(),
        process_type: None,
        dyno: None,
        decision_id: None,
        title: "Test alert".to_owned(),
        message: "A test sent by `dynopilot alert test`; nothing happened to any app.".to_owned(),
        reasons: vec!["requested from the command line".to_owned()],
        at: now,
        dedup_key: format!("dynopilot-test-{stamp}"),
        digest: None,
        link: None,
    }
}
