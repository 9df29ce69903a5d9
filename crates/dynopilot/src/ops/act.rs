//! `dynopilot scale`, `restart`, `pause` and `resume`: checked here against what the daemon
//! knows (app, process types, dynos) so a typo does nothing, then sent as controls; the
//! daemon decides, journals and executes them like its own decisions.

use std::io::Write;
use std::time::Duration;

use dynopilot_server::web::Command;
use dynopilot_server::web::series::parse_span;
use serde_json::Value;

use super::client::Daemon;
use super::failure::Failure;
use super::render::text;
use super::runtime::block_on;
use super::target::{Connect, Target};

/// `web=3`: a process type and its new dyno count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormationChange {
    pub process_type: String,
    pub quantity: u32,
}

impl std::str::FromStr for FormationChange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (ty, n) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}` is not TYPE=COUNT (e.g. web=3)"))?;
        if ty.is_empty()
            || !ty
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!("`{ty}` is not a process type name"));
        }
        if n.contains(':') {
            return Err(format!(
                "`{s}`: changing the size here is not supported; give TYPE=COUNT"
            ));
        }
        let quantity = n
            .parse()
            .map_err(|_| format!("`{n}` is not a dyno count (a whole number, e.g. {ty}=3)"))?;
        Ok(FormationChange {
            process_type: ty.to_owned(),
            quantity,
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct ScaleArgs {
    #[arg(short = 'a', long)]
    pub app: String,
    /// New dyno counts, like `web=3 worker=2`.
    #[arg(required = true, value_name = "TYPE=COUNT")]
    pub changes: Vec<FormationChange>,
    /// Carry it out even when a guardrail (bounds, cooldown, budget, deploy freeze) would
    /// block or limit it; journaled as forced, with what it overrode.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub connect: Connect,
}

#[derive(Debug, clap::Args)]
pub struct RestartArgs {
    #[arg(short = 'a', long)]
    pub app: String,
    /// A dyno (`web.2`) or a process type (`web`); default every dyno of the app.
    pub target: Option<String>,
    /// Restart even when a guardrail (budget, cooldown, last healthy dyno) would block it;
    /// journaled as forced.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub connect: Connect,
}

#[derive(Debug, clap::Args)]
pub struct PauseArgs {
    #[arg(short = 'a', long)]
    pub app: String,
    /// Only this process type (default: the whole app).
    pub process_type: Option<String>,
    /// Resume by itself after this long: `30m`, `2h`, `1d`.
    #[arg(long = "for", value_name = "SPAN", value_parser = parse_for)]
    pub duration: Option<Duration>,
    #[command(flatten)]
    pub connect: Connect,
}

#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    #[arg(short = 'a', long)]
    pub app: String,
    /// Only this process type (default: the whole app).
    pub process_type: Option<String>,
    #[command(flatten)]
    pub connect: Connect,
}

fn parse_for(s: &str) -> Result<Duration, String> {
    parse_span(s).ok_or_else(|| format!("`{s}` is not a span like 30m, 2h or 1d"))
}

pub fn scale(args: &ScaleArgs) -> anyhow::Result<()> {
    let commands = args
        .changes
        .iter()
        .map(|c| Command::Scale {
            process_type: c.process_type.clone(),
            quantity: c.quantity,
            force: args.force,
        })
        .collect();
    let types: Vec<&str> = args
        .changes
        .iter()
        .map(|c| c.process_type.as_str())
        .collect();
    send(&args.connect, &args.app, &Check::Types(&types), commands)
}

pub fn restart(args: &RestartArgs) -> anyhow::Result<()> {
    let force = args.force;
    let types: Vec<&str> = args.target.iter().map(String::as_str).collect();
    let (check, command) = match args.target.as_deref() {
        None => (Check::App, Command::RestartApp { force }),
        Some(dyno) if dyno.contains('.') => (
            Check::Dyno(dyno),
            Command::RestartDyno {
                dyno: dyno.to_owned(),
                force,
            },
        ),
        Some(ty) => (
            Check::Types(&types),
            Command::RestartProcessType {
                process_type: ty.to_owned(),
                force,
            },
        ),
    };
    send(&args.connect, &args.app, &check, vec![command])
}

pub fn pause(args: &PauseArgs) -> anyhow::Result<()> {
    let command = Command::Pause {
        process_type: args.process_type.clone(),
        seconds: args.duration.map(|d| d.as_secs()),
    };
    let types: Vec<&str> = args.process_type.iter().map(String::as_str).collect();
    send(
        &args.connect,
        &args.app,
        &types_or_app(&types),
        vec![command],
    )
}

pub fn resume(args: &ResumeArgs) -> anyhow::Result<()> {
    let command = Command::Resume {
        process_type: args.process_type.clone(),
    };
    let types: Vec<&str> = args.process_type.iter().map(String::as_str).collect();
    send(
        &args.connect,
        &args.app,
        &types_or_app(&types),
        vec![command],
    )
}

fn types_or_app<'a>(types: &'a [&'a str]) -> Check<'a> {
    if types.is_empty() {
        Check::App
    } else {
        Check::Types(types)
    }
}

/// What must exist before anything is sent.
enum Check<'a> {
    App,
    Types(&'a [&'a str]),
    Dyno(&'a str),
}

fn send(
    connect: &Connect,
    app: &str,
    check: &Check<'_>,
    commands: Vec<Command>,
) -> anyhow::Result<()> {
    let target = Target::resolve(connect)?;
    let answers = block_on(async {
        let mut daemon = Daemon::connect(&target).await?;
        verify(&mut daemon, app, check).await?;
        let mut answers = Vec::new();
        for command in &commands {
            answers.push(daemon.control(app, command).await?);
        }
        Ok(answers)
    })?;
    let mut out = std::io::stdout().lock();
    let mut blocked = Vec::new();
    for answer in &answers {
        let message = text(answer, "message");
        match text(answer, "result") {
            "rejected" => return Err(Failure::Refused(format!("{app}: {message}")).into()),
            _ if is_blocked(answer) => blocked.push(message.to_owned()),
            _ => writeln!(out, "{app}: {message}")?,
        }
    }
    if !blocked.is_empty() {
        return Err(Failure::Blocked(format!(
            "{app}: {} (journaled; nothing was done; --force overrides)",
            blocked.join("; ")
        ))
        .into());
    }
    Ok(())
}

fn is_blocked(answer: &Value) -> bool {
    answer["decision"]["blocked"]
        .as_array()
        .is_some_and(|b| !b.is_empty())
}

/// The app exists (else the daemon's 404), and so do the named process types or dyno.
async fn verify(daemon: &mut Daemon, app: &str, check: &Check<'_>) -> Result<(), Failure> {
    daemon.get(&format!("/api/v1/apps/{app}")).await?;
    match check {
        Check::App => Ok(()),
        Check::Types(types) => {
            let formation = daemon.get(&format!("/api/v1/apps/{app}/formation")).await?;
            let known: Vec<&str> = formation
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| text(f, "process_type"))
                .collect();
            match types.iter().find(|t| !known.contains(t)) {
                Some(unknown) => Err(Failure::Refused(format!(
                    "{app} has no process type `{unknown}` (it has: {}); nothing was done",
                    listed(&known)
                ))),
                None => Ok(()),
            }
        }
        Check::Dyno(dyno) => {
            let dynos = daemon.get(&format!("/api/v1/apps/{app}/dynos")).await?;
            let known: Vec<&str> = dynos
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| text(d, "name"))
                .collect();
            if known.contains(dyno) {
                Ok(())
            } else {
                Err(Failure::Refused(format!(
                    "{app} has no dyno `{dyno}` (it has: {}); nothing was done",
                    listed(&known)
                )))
            }
        }
    }
}

fn listed(names: &[&str]) -> String {
    if names.is_empty() {
        "none known yet".to_owned()
    } else {
        names.join(", ")
    }
}
