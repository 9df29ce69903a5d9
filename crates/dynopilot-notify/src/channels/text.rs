//! The words every channel shares: the one-line headline, the target, and the plain-text body,
//! so an alert reads the same by email, SMS and hook.

use crate::event::{AlertEvent, EventKind};

/// `[dynopilot] critical · shop: Restarted web.3` or `[dynopilot] resolved · shop: …`.
pub fn headline(e: &AlertEvent) -> String {
    let level = match e.kind {
        EventKind::Trigger => e.severity.to_string(),
        EventKind::Resolve => "resolved".to_owned(),
    };
    format!("[dynopilot] {level} · {}: {}", e.app, e.title)
}

/// `web.3`, `web`, or `the app` when the event names no process type or dyno.
pub fn target(e: &AlertEvent) -> String {
    match (&e.dyno, &e.process_type) {
        (Some(dyno), _) => dyno.clone(),
        (None, Some(pt)) => pt.clone(),
        (None, None) => "the app".to_owned(),
    }
}

/// The message as plain text: what happened, why, what cooling held back, the link.
pub fn plain_body(e: &AlertEvent) -> String {
    let mut out = format!("{}\n\n{}\n\n", e.title, e.message);
    out.push_str(&format!("App: {}\nTarget: {}\n", e.app, target(e)));
    out.push_str(&format!("Severity: {}\nTopic: {}\n", e.severity, e.topic));
    out.push_str(&format!("At: {}\n", e.at));
    if let Some(id) = &e.decision_id {
        out.push_str(&format!("Decision: {id}\n"));
    }
    if !e.reasons.is_empty() {
        out.push_str("\nReasons:\n");
        for r in &e.reasons {
            out.push_str(&format!("- {r}\n"));
        }
    }
    if let Some(d) = &e.digest {
        out.push_str(&format!("\n{}\n", d.text));
    }
    if let Some(link) = &e.link {
        out.push_str(&format!("\n{link}\n"));
    }
    out
}

/// `s` cut to at most `max` characters, ending in `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
