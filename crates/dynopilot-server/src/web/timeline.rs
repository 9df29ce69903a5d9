//! The per-app timeline: decisions, holds, attempts with their outcomes, alert deliveries,
//! releases and people's controls in one list, newest first, filtered by kind, each linking
//! to that moment on the app page's charts.

use std::time::Duration;

use askama::Template;
use axum::extract::{Extension, Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use dynopilot_core::Timestamp;
use dynopilot_store::{ActionRecord, DecisionRecord, Event, TimeRange};
use serde::Deserialize;

use super::auth::Session;
use super::view::{self, DecisionRow};
use super::{WebError, WebState};

/// Rows read per source; the newest win.
const PER_SOURCE: u32 = 500;

/// The kinds of entry, in the order the filter lists them, with their label.
pub const KINDS: &[(&str, &str)] = &[
    ("decision", "Decisions"),
    ("hold", "Holds"),
    ("action", "Actions"),
    ("alert", "Alerts"),
    ("release", "Releases"),
    ("manual", "Manual"),
];

const RANGES: &[(&str, &str)] = &[
    ("1h", "1 hour"),
    ("24h", "24 hours"),
    ("7d", "7 days"),
    ("30d", "30 days"),
];

#[derive(Debug, Default, Deserialize)]
pub struct TimelineQuery {
    range: Option<String>,
    decision: Option<String>,
    hold: Option<String>,
    action: Option<String>,
    alert: Option<String>,
    release: Option<String>,
    manual: Option<String>,
}

impl TimelineQuery {
    /// The kinds asked for; none ticked means all.
    fn kinds(&self) -> Vec<&'static str> {
        let ticked = [
            &self.decision,
            &self.hold,
            &self.action,
            &self.alert,
            &self.release,
            &self.manual,
        ];
        let chosen: Vec<&'static str> = KINDS
            .iter()
            .zip(ticked)
            .filter(|(_, t)| t.is_some())
            .map(|((k, _), _)| *k)
            .collect();
        if chosen.is_empty() {
            KINDS.iter().map(|(k, _)| *k).collect()
        } else {
            chosen
        }
    }

    fn range(&self) -> &'static str {
        let asked = self.range.as_deref().unwrap_or("24h");
        RANGES
            .iter()
            .find(|(r, _)| *r == asked)
            .map_or("24h", |(r, _)| r)
    }
}

/// One line of the timeline.
#[derive(Clone, Debug)]
pub struct Entry {
    pub at: Timestamp,
    pub kind: &'static str,
    pub title: String,
    pub detail: String,
    pub outcome: String,
}

impl Entry {
    pub fn when(&self) -> String {
        view::date_time(self.at)
    }

    pub fn iso(&self) -> String {
        self.at.to_jiff().to_string()
    }

    pub fn epoch(&self) -> i64 {
        self.at.as_millis() / 1000
    }
}

pub struct Filter {
    pub kind: &'static str,
    pub label: &'static str,
    pub on: bool,
}

pub struct RangeChoice {
    pub value: &'static str,
    pub label: &'static str,
    pub on: bool,
}

#[derive(Template)]
#[template(path = "timeline.html")]
struct TimelinePage {
    csrf: String,
    user: String,
    app: String,
    filters: Vec<Filter>,
    ranges: Vec<RangeChoice>,
    entries: Vec<Entry>,
}

pub async fn page(
    State(state): State<WebState>,
    Path(app): Path<String>,
    Extension(session): Extension<Session>,
    Query(q): Query<TimelineQuery>,
) -> Result<Response, WebError> {
    state.config(&app)?;
    let kinds = q.kinds();
    let range = q.range();
    let span = super::series::parse_span(range).unwrap_or(Duration::from_secs(86_400));
    let now = state.clock.now();
    let window = TimeRange::last(span, now.plus(Duration::from_millis(1)));
    let mut entries = entries(&state, &app, window).await?;
    entries.retain(|e| kinds.contains(&e.kind));
    let page = TimelinePage {
        csrf: session.csrf,
        user: session.user,
        app,
        filters: KINDS
            .iter()
            .map(|(kind, label)| Filter {
                kind,
                label,
                on: kinds.contains(kind),
            })
            .collect(),
        ranges: RANGES
            .iter()
            .map(|(value, label)| RangeChoice {
                value,
                label,
                on: *value == range,
            })
            .collect(),
        entries,
    };
    match page.render() {
        Ok(html) => Ok(Html(html).into_response()),
        Err(e) => Err(WebError::internal("template", e)),
    }
}

/// Everything that happened to `app` in `window`, newest first.
pub async fn entries(
    state: &WebState,
    app: &str,
    window: TimeRange,
) -> Result<Vec<Entry>, WebError> {
    let decisions = state.store.decisions(app, window, PER_SOURCE).await?;
    let actions = state.store.actions(app, window, PER_SOURCE).await?;
    let events = state.store.events(app, window, PER_SOURCE).await?;
    let deliveries = state.store.deliveries(app, PER_SOURCE).await?;
    let mut out: Vec<Entry> = decisions.iter().map(decision_entry).collect();
    out.extend(actions.iter().map(|a| action_entry(a, &decisions)));
    out.extend(events.iter().filter_map(event_entry));
    out.extend(
        deliveries
            .into_iter()
            .filter(|d| window.contains(d.created_at))
            .map(|d| {
                let v = super::notifications::NotificationView::new(d);
                Entry {
                    at: v.created_at,
                    kind: "alert",
                    title: v.title.unwrap_or_else(|| v.topic.clone()),
                    detail: format!("{} via {}", v.topic, v.channel),
                    outcome: v.outcome.replace('_', " "),
                }
            }),
    );
    out.extend(
        state
            .observed(app)
            .releases
            .iter()
            .filter(|r| window.contains(r.at))
            .map(|r| Entry {
                at: r.at,
                kind: "release",
                title: format!("release v{}", r.version),
                detail: String::new(),
                outcome: String::new(),
            }),
    );
    out.sort_by_key(|e| std::cmp::Reverse(e.at));
    Ok(out)
}

fn decision_entry(d: &DecisionRecord) -> Entry {
    let row = DecisionRow::new(d, None);
    let manual = d
        .decision
        .pointer("/reason/kind")
        .and_then(|p| p.as_str())
        .is_some_and(|p| p == "manual");
    let kind = if manual {
        "manual"
    } else if row.status_class == "blocked" {
        "hold"
    } else {
        "decision"
    };
    Entry {
        at: d.at,
        kind,
        title: row.action,
        detail: row.reason,
        outcome: row.status,
    }
}

fn action_entry(a: &ActionRecord, decisions: &[DecisionRecord]) -> Entry {
    let what = decisions
        .iter()
        .find(|d| d.id == a.decision_id)
        .map_or_else(
            || a.decision_id.clone(),
            |d| DecisionRow::new(d, None).action,
        );
    Entry {
        at: a.finished_at.unwrap_or(a.started_at),
        kind: "action",
        title: format!("{what} (attempt {})", a.attempt),
        detail: format!("decision {}", a.decision_id),
        outcome: a.outcome.status(a.error.as_deref()),
    }
}

fn event_entry(e: &Event) -> Option<Entry> {
    let kind = match e.kind.as_str() {
        "control" => "manual",
        "release" => "release",
        k if k.starts_with("alert") => "alert",
        _ => return None,
    };
    Some(Entry {
        at: e.at,
        kind,
        title: e.message.clone(),
        detail: String::new(),
        outcome: String::new(),
    })
}
