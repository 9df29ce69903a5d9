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
        if self.due(app, &blind, now) {
            announce(app, &blind);
            self.announced.insert(app.to_owned(), (blind.clone(), now));
        }
        blind
    }

    /// What was last announced for `app` (every change is announced, so this is the set
    /// before the current tick's).
    pub fn last(&self, app: &str) -> Vec<Blind> {
        self.announced
            .get(app)
            .map(|(blind, _)| blind.clone())
            .unwrap_or_default()
    }

    /// At start (when something is blind), on every change, and hourly while it lasts.
    fn due(&self, app: &str, blind: &[Blind], now: Timestamp) -> bool {
        match self.announced.get(app) {
            None => !blind.is_empty(),
            Some((last, at)) => {
                last.as_slice() != blind || (!blind.is_empty() && now.since(*at) >= REPEAT)
            }
        }
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
            MissingSignal::LogSourceDisconnected => {
                "the log session is being reconnected with backoff".to_owned()
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use dynopilot_core::policy::{LogSourceState, ProcessTypeConfig, ZombieConfig};

    #[test]
    fn announces_at_start_on_change_and_hourly_only() {
        let mut config = policy::Config::new("shop");
        config.process_types.insert(
            "web".into(),
            ProcessTypeConfig {
                zombie: Some(ZombieConfig::default()),
                ..ProcessTypeConfig::default()
            },
        );
        let mut observed = ObservedState {
            log_source: LogSourceState::none(),
            ..ObservedState::default()
        };
        let mut watch = BlindWatch::default();
        let t = |s: i64| Timestamp::from_secs(1_000_000 + s);
        let mut announced = Vec::new();
        let mut tick = |watch: &mut BlindWatch, observed: &ObservedState, s: i64| {
            let blind = policy::blind_policies(&config, observed);
            let due = watch.due("shop", &blind, t(s));
            watch.report("shop", &config, observed, t(s));
            if due {
                announced.push(s);
            }
        };
        for s in [0, 1, 60, 3599, 3600, 3601] {
            tick(&mut watch, &observed, s);
        }
        observed.log_source = LogSourceState::listening(t(4000));
        tick(&mut watch, &observed, 4000);
        tick(&mut watch, &observed, 9000);
        assert_eq!(
            announced,
            [0, 3600, 4000],
            "start, an hour later, and the recovery"
        );
    }
}
