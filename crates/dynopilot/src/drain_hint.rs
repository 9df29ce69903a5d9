//! The `heroku drains:add` command to run for each app that uses a drain, logged when the store
//! holds nothing about any of them yet (a first start). The secret is never printed: the
//! command names the environment variable that holds it.

use std::collections::BTreeMap;
use std::time::Duration;

use dynopilot_core::Timestamp;
use dynopilot_server::daemon::{AppSettings, LogSource};
use dynopilot_store::{Store, TimeRange};

/// The public base URL of this dynopilot: Heroku's dyno metadata (`heroku labs:enable
/// runtime-dyno-metadata`) or the app name, else a placeholder to fill in.
pub fn public_url(env: &BTreeMap<String, String>) -> String {
    if let Some(domain) = env.get("HEROKU_APP_DEFAULT_DOMAIN_NAME") {
        return format!("https://{domain}");
    }
    if let Some(name) = env.get("HEROKU_APP_NAME") {
        return format!("https://{name}.herokuapp.com");
    }
    env.get("DYNOPILOT_PUBLIC_URL").map_or_else(
        || "https://<this dynopilot's public host>".to_owned(),
        |u| u.trim_end_matches('/').to_owned(),
    )
}

/// One `heroku drains:add` line per drain app.
pub fn commands(apps: &[AppSettings], base: &str) -> Vec<String> {
    apps.iter()
        .filter(|a| a.log_source == LogSource::Drain)
        .map(|a| {
            format!(
                "heroku drains:add \"{base}/drain/$DYNOPILOT_DRAIN_SECRET\" -a {}",
                a.name
            )
        })
        .collect()
}

/// Logs the commands when no drain app has anything in the store yet.
pub async fn announce_on_first_start(
    apps: &[AppSettings],
    store: &dyn Store,
    env: &BTreeMap<String, String>,
    now: Timestamp,
) {
    let lines = commands(apps, &public_url(env));
    if lines.is_empty() {
        return;
    }
    let ever = TimeRange::last(Duration::from_secs(400 * 86_400), now);
    for app in apps.iter().filter(|a| a.log_source == LogSource::Drain) {
        let seen = store
            .events(&app.name, ever, 1)
            .await
            .map(|e| !e.is_empty());
        let decided = store
            .decisions(&app.name, ever, 1)
            .await
            .map(|d| !d.is_empty());
        if seen.unwrap_or(true) || decided.unwrap_or(true) {
            return;
        }
    }
    tracing::info!(
        "first start: add the drain to each app (the secret is $DYNOPILOT_DRAIN_SECRET):\n  {}",
        lines.join("\n  ")
    );
}
