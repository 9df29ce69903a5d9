//! Which alert a journaled decision becomes: its topic in Heroku's and the seeds' words
//! (`restart`, `scale-up`, `big-swing`, `rule:H12-storm` …), severity, target and kind, and
//! the `AlertEvent` built from it. Pure: time comes from the decision.

use dynopilot_core::Timestamp;
use dynopilot_core::policy::decision::clock;
use dynopilot_core::policy::{Action, Decision, Reason, Severity};

use crate::event::{AlertEvent, EventKind};

pub const RESTART: &str = "restart";
pub const SCALE_UP: &str = "scale-up";
pub const SCALE_DOWN: &str = "scale-down";
pub const CAPPED_AT_MAX: &str = "capped-at-max";
pub const HELD_AT_MIN: &str = "held-at-min";
pub const BIG_SWING: &str = "big-swing";
pub const RESIZE: &str = "resize";
pub const ESCALATION: &str = "escalation";
pub const RESTART_STORM: &str = "restart-storm";
pub const PROBE_FAILING: &str = "probe-failing";
pub const PROBE_RECOVERED: &str = "probe-recovered";
pub const API_FAILING: &str = "api-failing";
/// The resolve of `api-failing`: the Platform API answers the app's polls again.
pub const API_RECOVERED: &str = "api-recovered";
/// Discovery found a new app and watches it now.
pub const APP_DISCOVERED: &str = "app-discovered";
/// Discovery no longer sees an app (deleted, or the key lost it): it is no longer watched.
pub const APP_RETIRED: &str = "app-retired";
pub const APP_ERROR: &str = "app-error";
/// The resolve of `app-error`: the app answers the Platform API again.
pub const APP_REACHABLE: &str = "app-reachable";
pub const MANUAL_OVERRIDE: &str = "manual-override";
pub const BLIND: &str = "blind";
pub const STARTED: &str = "dynopilot-started";
pub const STOPPED: &str = "dynopilot-stopped";
/// The app name lifecycle events carry: they are about dynopilot, not a Heroku app.
pub const SELF_APP: &str = "dynopilot";

/// The target of an event that concerns the whole app.
pub const APP_TARGET: &str = "app";

/// What a decision is about, before it becomes an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Derived {
    pub topic: String,
    pub severity: Severity,
    /// The dyno, process type or rule target; `app` for the whole app.
    pub target: String,
    pub kind: EventKind,
}

impl Derived {
    fn new(topic: impl Into<String>, severity: Severity, target: impl Into<String>) -> Self {
        Derived {
            topic: topic.into(),
            severity,
            target: target.into(),
            kind: EventKind::Trigger,
        }
    }

    fn resolve(mut self) -> Self {
        self.kind = EventKind::Resolve;
        self
    }
}

/// How the event is built beyond the decision itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventSettings {
    /// A scale whose quantity moves by at least this many dynos is a `big-swing`; 0 turns it off.
    pub big_swing: u32,
    /// The dashboard's public base URL (no trailing slash), for links to the decision.
    pub public_url: Option<String>,
}

/// The alert a decision is reported as, if any. Blocked decisions did nothing (their guardrail
/// has its own alert from the core); hooks report through their own channel; the core's
/// `scaled:*` alert repeats the formation decision, which is reported instead (it carries the
/// numbers a big swing needs).
pub fn derive(decision: &Decision, settings: &EventSettings) -> Option<Derived> {
    if decision.is_blocked() {
        return None;
    }
    match &decision.action {
        // Restarts cool per process type: a leak restarts every dyno of it in turn, and one
        // message with "and 5 more restarts of worker" says more than one per dyno.
        Action::RestartDyno { dyno, .. } => Some(Derived::new(
            RESTART,
            Severity::Warning,
            decision.action.process_type().unwrap_or(dyno),
        )),
        Action::RestartProcessType { process_type } => {
            Some(Derived::new(RESTART, Severity::Warning, process_type))
        }
        Action::RestartApp => Some(Derived::new(RESTART, Severity::Warning, APP_TARGET)),
        Action::ScaleFormation {
            process_type,
            from,
            to,
        } => Some(scale(process_type, *from, *to, settings.big_swing)),
        Action::Resize { process_type, .. } => {
            Some(Derived::new(RESIZE, Severity::Warning, process_type))
        }
        Action::Alert {
            topic, severity, ..
        } => from_core_topic(topic, *severity),
        Action::RunHook { .. } => None,
    }
}

fn scale(process_type: &str, from: u32, to: u32, big_swing: u32) -> Derived {
    if big_swing > 0 && from.abs_diff(to) >= big_swing {
        return Derived::new(BIG_SWING, Severity::Warning, process_type);
    }
    let topic = if to >= from { SCALE_UP } else { SCALE_DOWN };
    Derived::new(topic, Severity::Info, process_type)
}

/// The core names alert topics `<what>:<target>` (`capped_at_max:web`, `rule:H12:web.1`);
/// these are mapped to the topics people route on.
pub fn from_core_topic(topic: &str, severity: Severity) -> Option<Derived> {
    let (head, rest) = topic.split_once(':').unwrap_or((topic, APP_TARGET));
    let derived = match head {
        "scaled" => return None,
        "capped_at_max" => Derived::new(CAPPED_AT_MAX, severity, rest),
        "below_min" => Derived::new(HELD_AT_MIN, severity, rest),
        "api_failure" => Derived::new(API_FAILING, severity, rest),
        "escalation" => Derived::new(ESCALATION, severity, rest),
        "restart-storm" => Derived::new(RESTART_STORM, severity, rest),
        "rule" => {
            let (name, target) = rest.split_once(':').unwrap_or((rest, APP_TARGET));
            Derived::new(format!("rule:{name}"), severity, target)
        }
        "guardrail" => {
            let (guardrail, target) = rest.split_once(':').unwrap_or((rest, APP_TARGET));
            Derived::new(format!("guardrail:{guardrail}"), severity, target)
        }
        PROBE_RECOVERED => Derived::new(PROBE_FAILING, severity, rest).resolve(),
        APP_REACHABLE => Derived::new(APP_ERROR, severity, rest).resolve(),
        API_RECOVERED => Derived::new(API_FAILING, severity, rest).resolve(),
        other => Derived::new(other.replace('_', "-"), severity, rest),
    };
    Some(derived)
}

/// The topic as shown and routed: a resolve is routed under its own name (`probe-recovered`),
/// while cooling and `dedup_key` use the condition's topic (`probe-failing`).
pub fn routed_topic(derived: &Derived) -> String {
    match (derived.kind, derived.topic.as_str()) {
        (EventKind::Resolve, PROBE_FAILING) => PROBE_RECOVERED.to_owned(),
        (EventKind::Resolve, APP_ERROR) => APP_REACHABLE.to_owned(),
        (EventKind::Resolve, API_FAILING) => API_RECOVERED.to_owned(),
        (_, topic) => topic.to_owned(),
    }
}

/// One condition per (topic, app, target): trigger and resolve share it.
pub fn dedup_key(topic: &str, app: &str, target: &str) -> String {
    format!("{app}/{topic}/{target}")
}

/// The event for `decision`, with an id derived from the decision's (which is itself stable),
/// so re-journaling the same decision never makes a second event.
pub fn event_for(decision: &Decision, settings: &EventSettings) -> Option<AlertEvent> {
    let derived = derive(decision, settings)?;
    let topic = routed_topic(&derived);
    let (message, reasons) = match &decision.action {
        Action::Alert { message, .. } => (message.clone(), vec![message.clone()]),
        action => (
            format!("{action} ({})", decision.reason),
            vec![decision.reason.to_string()],
        ),
    };
    let dry = if decision.dry_run { " (dry run)" } else { "" };
    let link = settings
        .public_url
        .as_deref()
        .map(|base| decision_link(base, &decision.app, &decision.id));
    Some(AlertEvent {
        id: stable_id(&["alert", &decision.id, &topic]),
        kind: derived.kind,
        title: format!(
            "{}: {}{dry}",
            decision.app,
            title_words(&decision.action, &message)
        ),
        topic,
        severity: derived.severity,
        app: decision.app.clone(),
        process_type: decision.action.process_type().map(str::to_owned),
        dyno: match &decision.action {
            Action::RestartDyno { dyno, .. } => Some(dyno.clone()),
            _ => None,
        },
        decision_id: Some(decision.id.clone()),
        message,
        reasons,
        at: decision.at,
        dedup_key: dedup_key(&derived.topic, &decision.app, &derived.target),
        digest: None,
        link,
    })
}

fn title_words(action: &Action, message: &str) -> String {
    match action {
        Action::Alert { .. } => message.chars().take(120).collect(),
        other => other.to_string(),
    }
}

/// The dashboard page of the decision, where the app page lists it by id.
pub fn decision_link(base: &str, app: &str, decision_id: &str) -> String {
    format!(
        "{}/apps/{app}#decision-{decision_id}",
        base.trim_end_matches('/')
    )
}

/// `dynopilot-started` / `dynopilot-stopped`: about dynopilot itself, on `SELF_APP`.
pub fn lifecycle_event(started: bool, at: Timestamp, detail: &str) -> AlertEvent {
    let (topic, words) = if started {
        (STARTED, "dynopilot started")
    } else {
        (STOPPED, "dynopilot stopped")
    };
    let message = if detail.is_empty() {
        words.to_owned()
    } else {
        format!("{words}: {detail}")
    };
    AlertEvent {
        id: stable_id(&[topic, &at.as_millis().to_string()]),
        kind: EventKind::Trigger,
        topic: topic.to_owned(),
        severity: Severity::Info,
        app: SELF_APP.to_owned(),
        process_type: None,
        dyno: None,
        decision_id: None,
        title: words.to_owned(),
        message: message.clone(),
        reasons: vec![message],
        at,
        dedup_key: dedup_key(topic, SELF_APP, APP_TARGET),
        digest: None,
        link: None,
    }
}

/// A rule's `webhook` action (`Action::RunHook { name }`): the rule's alert, sent to the
/// channel called `name` whatever the routes say (the rule's own cooldown already applies).
/// Returns the event and the channel.
pub fn hook_event(decision: &Decision, settings: &EventSettings) -> Option<(AlertEvent, String)> {
    let Action::RunHook { name } = &decision.action else {
        return None;
    };
    if decision.is_blocked() {
        return None;
    }
    let (topic, target) = match &decision.reason {
        Reason::RuleCodes { rule, target, .. } | Reason::RuleMetric { rule, target, .. } => {
            (format!("rule:{rule}"), target.clone())
        }
        _ => ("hook".to_owned(), APP_TARGET.to_owned()),
    };
    let message = decision.reason.to_string();
    let dry = if decision.dry_run { " (dry run)" } else { "" };
    let event = AlertEvent {
        id: stable_id(&["hook", &decision.id, name]),
        kind: EventKind::Trigger,
        title: format!("{}: {message}{dry}", decision.app)
            .chars()
            .take(160)
            .collect(),
        severity: Severity::Warning,
        app: decision.app.clone(),
        process_type: decision.action.process_type().map(str::to_owned),
        dyno: None,
        decision_id: Some(decision.id.clone()),
        message: message.clone(),
        reasons: vec![message],
        at: decision.at,
        dedup_key: dedup_key(&topic, &decision.app, &target),
        digest: None,
        link: settings
            .public_url
            .as_deref()
            .map(|base| decision_link(base, &decision.app, &decision.id)),
        topic,
    };
    Some((event, name.clone()))
}

/// A policy of `app` became blind (`blind = true`: its signal is missing) or sees its signal
/// again (a resolve). Info: blind is a state, routed only where someone asked for it.
pub fn blind_event(app: &str, target: &str, why: &str, blind: bool, at: Timestamp) -> AlertEvent {
    let (kind, words) = if blind {
        (
            EventKind::Trigger,
            format!("{target} is blind: {why}; no action taken"),
        )
    } else {
        (
            EventKind::Resolve,
            format!("{target} sees its signal again"),
        )
    };
    AlertEvent {
        id: stable_id(&[
            BLIND,
            app,
            target,
            &blind.to_string(),
            &at.as_millis().to_string(),
        ]),
        kind,
        topic: BLIND.to_owned(),
        severity: Severity::Info,
        app: app.to_owned(),
        process_type: None,
        dyno: None,
        decision_id: None,
        title: format!("{app}: {words}"),
        message: words.clone(),
        reasons: vec![words],
        at,
        dedup_key: dedup_key(BLIND, app, target),
        digest: None,
        link: None,
    }
}

/// The resolve of an `app-error`: `app` answers the Platform API again after `was_kind`
/// (`not_found`, `forbidden` …). Shares the error's `dedup_key`, so a PagerDuty incident ends.
pub fn app_reachable(app: &str, at: Timestamp, was_kind: &str) -> AlertEvent {
    let message = format!("{app} is reachable again (was in error: {was_kind}); watching it");
    AlertEvent {
        id: stable_id(&[APP_REACHABLE, app, &at.as_millis().to_string()]),
        kind: EventKind::Resolve,
        topic: APP_REACHABLE.to_owned(),
        severity: Severity::Info,
        app: app.to_owned(),
        process_type: None,
        dyno: None,
        decision_id: None,
        title: format!("{app}: reachable again"),
        message: message.clone(),
        reasons: vec![message],
        at,
        dedup_key: dedup_key(APP_ERROR, app, APP_TARGET),
        digest: None,
        link: None,
    }
}

/// The target an event's cooling and digest are kept for: the part of its `dedup_key` after
/// the app and topic.
pub fn target_of(event: &AlertEvent) -> &str {
    event
        .dedup_key
        .rsplit_once('/')
        .map_or(APP_TARGET, |(_, target)| target)
}

/// The cooling key's topic: the condition's topic (a resolve shares it with its trigger).
pub fn condition_of(event: &AlertEvent) -> &str {
    event
        .dedup_key
        .split('/')
        .nth(1)
        .unwrap_or(event.topic.as_str())
}

/// A short description of `at` for digests (`10:02`).
pub fn short_clock(at: Timestamp) -> String {
    clock(at).chars().take(5).collect()
}

/// FNV-1a, 64 bit: stable across Rust versions and platforms, so ids survive restarts.
pub fn stable_id(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0x1f)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}
