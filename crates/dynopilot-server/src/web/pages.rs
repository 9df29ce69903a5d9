//! Server-rendered pages (askama): the fleet page, the app page and their htmx partials, and
//! the control form handler. Charts are drawn in the browser from the JSON API.

use std::collections::HashMap;
use std::time::Duration;

use askama::Template;
use axum::extract::{Extension, Form, Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use dynopilot_store::{ActionRecord, DecisionRecord, TimeRange};
use serde::Deserialize;

use super::api::decision_message;
use super::auth::Session;
use super::control::{Command, ControlReply};
use super::observation;
use super::summary::{self, AppSummary};
use super::view::{self, Bound, DecisionRow, DynoRow, FleetRow, TypeRow};
use super::{WebError, WebState};

/// Rows of the decision log on the app page.
const LOG_ROWS: u32 = 50;

fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => WebError::internal("template", e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "fleet.html")]
struct FleetPage {
    csrf: String,
    user: String,
    rows: Vec<FleetRow>,
    updated: String,
}

#[derive(Template)]
#[template(path = "fleet_table.html")]
struct FleetTable {
    rows: Vec<FleetRow>,
    updated: String,
}

async fn fleet_rows(state: &WebState) -> Result<Vec<FleetRow>, WebError> {
    let now = state.clock.now();
    let mut rows = Vec::with_capacity(state.apps.len());
    for app in state.apps.snapshot().keys() {
        let summary = state.summary(app)?;
        let span = TimeRange::last(
            Duration::from_secs(30 * 86_400),
            now.plus(Duration::from_millis(1)),
        );
        let last = state.store.decisions(app, span, 1).await?;
        rows.push(view::fleet_row(&summary, last.first()));
    }
    Ok(rows)
}

pub async fn fleet(
    State(state): State<WebState>,
    Extension(session): Extension<Session>,
) -> Result<Response, WebError> {
    let page = FleetPage {
        csrf: session.csrf,
        user: session.user,
        rows: fleet_rows(&state).await?,
        updated: view::clock_time(state.clock.now()),
    };
    Ok(render(&page))
}

pub async fn fleet_table(State(state): State<WebState>) -> Result<Response, WebError> {
    let table = FleetTable {
        rows: fleet_rows(&state).await?,
        updated: view::clock_time(state.clock.now()),
    };
    Ok(render(&table))
}

/// Everything in the refreshing part of the app page.
struct Panel {
    app: String,
    csrf: String,
    mode: &'static str,
    app_paused: bool,
    dry_run: bool,
    types: Vec<TypeRow>,
    dynos: Vec<DynoRow>,
    decisions: Vec<DecisionRow>,
    restarts: String,
    cost: String,
    cost_month: String,
    bounds: Vec<Bound>,
    /// Log source and runtime metrics, in words.
    seeing: String,
    /// One line per blind policy: which, and what signal is missing.
    blind: Vec<String>,
    /// Lines kept as history only, by reason, in words.
    not_actionable: Vec<String>,
    /// Why the app is in error, or empty.
    error: String,
    /// Manual-change overrides in force, in words.
    overrides: Vec<Bound>,
    /// Status checks of the app's dependencies: state, last values, history.
    checks: Vec<view::CheckRow>,
    /// Recent alert deliveries with their outcome, newest first.
    notifications: Vec<super::notifications::NotificationRow>,
}

#[derive(Template)]
#[template(path = "app.html")]
struct AppPage {
    csrf: String,
    user: String,
    app: String,
    message: Option<String>,
    panel: Panel,
}

#[derive(Template)]
#[template(path = "app_panel.html")]
struct AppPanel {
    panel: Panel,
}

async fn panel(state: &WebState, app: &str, csrf: &str) -> Result<Panel, WebError> {
    let config = &state.config(app)?;
    let summary: AppSummary = state.summary(app)?;
    let observed = state.observed(app);
    let now = state.clock.now();
    let end = now.plus(Duration::from_millis(1));
    let day = TimeRange::last(Duration::from_secs(86_400), end);
    let decisions = state.store.decisions(app, day, LOG_ROWS).await?;
    let actions = state.store.actions(app, day, LOG_ROWS * 2).await?;
    let hour = TimeRange::last(Duration::from_secs(3600), end);
    let recent = state.store.decisions(app, hour, 1000).await?;
    let restarts = recent.iter().filter(|d| counts_as_restart(d)).count();
    let mode = state.modes.get(app);
    let notifications = super::notifications::rows(state, app).await?;
    let budget = config.guardrails.restart_budget_per_hour;
    let cost = match config.guardrails.cost_budget_per_hour {
        Some(b) => format!(
            "{} of {} per hour",
            view::dollars(summary.dollars_per_hour),
            view::dollars(b)
        ),
        None => format!(
            "{} per hour (no budget set)",
            view::dollars(summary.dollars_per_hour)
        ),
    };
    Ok(Panel {
        app: app.to_owned(),
        csrf: csrf.to_owned(),
        mode: summary.mode,
        app_paused: mode.paused_by.is_some(),
        dry_run: state.modes.dry_run(app, config),
        types: summary.process_types.iter().map(TypeRow::from).collect(),
        dynos: summary::dynos(&observed)
            .iter()
            .map(DynoRow::from)
            .collect(),
        decisions: decision_rows(&decisions, &actions),
        restarts: format!("{restarts} of {budget}"),
        cost,
        cost_month: view::dollars(summary.projected_month_dollars),
        bounds: view::bounds(config, &summary.process_types),
        seeing: seeing(&summary.observation),
        blind: summary
            .observation
            .blind
            .iter()
            .map(|b| format!("{} of {} is blind: {}", b.policy, b.process_type, b.why))
            .collect(),
        not_actionable: observation::describe_counts(&summary.observation.lines_not_actionable),
        error: summary.error.as_ref().map_or_else(String::new, |e| {
            format!(
                "{app} is in error since {} ({}): {}. Nothing is decided for it; next try at {}.",
                view::clock_time(e.since),
                e.kind,
                e.message,
                view::clock_time(e.retry_at)
            )
        }),
        overrides: summary
            .overrides
            .iter()
            .map(|o| Bound {
                name: o.process_type.clone(),
                text: format!(
                    "{} was changed outside dynopilot: hands off until {}.",
                    o.process_type,
                    view::clock_time(o.until)
                ),
            })
            .collect(),
        checks: observed
            .checks
            .iter()
            .map(|(name, c)| view::CheckRow::new(name, c))
            .collect(),
        notifications,
    })
}

fn seeing(o: &observation::ObservationView) -> String {
    let source = match (o.log_source, o.first_line_at) {
        ("none", _) => "no log source".to_owned(),
        (_, Some(t)) => format!("log source delivering since {}", view::clock_time(t)),
        (_, None) => "log source listening, no line received yet".to_owned(),
    };
    format!("{source}; log-runtime-metrics {}", o.runtime_metrics)
}

/// Restarts that used the hourly budget: decided and let through (executed or dry run).
fn counts_as_restart(d: &DecisionRecord) -> bool {
    let blocked = d
        .decision
        .get("blocked")
        .and_then(|b| b.as_array())
        .is_some_and(|b| !b.is_empty());
    d.kind.starts_with("restart") && !blocked
}

fn decision_rows(decisions: &[DecisionRecord], actions: &[ActionRecord]) -> Vec<DecisionRow> {
    // Actions come newest first, so the first one seen per decision is its latest attempt.
    let mut latest: HashMap<&str, &ActionRecord> = HashMap::new();
    for a in actions {
        latest.entry(a.decision_id.as_str()).or_insert(a);
    }
    decisions
        .iter()
        .map(|d| DecisionRow::new(d, latest.get(d.id.as_str()).copied()))
        .collect()
}

/// The app page. Query parameters never reach the page as text: the notice comes from the
/// session's flash, and `at` (a chart moment to show) is read by the chart script.
pub async fn app(
    State(state): State<WebState>,
    Path(app): Path<String>,
    Extension(session): Extension<Session>,
) -> Result<Response, WebError> {
    let panel = panel(&state, &app, &session.csrf).await?;
    let message = state.flashes.take(&session.csrf, &app, state.clock.now());
    let page = AppPage {
        csrf: session.csrf,
        user: session.user,
        app,
        message,
        panel,
    };
    Ok(render(&page))
}

pub async fn app_panel(
    State(state): State<WebState>,
    Path(app): Path<String>,
    Extension(session): Extension<Session>,
) -> Result<Response, WebError> {
    let panel = panel(&state, &app, &session.csrf).await?;
    Ok(render(&AppPanel { panel }))
}

/// The fields of every control form; which ones matter depends on `command`.
#[derive(Debug, Deserialize)]
pub struct ControlForm {
    /// Missing is the same as wrong: 403, not a form error.
    #[serde(default)]
    csrf: String,
    command: String,
    process_type: Option<String>,
    quantity: Option<u32>,
    dyno: Option<String>,
    on: Option<bool>,
    /// `yes` once the person saw the confirmation step; anything else shows it.
    confirmed: Option<String>,
}

impl ControlForm {
    fn command(&self) -> Result<Command, WebError> {
        let ty = self.process_type.clone().filter(|t| !t.is_empty());
        let need = |what: &str| WebError::bad_request(format!("{what} is required"));
        Ok(match self.command.as_str() {
            "pause" => Command::Pause {
                process_type: ty,
                seconds: None,
            },
            "resume" => Command::Resume { process_type: ty },
            "dry_run" => Command::DryRun {
                on: self.on.ok_or_else(|| need("on"))?,
            },
            "scale" => Command::Scale {
                process_type: ty.ok_or_else(|| need("process_type"))?,
                quantity: self.quantity.ok_or_else(|| need("quantity"))?,
                force: false,
            },
            "restart_dyno" => Command::RestartDyno {
                dyno: self.dyno.clone().ok_or_else(|| need("dyno"))?,
                force: false,
            },
            "restart_process_type" => Command::RestartProcessType {
                process_type: ty.ok_or_else(|| need("process_type"))?,
                force: false,
            },
            other => return Err(WebError::bad_request(format!("unknown command {other}"))),
        })
    }

    fn confirmed(&self) -> bool {
        self.confirmed.as_deref() == Some("yes")
    }
}

/// Who a control is journaled as: the signed-in user, or the anonymous visitor of a dashboard
/// that needs no sign-in because it only listens on loopback.
pub fn who(state: &WebState, session: &Session) -> String {
    if state.auth.settings.require_login {
        session.user.clone()
    } else {
        format!("{} (loopback)", session.user)
    }
}

/// Handles a control form: checks the CSRF token, shows the confirmation step with the
/// runner's preview, and once confirmed asks the runner and goes back to the app page, where
/// the outcome waits as a server-side notice.
pub async fn control_form(
    State(state): State<WebState>,
    Path(app): Path<String>,
    Extension(session): Extension<Session>,
    Form(form): Form<ControlForm>,
) -> Result<Response, WebError> {
    if !session.csrf_ok(&form.csrf) {
        return Err(WebError {
            status: axum::http::StatusCode::FORBIDDEN,
            kind: "csrf",
            message: "the form is stale or not ours; reload the page".to_owned(),
        });
    }
    let command = form.command()?;
    let who = who(&state, &session);
    if !form.confirmed() {
        let preview = state.preview(&app, command.clone(), &who).await?;
        let page = super::confirm::page(&app, &form_fields(&form), &command, &preview, &who);
        return Ok(render(&page.with_session(&session)));
    }
    let reply = state.control(&app, command, &who).await?;
    let message = match reply {
        ControlReply::Applied { message } | ControlReply::Rejected { message } => message,
        ControlReply::Decided { decision } => decision_message(&decision),
    };
    state
        .flashes
        .put(&session.csrf, &app, message, state.clock.now());
    Ok(Redirect::to(&format!("/apps/{app}")).into_response())
}

/// The form's fields, to post again from the confirmation step.
fn form_fields(form: &ControlForm) -> Vec<(&'static str, String)> {
    let mut fields = vec![("command", form.command.clone())];
    if let Some(ty) = form.process_type.as_ref().filter(|t| !t.is_empty()) {
        fields.push(("process_type", ty.clone()));
    }
    if let Some(q) = form.quantity {
        fields.push(("quantity", q.to_string()));
    }
    if let Some(d) = &form.dyno {
        fields.push(("dyno", d.clone()));
    }
    if let Some(on) = form.on {
        fields.push(("on", on.to_string()));
    }
    fields
}
