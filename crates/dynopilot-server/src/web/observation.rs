//! What dynopilot can and cannot see of an app: its log source, `log-runtime-metrics`, blind
//! policies and lines that could drive no action (stale, future, unknown dyno). Shown on the app
//! page, in the JSON app view, and on `/metrics`.

use std::collections::BTreeMap;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::{self, Availability, ObservedState};
use serde::Serialize;

use super::WebState;
use super::api::rfc3339_opt;
use super::metrics::Out;
use crate::fleet::NotActionable;

#[derive(Clone, Debug, Default, Serialize)]
pub struct ObservationView {
    /// `listening`, `disconnected` (a log session being reconnected) or `none`.
    pub log_source: &'static str,
    #[serde(serialize_with = "rfc3339_opt")]
    pub listening_since: Option<Timestamp>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub last_reconnect: Option<Timestamp>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub first_line_at: Option<Timestamp>,
    /// Since when the log source has been disconnected (`null` while it works).
    #[serde(serialize_with = "rfc3339_opt")]
    pub disconnected_since: Option<Timestamp>,
    /// `on`, `off` or `unknown`.
    pub runtime_metrics: &'static str,
    pub blind: Vec<BlindView>,
    /// Lines that updated history only, by reason (`stale`, `future`, `unknown_dyno`).
    pub lines_not_actionable: BTreeMap<&'static str, u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct BlindView {
    pub process_type: String,
    pub policy: String,
    /// `log_source`, `log_source_disconnected` or `runtime_metrics`.
    pub missing_signal: &'static str,
    /// The same, in words.
    pub why: String,
}

/// Everything but the line counts, which live beside the observed state.
pub fn view(config: &policy::Config, observed: &ObservedState) -> ObservationView {
    let source = &observed.log_source;
    ObservationView {
        log_source: match (source.listening_since, source.disconnected_since) {
            (None, _) => "none",
            (Some(_), Some(_)) => "disconnected",
            (Some(_), None) => "listening",
        },
        listening_since: source.listening_since,
        last_reconnect: source.last_reconnect,
        first_line_at: source.first_line_at,
        disconnected_since: source.disconnected_since,
        runtime_metrics: match source.runtime_metrics {
            Availability::Known(true) => "on",
            Availability::Known(false) => "off",
            Availability::Unknown => "unknown",
        },
        blind: policy::blind_policies(config, observed)
            .into_iter()
            .map(|b| BlindView {
                why: b.missing_signal.to_string(),
                missing_signal: b.missing_signal.key(),
                process_type: b.process_type,
                policy: b.policy,
            })
            .collect(),
        lines_not_actionable: BTreeMap::new(),
    }
}

/// Every reason, zero included, so a dashboard row and a Prometheus series always exist.
pub fn line_counts(counts: &BTreeMap<NotActionable, u64>) -> BTreeMap<&'static str, u64> {
    NotActionable::ALL
        .iter()
        .map(|r| (r.key(), counts.get(r).copied().unwrap_or(0)))
        .collect()
}

/// One dashboard line per reason with lines, in words.
pub fn describe_counts(counts: &BTreeMap<&'static str, u64>) -> Vec<String> {
    NotActionable::ALL
        .iter()
        .filter_map(|r| {
            let n = counts.get(r.key()).copied().unwrap_or(0);
            (n > 0).then(|| format!("{n} lines {} — kept as history, no action", r.describe()))
        })
        .collect()
}

/// `dynopilot_lines_not_actionable_total` and `dynopilot_policy_blind`.
pub fn render_metrics(out: &mut Out, state: &WebState) {
    let per_app: Vec<(String, BTreeMap<&'static str, u64>, ObservationView)> = {
        let Ok(fleet) = state.ingest.fleet.lock() else {
            return;
        };
        state
            .apps
            .snapshot()
            .iter()
            .filter_map(|(app, config)| {
                let a = fleet.app(app)?;
                Some((
                    app.clone(),
                    line_counts(a.not_actionable()),
                    view(config, &a.observed),
                ))
            })
            .collect()
    };
    out.family(
        "dynopilot_lines_not_actionable_total",
        "counter",
        "Log lines that updated history but could drive no action, by reason (stale, future, unknown_dyno).",
    );
    for (app, counts, _) in &per_app {
        for (reason, n) in counts {
            out.sample(
                "dynopilot_lines_not_actionable_total",
                &[("app", app), ("reason", reason)],
                *n as f64,
            );
        }
    }
    out.family(
        "dynopilot_policy_blind",
        "gauge",
        "1 for each policy that cannot see the signal it needs (and so takes no action).",
    );
    for (app, _, view) in &per_app {
        for b in &view.blind {
            out.sample(
                "dynopilot_policy_blind",
                &[
                    ("app", app),
                    ("process_type", &b.process_type),
                    ("policy", &b.policy),
                    ("missing_signal", b.missing_signal),
                ],
                1.0,
            );
        }
    }
}
