//! Blind policies: which policies of an app cannot see the signal they act on (no log source,
//! or `log-runtime-metrics` off). A blind policy is a state, not an error: it is reported and
//! takes no action, because missing data must never read as "silent" or "idle".

use std::fmt;

use crate::scaling::Signal;

use super::config::{Config, ProcessTypeConfig};
use super::rule_config::{Condition, RuleConfig};
use super::state::ObservedState;

/// A signal some policies need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MissingSignal {
    /// The app has no log source: no router lines, no runtime metrics, no app metrics.
    LogSource,
    /// `log-runtime-metrics` is off: no memory or load samples.
    RuntimeMetrics,
    /// The app's log source broke and is being reconnected: no line can arrive meanwhile.
    LogSourceDisconnected,
}

impl MissingSignal {
    /// A short stable key for `/metrics` labels and the JSON API.
    pub fn key(self) -> &'static str {
        match self {
            MissingSignal::LogSource => "log_source",
            MissingSignal::RuntimeMetrics => "runtime_metrics",
            MissingSignal::LogSourceDisconnected => "log_source_disconnected",
        }
    }
}

impl fmt::Display for MissingSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MissingSignal::LogSource => "no log source (drain or log session)",
            MissingSignal::RuntimeMetrics => "log-runtime-metrics is off",
            MissingSignal::LogSourceDisconnected => "the log source is disconnected (reconnecting)",
        })
    }
}

/// One policy of one process type (or `*`, a rule over the whole app) that cannot see.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Blind {
    pub process_type: String,
    /// `memory guard`, `zombie`, `autoscale`, `vertical` or `rule <name>`.
    pub policy: String,
    pub missing_signal: MissingSignal,
}

impl fmt::Display for Blind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} is blind: {}",
            self.policy, self.process_type, self.missing_signal
        )
    }
}

/// Signals of a process type that arrive without a log source.
#[derive(Clone, Copy)]
struct Heard {
    /// Its job queue: dynopilot's own reads of the backend, or an agent's reports.
    queue: bool,
    /// Its request queue time: an agent's reports.
    queue_time: bool,
}

/// What one policy needs: log lines at all, and runtime metrics among them.
#[derive(Clone, Copy)]
struct Needs {
    runtime_metrics: bool,
}

/// Every configured policy that cannot see the signal it needs, in a stable order.
pub fn blind_policies(config: &Config, observed: &ObservedState) -> Vec<Blind> {
    let has_source = observed.log_source.listening_since.is_some();
    let connected = observed.log_source.disconnected_since.is_none();
    let metrics = observed.log_source.runtime_metrics_possible();
    let missing = |needs: Needs| {
        if !has_source {
            Some(MissingSignal::LogSource)
        } else if !connected {
            Some(MissingSignal::LogSourceDisconnected)
        } else if needs.runtime_metrics && !metrics {
            Some(MissingSignal::RuntimeMetrics)
        } else {
            None
        }
    };
    let mut out = Vec::new();
    for (name, pt) in &config.process_types {
        let heard = Heard {
            queue: observed.queue_readers.contains(name),
            queue_time: observed.agent_queue_time.contains(name),
        };
        for (policy, needs) in process_type_needs(pt, heard) {
            if let Some(missing_signal) = missing(needs) {
                out.push(Blind {
                    process_type: name.clone(),
                    policy: policy.to_owned(),
                    missing_signal,
                });
            }
        }
    }
    for rule in &config.rules {
        if let Some(missing_signal) = missing(rule_needs(rule)) {
            out.push(Blind {
                process_type: rule_scope(rule),
                policy: format!("rule {}", rule.name),
                missing_signal,
            });
        }
    }
    out.sort();
    out
}

/// The policies of a process type that read log lines, and what they need among them. The
/// schedule (clock only) and the restart counter (acts only on events the app sends) are
/// never blind.
fn process_type_needs(pt: &ProcessTypeConfig, heard: Heard) -> Vec<(&'static str, Needs)> {
    let mut out = Vec::new();
    let runtime = Needs {
        runtime_metrics: true,
    };
    if pt.memory_guard.is_some() {
        out.push(("memory guard", runtime));
    }
    if pt.zombie.is_some() {
        // Silence is the absence of runtime metrics: without them every dyno looks silent.
        out.push(("zombie", runtime));
    }
    if let Some(cfg) = &pt.autoscale {
        match cfg.signal() {
            // Probes are dynopilot's own HTTP requests, not log lines.
            Some(Signal::ProbeLatency) => {}
            // The queue algorithm (no router signal) fed by dynopilot's own queue reads.
            None if heard.queue => {}
            // Request queue time reported by an agent in the app, not read from router lines.
            Some(Signal::QueueTimeP95) if heard.queue_time => {}
            signal => out.push((
                "autoscale",
                Needs {
                    runtime_metrics: signal == Some(Signal::LoadPerDyno),
                },
            )),
        }
    }
    if pt.vertical.is_some() {
        out.push(("vertical", runtime));
    }
    out
}

fn rule_needs(rule: &RuleConfig) -> Needs {
    Needs {
        runtime_metrics: matches!(&rule.condition, Condition::Metric { metric, .. } if metric.is_per_dyno()),
    }
}

fn rule_scope(rule: &RuleConfig) -> String {
    let from_dyno = rule
        .selector
        .dyno
        .as_deref()
        .and_then(crate::names::split_dyno_name)
        .map(|(ty, _)| ty.to_owned());
    rule.selector
        .process_type
        .clone()
        .or(from_dyno)
        .unwrap_or_else(|| "*".to_owned())
}

/// `config` without its blind policies: what the engine lets propose.
pub fn without_blind(config: &Config, blind: &[Blind]) -> Config {
    let mut out = config.clone();
    for b in blind {
        if let Some(rule) = b.policy.strip_prefix("rule ") {
            out.rules.retain(|r| r.name != rule);
            continue;
        }
        let Some(pt) = out.process_types.get_mut(&b.process_type) else {
            continue;
        };
        match b.policy.as_str() {
            "memory guard" => pt.memory_guard = None,
            "zombie" => pt.zombie = None,
            "autoscale" => pt.autoscale = None,
            "vertical" => pt.vertical = None,
            _ => {}
        }
    }
    out
}
