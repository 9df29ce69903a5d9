//! The confirmation step of the dashboard's controls: what the control would do, as the runner
//! decided it through the same guardrails as the real thing (and the CLI's manual actions),
//! and who it will be recorded as; confirming posts the same form again with `confirmed=yes`.

use askama::Template;
use dynopilot_core::policy::Decision;

use super::auth::Session;
use super::control::{Command, ControlReply};

#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage {
    pub csrf: String,
    pub user: String,
    pub app: String,
    /// `Restart web.1?`
    pub question: String,
    /// What will happen, one sentence a line.
    pub effects: Vec<String>,
    /// `go`, `held`, `dry-run` or `refused`, for the verdict's colour.
    pub verdict: &'static str,
    pub fields: Vec<(&'static str, String)>,
    pub can_confirm: bool,
    pub button: String,
    pub who: String,
}

impl ConfirmPage {
    pub fn with_session(mut self, session: &Session) -> Self {
        self.csrf = session.csrf.clone();
        self.user = session.user.clone();
        self
    }
}

pub fn page(
    app: &str,
    fields: &[(&'static str, String)],
    command: &Command,
    preview: &ControlReply,
    who: &str,
) -> ConfirmPage {
    let (effects, verdict, can_confirm) = match preview {
        ControlReply::Applied { message } => (vec![message.clone()], "go", true),
        ControlReply::Rejected { message } => (
            vec![format!("This cannot be done now: {message}.")],
            "refused",
            false,
        ),
        ControlReply::Decided { decision } => decision_effects(decision),
    };
    ConfirmPage {
        csrf: String::new(),
        user: String::new(),
        app: app.to_owned(),
        question: question(command),
        effects,
        verdict,
        fields: fields.to_vec(),
        can_confirm,
        button: button(command).to_owned(),
        who: who.to_owned(),
    }
}

fn question(command: &Command) -> String {
    match command {
        Command::Pause {
            process_type: Some(ty),
            ..
        } => format!("Pause autoscaling of {ty}?"),
        Command::Pause { .. } => "Pause autoscaling?".to_owned(),
        Command::Resume {
            process_type: Some(ty),
        } => format!("Resume autoscaling of {ty}?"),
        Command::Resume { .. } => "Resume autoscaling?".to_owned(),
        Command::DryRun { on: true } => "Turn dry-run on?".to_owned(),
        Command::DryRun { on: false } => "Turn dry-run off?".to_owned(),
        Command::Scale {
            process_type,
            quantity,
            ..
        } => format!("Scale {process_type} to {quantity}?"),
        Command::RestartDyno { dyno, .. } => format!("Restart {dyno}?"),
        Command::RestartProcessType { process_type, .. } => {
            format!("Restart every {process_type} dyno?")
        }
        Command::RestartApp { .. } => "Restart every dyno of the app?".to_owned(),
    }
}

fn button(command: &Command) -> &'static str {
    match command {
        Command::Pause { .. } => "Yes, pause",
        Command::Resume { .. } => "Yes, resume",
        Command::DryRun { .. } => "Yes, switch dry-run",
        Command::Scale { .. } => "Yes, scale",
        Command::RestartDyno { .. }
        | Command::RestartProcessType { .. }
        | Command::RestartApp { .. } => "Yes, restart",
    }
}

/// The guardrails' verdict on the previewed decision, in words.
fn decision_effects(d: &Decision) -> (Vec<String>, &'static str, bool) {
    let mut lines = Vec::new();
    for limit in &d.limited_by {
        lines.push(format!("The guardrails limit it: {limit}."));
    }
    let verdict = if !d.blocked.is_empty() {
        let why: Vec<String> = d.blocked.iter().map(ToString::to_string).collect();
        lines.insert(
            0,
            format!(
                "{} would be held, not sent to Heroku: {}.",
                d.action,
                why.join("; ")
            ),
        );
        lines.push("Confirming journals the held decision; nothing changes on Heroku.".to_owned());
        "held"
    } else if d.dry_run {
        lines.insert(
            0,
            format!(
                "{} would be journaled only: dry-run is on, nothing is sent to Heroku.",
                d.action
            ),
        );
        "dry-run"
    } else {
        lines.insert(
            0,
            format!("{} passes the guardrails and is sent to Heroku.", d.action),
        );
        "go"
    };
    (lines, verdict, true)
}
