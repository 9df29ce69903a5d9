//! Announces blind policies in the log: once when first seen (at start), again whenever the set
//! changes, and once an hour while it lasts. Blind is a state, not an error: a warning, never
//! an alert storm.

use std::collections::BTreeMap;
use std::time::Duration;

use dynopilot_core::Timestamp;
use dynopilot_core::policy::blind::MissingSignal;
use dynopilot_core::policy::{self, Blind, ObservedState};

/// A blind set that has not changed is announced again after this long.
pub const REPEAT: Duration = Duration::from_secs(3600);

#[derive(Debug, Default)]
pub struct BlindWatch {
    /// Per app: what was last announced, and when.
    announced: BTreeMap<String, (Vec<Blind>, Timestamp)>,
}

impl BlindWatch {
    /// Logs the blind policies of `app` when due; returns them.
    pub fn report(
        &mut self,
        app: &str,
        config: &policy::Config,
        observed: &ObservedState,
        now: Timestamp,
    ) -> Vec<Blind> {
        let blind = policy::blind_policies(config, observed);
        let due = match self.announced.get(app) {
            None => !blind.is_empty(),
            Some((last, at)) => *last != blind || (!blind.is_empty() && now.since(*at) >= REPEAT),
        };
        if due {
            announce(app, &blind);
            self.announced.insert(app.to_owned(), (blind.clone(), now));
        }
        blind
    }
}

fn announce(app: &str, blind: &[Blind]) {
    if blind.is_empty() {
        tracing::info!(app, "every policy sees its signals again");
        return;
    }
    let missing: std::collections::BTreeSet<MissingSignal> =
        blind.iter().map(|b| b.missing_signal).collect();
    for signal in missing {
        let list: Vec<String> = blind
            .iter()
            .filter(|b| b.missing_signal == signal)
            .map(|b| format!("{} of {}", b.policy, b.process_type))
            .collect();
        let hint = match signal {
            MissingSignal::LogSource => "add a drain or a log session for this app".to_owned(),
            MissingSignal::RuntimeMetrics => {
                format!("enable it: heroku labs:enable log-runtime-metrics -a {app}")
            }
        };
        tracing::warn!(
            app,
            "blind (no action taken) — {signal}: {}; {hint}",
            list.join(", ")
        );
    }
}
