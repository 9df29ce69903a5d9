//! `dynopilot status` (per app: mode, formation, dynos, holds, blind policies, recent decisions
//! and alerts) and `dynopilot ps` (dynos like `heroku ps`, with memory and restarts). When the
//! daemon does not answer, `status` reads the journal from the store and says so.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};

use super::client::Daemon;
use super::decisions::{self, Journal};
use super::failure::Failure;
use super::render::{self, number, text};
use super::runtime::block_on;
use super::target::{Connect, Target};

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Only this app (default: every app the daemon watches).
    #[arg(short = 'a', long)]
    pub app: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: Connect,
}

#[derive(Debug, clap::Args)]
pub struct PsArgs {
    #[arg(short = 'a', long)]
    pub app: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: Connect,
}

/// Decisions shown per app.
const RECENT: usize = 5;

pub fn status(args: &StatusArgs) -> anyhow::Result<()> {
    let target = Target::resolve(&args.connect)?;
    let report = block_on(async {
        match from_daemon(&target, args.app.as_deref()).await {
            Err(Failure::Unreachable { url, cause }) => {
                let why = format!("cannot reach the daemon at {url}: {cause}");
                decisions::from_store(&target, args.app.as_deref(), "24h", RECENT as u32, why).await
            }
            other => Ok(other?),
        }
    })?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        print_status(&mut out, &report)?;
    }
    Ok(())
}

async fn from_daemon(target: &Target, app: Option<&str>) -> Result<Value, Failure> {
    let mut daemon = Daemon::connect(target).await?;
    let summaries = match app {
        Some(app) => vec![daemon.get(&format!("/api/v1/apps/{app}")).await?],
        None => match daemon.get("/api/v1/apps").await? {
            Value::Array(all) => all,
            _ => Vec::new(),
        },
    };
    let mut apps = Vec::new();
    for summary in summaries {
        let name = text(&summary, "name").to_owned();
        let journal = Journal::read(&mut daemon, &name, "24h", RECENT as u32).await?;
        let alerts = alerts(&mut daemon, &name).await?;
        apps.push(json!({
            "summary": summary,
            "decisions": journal.decisions_with_outcomes(),
            "alerts": alerts,
        }));
    }
    Ok(json!({ "source": "daemon", "url": target.url, "apps": apps }))
}

/// Alert events of the last day, newest first.
async fn alerts(daemon: &mut Daemon, app: &str) -> Result<Vec<Value>, Failure> {
    let events = daemon
        .get(&format!("/api/v1/apps/{app}/events?range=24h&limit=200"))
        .await?;
    Ok(alert_events(events))
}

pub fn alert_events(events: Value) -> Vec<Value> {
    let Value::Array(events) = events else {
        return Vec::new();
    };
    events
        .into_iter()
        .filter(|e| text(e, "kind").starts_with("alert"))
        .take(10)
        .collect()
}

fn print_status(out: &mut dyn Write, report: &Value) -> std::io::Result<()> {
    if text(report, "source") == "store" {
        writeln!(
            out,
            "{}; showing the journal from the store instead (no live formation or dynos)",
            text(report, "daemon")
        )?;
    }
    for app in report["apps"].as_array().into_iter().flatten() {
        match app.get("summary") {
            Some(summary) => print_summary(out, summary)?,
            None => writeln!(out, "=== {}", text(app, "name"))?,
        }
        let decisions = app["decisions"].as_array().cloned().unwrap_or_default();
        if decisions.is_empty() {
            writeln!(out, "decisions (24h): none")?;
        } else {
            writeln!(out, "decisions (24h, newest first):")?;
        }
        for d in &decisions {
            let status = d.get("outcome").and_then(Value::as_str);
            writeln!(out, "  {}", render::decision_line(d, status))?;
        }
        for a in app["alerts"].as_array().into_iter().flatten() {
            writeln!(out, "  alert {}  {}", text(a, "at"), text(a, "message"))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn print_summary(out: &mut dyn Write, s: &Value) -> std::io::Result<()> {
    writeln!(
        out,
        "=== {}  {}  ${:.2}/h  dynos {}/{} up",
        text(s, "name"),
        text(s, "mode"),
        s["dollars_per_hour"].as_f64().unwrap_or(0.0),
        s["dynos_up"],
        s["dynos_total"],
    )?;
    if let Some(error) = s.get("error").filter(|e| !e.is_null()) {
        writeln!(out, "error: {error}")?;
    }
    for t in s["process_types"].as_array().into_iter().flatten() {
        let quantity = t["quantity"]
            .as_u64()
            .map_or_else(|| "?".to_owned(), |q| q.to_string());
        let mut line = format!(
            "{:<10} {quantity} × {:<14} up {}/{}  memory max {}  p95 {}",
            text(t, "process_type"),
            t["size"].as_str().unwrap_or("?"),
            t["dynos_up"],
            t["dynos_total"],
            number(t, "memory_max_pct", "%"),
            number(t, "p95_service_ms", " ms"),
        );
        if let Some(who) = t["paused_by"].as_str() {
            line.push_str(&format!("  paused by {who}"));
        }
        writeln!(out, "{line}")?;
    }
    for o in s["overrides"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "hold: {} changed by hand, left alone until {}",
            text(o, "process_type"),
            text(o, "until")
        )?;
    }
    print_guardrails(out, s)?;
    for b in s["observation"]["blind"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "blind: {} on {}: {}",
            text(b, "policy"),
            text(b, "process_type"),
            text(b, "why")
        )?;
    }
    Ok(())
}

/// Budgets left this hour, holds with their end, alert deliveries still pending.
fn print_guardrails(out: &mut dyn Write, s: &Value) -> std::io::Result<()> {
    let g = &s["guardrails"];
    if g.is_object() {
        let budget = |b: &Value| format!("{}/{} left", b["left"], b["limit"]);
        let mut line = format!(
            "budgets (hour): restarts {}  formation changes {}",
            budget(&g["restarts"]),
            budget(&g["formation_changes"])
        );
        for (ty, b) in g["process_type_restarts"].as_object().into_iter().flatten() {
            line.push_str(&format!("  {ty} restarts {}", budget(b)));
        }
        if let Some(cost) = g["cost"].as_object() {
            line.push_str(&format!(
                "  cost ${:.2}/h of ${:.2}/h",
                cost["dollars_per_hour"].as_f64().unwrap_or(0.0),
                cost["limit_dollars_per_hour"].as_f64().unwrap_or(0.0)
            ));
        }
        writeln!(out, "{line}")?;
    }
    for h in s["holds"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "hold: {} {} until {} ({})",
            text(h, "kind"),
            text(h, "target"),
            text(h, "until"),
            text(h, "detail")
        )?;
    }
    for a in s["alerts_pending"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "alert pending: {} to {} ({} attempts{})",
            text(a, "topic"),
            text(a, "channel"),
            a["attempts"],
            a["last_error"]
                .as_str()
                .map_or(String::new(), |e| format!(", last error: {e}"))
        )?;
    }
    Ok(())
}

pub fn ps(args: &PsArgs) -> anyhow::Result<()> {
    let target = Target::resolve(&args.connect)?;
    let report = block_on(async { Ok(ps_report(&target, &args.app).await?) })?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        return Ok(());
    }
    let dynos = report["dynos"].as_array().cloned().unwrap_or_default();
    for f in report["formation"].as_array().into_iter().flatten() {
        let ty = text(f, "process_type");
        writeln!(out, "=== {ty} ({}): {}", text(f, "size"), f["quantity"])?;
        for d in dynos.iter().filter(|d| text(d, "process_type") == ty) {
            writeln!(
                out,
                "{}: {} {}  memory {} / {}  load {}  restarts (24h) {}",
                text(d, "name"),
                text(d, "lifecycle"),
                text(d, "since"),
                number(d, "memory_total_mb", " MB"),
                number(d, "memory_quota_mb", " MB"),
                d["load_1m"]
                    .as_f64()
                    .map_or_else(|| "-".to_owned(), |l| format!("{l:.2}")),
                d["restarts_24h"],
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

async fn ps_report(target: &Target, app: &str) -> Result<Value, Failure> {
    let mut daemon = Daemon::connect(target).await?;
    let formation = daemon.get(&format!("/api/v1/apps/{app}/formation")).await?;
    let dynos = daemon.get(&format!("/api/v1/apps/{app}/dynos")).await?;
    let journal = Journal::read(&mut daemon, app, "24h", 1000).await?;
    let restarts = journal.restarts_by_dyno();
    let dynos: Vec<Value> = dynos
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let mut d = d.clone();
            let n = restarts.get(text(&d, "name")).copied().unwrap_or(0);
            d["restarts_24h"] = n.into();
            d
        })
        .collect();
    Ok(json!({ "app": app, "formation": formation, "dynos": dynos }))
}

/// Restarts carried out (or sent) per dyno name.
pub type RestartCounts = BTreeMap<String, u64>;
