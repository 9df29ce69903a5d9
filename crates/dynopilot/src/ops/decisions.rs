//! `dynopilot decisions`: the decision journal with reasons and outcomes, from the daemon or,
//! when it is down, straight from the store (also `status`'s fallback).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use dynopilot_core::Clock;
use dynopilot_server::web::api::{ActionView, DecisionView, EventView};
use dynopilot_server::web::series::parse_span;
use dynopilot_store::TimeRange;
use serde_json::{Value, json};

use super::client::Daemon;
use super::failure::Failure;
use super::render::{self, text};
use super::runtime::block_on;
use super::status::{RestartCounts, alert_events};
use super::target::{Connect, Target};

#[derive(Debug, clap::Args)]
pub struct DecisionsArgs {
    #[arg(short = 'a', long)]
    pub app: String,
    /// How far back: `30m`, `1h`, `24h`, `7d`.
    #[arg(long, default_value = "1h", value_parser = parse_since)]
    pub since: String,
    /// At most this many decisions (newest first, 1 to 1000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: Connect,
}

fn parse_since(s: &str) -> Result<String, String> {
    parse_span(s)
        .map(|_| s.to_owned())
        .ok_or_else(|| format!("`{s}` is not a span like 30m, 1h, 24h or 7d"))
}

/// Decisions and the attempts to carry them out, newest first.
pub struct Journal {
    decisions: Vec<Value>,
    actions: Vec<Value>,
}

impl Journal {
    pub async fn read(
        daemon: &mut Daemon,
        app: &str,
        since: &str,
        limit: u32,
    ) -> Result<Journal, Failure> {
        let query = format!("range={since}&limit={limit}");
        let decisions = daemon
            .get(&format!("/api/v1/apps/{app}/decisions?{query}"))
            .await?;
        let actions = daemon
            .get(&format!(
                "/api/v1/apps/{app}/actions?range={since}&limit=1000"
            ))
            .await?;
        Ok(Journal {
            decisions: into_vec(decisions),
            actions: into_vec(actions),
        })
    }

    /// Each decision with `outcome`: the latest attempt's status in words, or null.
    pub fn decisions_with_outcomes(&self) -> Vec<Value> {
        let mut latest: HashMap<&str, (u64, &str)> = HashMap::new();
        for a in &self.actions {
            let attempt = a["attempt"].as_u64().unwrap_or(0);
            let entry = latest
                .entry(text(a, "decision_id"))
                .or_insert((attempt, text(a, "status")));
            if attempt >= entry.0 {
                *entry = (attempt, text(a, "status"));
            }
        }
        self.decisions
            .iter()
            .map(|d| {
                let mut d = d.clone();
                let status = latest.get(text(&d, "id")).map(|(_, s)| *s);
                d["outcome"] = status.map_or(Value::Null, Value::from);
                d
            })
            .collect()
    }

    /// Dyno restarts that were carried out, per dyno.
    pub fn restarts_by_dyno(&self) -> RestartCounts {
        let mut counts = BTreeMap::new();
        for d in self.decisions_with_outcomes() {
            let sent = d["executed"].as_bool() == Some(true)
                && !text(&d, "outcome").starts_with("failed")
                && !text(&d, "outcome").starts_with("abandoned");
            if text(&d, "kind") == "restart_dyno" && sent {
                let dyno = d["action"]["dyno"].as_str().unwrap_or_default().to_owned();
                *counts.entry(dyno).or_default() += 1;
            }
        }
        counts
    }
}

fn into_vec(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

pub fn run(args: &DecisionsArgs) -> anyhow::Result<()> {
    let target = Target::resolve(&args.connect)?;
    let report = block_on(async {
        let from_daemon = async {
            let mut daemon = Daemon::connect(&target).await?;
            daemon.get(&format!("/api/v1/apps/{}", args.app)).await?;
            let journal = Journal::read(&mut daemon, &args.app, &args.since, args.limit).await?;
            Ok::<_, Failure>(json!({
                "source": "daemon",
                "url": target.url,
                "apps": [{ "name": args.app, "decisions": journal.decisions_with_outcomes() }],
            }))
        };
        match from_daemon.await {
            Err(Failure::Unreachable { url, cause }) => {
                let why = format!("cannot reach the daemon at {url}: {cause}");
                from_store(&target, Some(&args.app), &args.since, args.limit, why).await
            }
            other => Ok(other?),
        }
    })?;
    let mut out = std::io::stdout().lock();
    let decisions = report["apps"][0]["decisions"].clone();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&decisions)?)?;
        return Ok(());
    }
    if text(&report, "source") == "store" {
        writeln!(
            out,
            "{}; showing the journal from the store",
            text(&report, "daemon")
        )?;
    }
    for d in decisions.as_array().into_iter().flatten() {
        let status = d.get("outcome").and_then(Value::as_str);
        writeln!(out, "{}", render::decision_line(d, status))?;
    }
    Ok(())
}

/// The journal of `app` (else of every configured app) read from the store, shaped like the
/// daemon's answer, with `source: "store"` and why the daemon was not asked.
pub async fn from_store(
    target: &Target,
    app: Option<&str>,
    since: &str,
    limit: u32,
    why: String,
) -> anyhow::Result<Value> {
    let config = target
        .config
        .as_ref()
        .map_err(|problems| anyhow::anyhow!("{why}, and the store is unknown: {problems}"))?;
    let store = dynopilot_store::open(config.store.url.expose())
        .await
        .map_err(|e| Failure::Unreachable {
            url: target.url.clone(),
            cause: format!("{why}; the store does not open either: {e}"),
        })?;
    let names: Vec<String> = match app {
        Some(app) => vec![app.to_owned()],
        None => config.apps.iter().map(|a| a.name.clone()).collect(),
    };
    let span = parse_span(since).unwrap_or(Duration::from_secs(3600));
    let now = dynopilot_clock::SystemClock.now();
    let range = TimeRange::last(span, now.plus(Duration::from_millis(1)));
    let mut apps = Vec::new();
    for name in names {
        let reading = |what: &str| format!("reading the {what} of {name} from the store");
        let decisions = store
            .decisions(&name, range, limit)
            .await
            .with_context(|| reading("decisions"))?;
        let actions = store
            .actions(&name, range, 1000)
            .await
            .with_context(|| reading("actions"))?;
        let events = store
            .events(&name, range, 200)
            .await
            .with_context(|| reading("events"))?;
        let journal = Journal {
            decisions: decisions
                .iter()
                .map(|d| serde_json::to_value(DecisionView::from(d)))
                .collect::<Result<_, _>>()?,
            actions: actions
                .iter()
                .map(|a| serde_json::to_value(ActionView::from(a)))
                .collect::<Result<_, _>>()?,
        };
        let events: Vec<Value> = events
            .into_iter()
            .map(|e| {
                serde_json::to_value(EventView {
                    app: e.app,
                    at: e.at,
                    kind: e.kind,
                    message: e.message,
                    detail: e.detail,
                })
            })
            .collect::<Result<_, _>>()?;
        apps.push(json!({
            "name": name,
            "decisions": journal.decisions_with_outcomes(),
            "alerts": alert_events(Value::Array(events)),
        }));
    }
    Ok(json!({ "source": "store", "daemon": why, "apps": apps }))
}
