//! The JSON API under `/api/v1/`: apps, formations, dynos, chart series, the decision and
//! action journal and events (read), and controls (write, CSRF header required). Timestamps
//! are RFC 3339 strings; field names are snake_case and stable (see `docs/openapi.yaml`).

use std::time::Duration;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::HeaderMap;
use dynopilot_core::Timestamp;
use dynopilot_core::policy::ObservedState;
use dynopilot_core::scaling::Signal;
use dynopilot_store::{ActionRecord, DecisionRecord, Event, TimeRange};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use tokio::sync::oneshot;

use super::auth::Session;
use super::control::{Command, ControlReply, ControlRequest};
use super::observation;
use super::series::{self, Series, SeriesQuery};
use super::summary::{self, AppSummary, DynoView};
use super::{WebError, WebState};

/// Serializes a timestamp as RFC 3339 (`2026-03-01T12:00:00Z`).
pub fn rfc3339<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&t.to_jiff())
}

pub fn rfc3339_opt<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}

impl WebState {
    /// A copy of the app's live state (empty before anything was observed).
    pub fn observed(&self, app: &str) -> ObservedState {
        self.ingest
            .fleet
            .lock()
            .ok()
            .and_then(|f| f.app(app).map(|a| a.observed.clone()))
            .unwrap_or_default()
    }

    pub fn summary(&self, app: &str) -> Result<AppSummary, WebError> {
        let config = &self.config(app)?;
        let observed = self.observed(app);
        let mode = self.modes.label(app, config);
        let modes = &self.modes;
        let now = self.clock.now();
        let mut summary = summary::app_summary(
            app,
            mode,
            config,
            &observed,
            |ty| modes.paused(app, ty),
            now,
        );
        summary.observation.lines_not_actionable = self
            .ingest
            .fleet
            .lock()
            .ok()
            .and_then(|f| {
                f.app(app)
                    .map(|a| observation::line_counts(a.not_actionable()))
            })
            .unwrap_or_else(|| observation::line_counts(&Default::default()));
        let mut summary = summary.with_status(&self.status(app), now);
        summary
            .holds
            .extend(super::allowance::pause_holds(&self.modes.get(app)));
        summary.holds.sort_by_key(|h| h.until);
        Ok(summary)
    }

    /// The summary with the alert deliveries still pending (read from the store).
    pub async fn summary_with_alerts(&self, app: &str) -> Result<AppSummary, WebError> {
        let mut summary = self.summary(app)?;
        summary.alerts_pending = super::allowance::pending_alerts(self.store.as_ref(), app).await?;
        Ok(summary)
    }

    /// The app's access error and overrides in force (see `crate::access`).
    pub fn status(&self, app: &str) -> crate::access::AppStatus {
        self.ingest
            .fleet
            .lock()
            .ok()
            .and_then(|f| f.app(app).map(|a| a.status.clone()))
            .unwrap_or_default()
    }

    /// Sends a control to the runner and waits for its answer.
    pub async fn control(
        &self,
        app: &str,
        command: Command,
        who: &str,
    ) -> Result<ControlReply, WebError> {
        self.ask_runner(app, command, who, false).await
    }

    /// What the control would do, decided by the runner through the same path, not carried out.
    pub async fn preview(
        &self,
        app: &str,
        command: Command,
        who: &str,
    ) -> Result<ControlReply, WebError> {
        self.ask_runner(app, command, who, true).await
    }

    async fn ask_runner(
        &self,
        app: &str,
        command: Command,
        who: &str,
        preview: bool,
    ) -> Result<ControlReply, WebError> {
        self.config(app)?;
        let (reply, answer) = oneshot::channel();
        let request = ControlRequest {
            app: app.to_owned(),
            command,
            who: who.to_owned(),
            preview,
            reply,
        };
        let unavailable = |_| WebError::internal("runner", "the policy runner is not running");
        self.controls.send(request).await.map_err(unavailable)?;
        match tokio::time::timeout(Duration::from_secs(30), answer).await {
            Ok(Ok(reply)) => Ok(reply),
            _ => Err(WebError::internal(
                "runner",
                "no answer from the policy runner",
            )),
        }
    }
}

pub async fn apps(State(state): State<WebState>) -> Result<Json<Vec<AppSummary>>, WebError> {
    let mut summaries = Vec::with_capacity(state.apps.len());
    for app in state.apps.names() {
        summaries.push(state.summary_with_alerts(&app).await?);
    }
    Ok(Json(summaries))
}

pub async fn app(
    State(state): State<WebState>,
    Path(app): Path<String>,
) -> Result<Json<AppSummary>, WebError> {
    Ok(Json(state.summary_with_alerts(&app).await?))
}

#[derive(Debug, Serialize)]
pub struct FormationView {
    pub process_type: String,
    pub quantity: u32,
    pub size: String,
    pub dollars_per_hour: f64,
    #[serde(serialize_with = "rfc3339")]
    pub updated_at: Timestamp,
}

pub async fn formation(
    State(state): State<WebState>,
    Path(app): Path<String>,
) -> Result<Json<Vec<FormationView>>, WebError> {
    state.config(&app)?;
    let observed = state.observed(&app);
    let rows = observed
        .process_types
        .iter()
        .filter_map(|(ty, pt)| {
            let f = pt.formation.as_ref()?;
            let price = dynopilot_core::DynoSize::lookup(&f.size)
                .map(|s| s.dollars_per_hour())
                .unwrap_or(0.0);
            Some(FormationView {
                process_type: ty.clone(),
                quantity: f.quantity,
                size: f.size.clone(),
                dollars_per_hour: price * f64::from(f.quantity),
                updated_at: f.updated_at,
            })
        })
        .collect();
    Ok(Json(rows))
}

pub async fn dynos(
    State(state): State<WebState>,
    Path(app): Path<String>,
) -> Result<Json<Vec<DynoView>>, WebError> {
    state.config(&app)?;
    Ok(Json(summary::dynos(&state.observed(&app))))
}

pub async fn series(
    State(state): State<WebState>,
    Path(app): Path<String>,
    Query(q): Query<SeriesQuery>,
) -> Result<Json<Series>, WebError> {
    let config = &state.config(&app)?;
    let (range, step) = series::range_and_step(&q)?;
    let mut types: Vec<String> = config.process_types.keys().cloned().collect();
    types.extend(state.observed(&app).process_types.into_keys());
    types.sort();
    types.dedup();
    let now = state.clock.now();
    let fixed_step = q.step.is_some();
    let store = state.store.as_ref();
    let mut loaded = series::load(store, &app, &types, range, step, fixed_step, now).await?;
    for (ty, traffic) in &mut loaded.traffic {
        traffic.service_target_ms = summary::signal_target(config, ty, Signal::ServiceP95);
        traffic.queue_target_ms = summary::signal_target(config, ty, Signal::QueueTimeP95);
        traffic.load_target = summary::signal_target(config, ty, Signal::LoadPerDyno);
    }
    loaded.memory_kill_mb = series::kill_point(&state.observed(&app), loaded.memory_quota_mb);
    Ok(Json(loaded))
}

#[derive(Debug, Deserialize)]
pub struct JournalQuery {
    /// How far back, like `24h` or `7d`; default 7d.
    pub range: Option<String>,
    /// At most this many rows (1..=1000, default 100; others are refused with 400).
    pub limit: Option<u32>,
}

impl JournalQuery {
    pub fn span(&self, now: Timestamp) -> Result<(TimeRange, u32), WebError> {
        let range = match self.range.as_deref() {
            None => Duration::from_secs(7 * 86_400),
            Some(r) => series::parse_span(r)
                .ok_or_else(|| WebError::bad_request("range is like 1h, 24h, 7d"))?,
        };
        let limit = check_limit(self.limit)?;
        // `end` is exclusive: include what happened in this very millisecond.
        Ok((
            TimeRange::last(range, now.plus(Duration::from_millis(1))),
            limit,
        ))
    }
}

/// Rows per page: 1..=`MAX_LIMIT`, default 100 (`docs/openapi.yaml` says the same).
pub fn check_limit(limit: Option<u32>) -> Result<u32, WebError> {
    match limit {
        None => Ok(100),
        Some(n @ 1..=MAX_LIMIT) => Ok(n),
        Some(n) => Err(WebError::bad_request(format!(
            "limit is 1 to {MAX_LIMIT}, not {n}"
        ))),
    }
}

pub const MAX_LIMIT: u32 = 1000;

/// A journaled decision as the API shows it.
#[derive(Debug, Serialize)]
pub struct DecisionView {
    pub id: String,
    pub app: String,
    #[serde(serialize_with = "rfc3339")]
    pub at: Timestamp,
    pub kind: String,
    pub action: Value,
    pub reason: String,
    pub policy: Value,
    pub executed: bool,
    pub dry_run: bool,
    pub blocked: Value,
    pub limited_by: Value,
}

impl From<&DecisionRecord> for DecisionView {
    fn from(d: &DecisionRecord) -> Self {
        let field = |name: &str| d.decision.get(name).cloned().unwrap_or(Value::Null);
        let policy = d
            .decision
            .get("reason")
            .and_then(|r| r.get("kind"))
            .cloned()
            .unwrap_or(Value::Null);
        DecisionView {
            id: d.id.clone(),
            app: d.app.clone(),
            at: d.at,
            kind: d.kind.clone(),
            action: field("action"),
            reason: d.reason.clone(),
            policy,
            executed: d.executed,
            dry_run: d.dry_run,
            blocked: field("blocked"),
            limited_by: field("limited_by"),
        }
    }
}

pub async fn decisions(
    State(state): State<WebState>,
    Path(app): Path<String>,
    Query(q): Query<JournalQuery>,
) -> Result<Json<Vec<DecisionView>>, WebError> {
    state.config(&app)?;
    let (span, limit) = q.span(state.clock.now())?;
    let rows = state.store.decisions(&app, span, limit).await?;
    Ok(Json(rows.iter().map(DecisionView::from).collect()))
}

#[derive(Debug, Serialize)]
pub struct ActionView {
    pub decision_id: String,
    pub attempt: u32,
    #[serde(serialize_with = "rfc3339")]
    pub started_at: Timestamp,
    #[serde(serialize_with = "rfc3339_opt")]
    pub finished_at: Option<Timestamp>,
    pub outcome: &'static str,
    pub error: Option<String>,
    /// In words: `sent`, `done`, `failed: reason`, `abandoned: reason`.
    pub status: String,
}

impl From<&ActionRecord> for ActionView {
    fn from(a: &ActionRecord) -> Self {
        ActionView {
            decision_id: a.decision_id.clone(),
            attempt: a.attempt,
            started_at: a.started_at,
            finished_at: a.finished_at,
            outcome: a.outcome.as_str(),
            error: a.error.clone(),
            status: a.outcome.status(a.error.as_deref()),
        }
    }
}

pub async fn actions(
    State(state): State<WebState>,
    Path(app): Path<String>,
    Query(q): Query<JournalQuery>,
) -> Result<Json<Vec<ActionView>>, WebError> {
    state.config(&app)?;
    let (span, limit) = q.span(state.clock.now())?;
    let rows = state.store.actions(&app, span, limit).await?;
    Ok(Json(rows.iter().map(ActionView::from).collect()))
}

#[derive(Debug, Serialize)]
pub struct EventView {
    pub app: String,
    #[serde(serialize_with = "rfc3339")]
    pub at: Timestamp,
    pub kind: String,
    pub message: String,
    pub detail: Value,
}

pub async fn events(
    State(state): State<WebState>,
    Path(app): Path<String>,
    Query(q): Query<JournalQuery>,
) -> Result<Json<Vec<EventView>>, WebError> {
    state.config(&app)?;
    let (span, limit) = q.span(state.clock.now())?;
    let rows: Vec<Event> = state.store.events(&app, span, limit).await?;
    let views = rows
        .into_iter()
        .map(|e| EventView {
            app: e.app,
            at: e.at,
            kind: e.kind,
            message: e.message,
            detail: e.detail,
        })
        .collect();
    Ok(Json(views))
}

/// The answer to a control, with the decision (if any) in the API's shape.
#[derive(Debug, Serialize)]
pub struct ControlView {
    pub result: &'static str,
    pub message: String,
    pub decision: Option<DecisionView>,
}

impl ControlView {
    pub fn new(reply: &ControlReply) -> Result<Self, WebError> {
        Ok(match reply {
            ControlReply::Applied { message } => ControlView {
                result: "applied",
                message: message.clone(),
                decision: None,
            },
            ControlReply::Rejected { message } => ControlView {
                result: "rejected",
                message: message.clone(),
                decision: None,
            },
            ControlReply::Decided { decision } => {
                let record = DecisionRecord::from_decision(decision)
                    .map_err(|e| WebError::internal("serialize", e))?;
                let message = decision_message(decision);
                ControlView {
                    result: "decided",
                    message,
                    decision: Some(DecisionView::from(&record)),
                }
            }
        })
    }
}

pub fn decision_message(d: &dynopilot_core::policy::Decision) -> String {
    if let Some(b) = d.blocked.first() {
        format!("{} blocked: {b}", d.action)
    } else if d.dry_run {
        format!("{} (dry run, not executed)", d.action)
    } else {
        // Journaled, not yet sent: the executor takes it from here (see `/actions` for sent,
        // done or failed).
        format!("{} queued", d.action)
    }
}

pub async fn control(
    State(state): State<WebState>,
    Path(app): Path<String>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    Json(command): Json<Command>,
) -> Result<Json<ControlView>, WebError> {
    if !session.can_operate {
        return Err(WebError {
            status: axum::http::StatusCode::FORBIDDEN,
            kind: "insufficient_scope",
            message: format!(
                "{} may only read; controls need a token with the operate scope",
                session.user
            ),
        });
    }
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // A bearer token is never sent by a browser on its own: no cross-site request to guard.
    if !session.via_token && !session.csrf_ok(token) {
        return Err(WebError {
            status: axum::http::StatusCode::FORBIDDEN,
            kind: "csrf",
            message: "missing or wrong X-CSRF-Token header".to_owned(),
        });
    }
    check_bounds(&command)?;
    let who = operator(&session.user, &headers)?;
    let reply = state.control(&app, command, &who).await?;
    Ok(Json(ControlView::new(&reply)?))
}

/// The longest timed pause, in seconds (31 days).
pub const MAX_PAUSE_SECONDS: u64 = 31 * 86_400;
/// The largest quantity a scale control may ask for.
pub const MAX_SCALE_QUANTITY: u32 = 10_000;

/// The bounds `docs/openapi.yaml` states for a control's numbers.
fn check_bounds(command: &Command) -> Result<(), WebError> {
    match command {
        Command::Pause {
            seconds: Some(s), ..
        } if !(1..=MAX_PAUSE_SECONDS).contains(s) => Err(WebError::unprocessable(format!(
            "seconds is 1 to {MAX_PAUSE_SECONDS} (31 days), not {s}"
        ))),
        Command::Scale { quantity, .. } if *quantity > MAX_SCALE_QUANTITY => {
            Err(WebError::unprocessable(format!(
                "quantity is 0 to {MAX_SCALE_QUANTITY}, not {quantity}"
            )))
        }
        _ => Ok(()),
    }
}

/// The header in which `dynopilot` CLI commands name the person at the terminal.
pub const OPERATOR_HEADER: &str = "x-dynopilot-operator";

/// Who asked, as journaled: the session's user, and the operator the CLI names (a claim
/// made under that session, so the session's user always comes first). A named operator of
/// more than `MAX_OPERATOR_LEN` characters (or not visible text) is refused, as documented.
fn operator(user: &str, headers: &HeaderMap) -> Result<String, WebError> {
    let Some(value) = headers.get(OPERATOR_HEADER) else {
        return Ok(user.to_owned());
    };
    let name = value
        .to_str()
        .ok()
        .filter(|v| v.len() <= MAX_OPERATOR_LEN && !v.chars().any(char::is_control))
        .map(str::trim)
        .ok_or_else(|| {
            WebError::bad_request(format!(
                "{OPERATOR_HEADER} is at most {MAX_OPERATOR_LEN} visible ASCII characters"
            ))
        })?;
    Ok(if name.is_empty() {
        user.to_owned()
    } else {
        format!("{user} (cli: {name})")
    })
}

/// The longest operator name the CLI may send.
pub const MAX_OPERATOR_LEN: usize = 64;
