//! Error rules: a selector (app, process type or dyno), a condition (codes matching `R14`,
//! `H1*` or `5xx`, at least N within a per-rule window — counting only matching codes — or a
//! metric above X for D) and actions, with a cooldown per rule and target.

use crate::time::Timestamp;

use super::config::{Condition, Config, Metric, RuleAction, RuleConfig, SAMPLE_PERIOD};
use super::decision::{Action, Reason};
use super::engine::Proposal;
use super::state::{DynoState, ErrorLog, ObservedState, PolicyState, ProcessTypeState};

/// One pattern of a codes condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodePattern {
    /// `R14`, `H12`, `L10`.
    Exact(String),
    /// `H1*`: every code starting with `H1`.
    Prefix(String),
    /// `5xx`: router responses of that status class.
    StatusClass(u8),
}

impl CodePattern {
    pub fn parse(s: &str) -> Result<Self, String> {
        let up = s.trim().to_ascii_uppercase();
        let bytes = up.as_bytes();
        let bad = || format!("`{s}` is not a code pattern like `R14`, `H1*` or `5xx`");
        if bytes.len() == 3 && bytes[0].is_ascii_digit() && &up[1..] == "XX" {
            return match bytes[0] - b'0' {
                c @ 1..=5 => Ok(CodePattern::StatusClass(c)),
                _ => Err(bad()),
            };
        }
        let letter_digits = |t: &str, min: usize| {
            let mut chars = t.chars();
            chars.next().is_some_and(|c| c.is_ascii_uppercase())
                && (min..=3).contains(&chars.clone().count())
                && chars.all(|c| c.is_ascii_digit())
        };
        match up.strip_suffix('*') {
            Some(prefix) if letter_digits(prefix, 0) => Ok(CodePattern::Prefix(prefix.to_owned())),
            None if letter_digits(&up, 1) => Ok(CodePattern::Exact(up)),
            _ => Err(bad()),
        }
    }

    pub fn is_status_class(&self) -> bool {
        matches!(self, CodePattern::StatusClass(_))
    }

    pub fn matches_code(&self, code: &str) -> bool {
        match self {
            CodePattern::Exact(c) => code.eq_ignore_ascii_case(c),
            CodePattern::Prefix(p) => {
                code.len() > p.len() && code.to_ascii_uppercase().starts_with(p.as_str())
            }
            CodePattern::StatusClass(_) => false,
        }
    }
}

/// Where a rule is evaluated: one dyno, one process type, or the whole app.
enum Target<'a> {
    Dyno(&'a str, &'a DynoState),
    Type(&'a str, &'a ProcessTypeState),
    App,
}

impl Target<'_> {
    fn label(&self, app: &str) -> String {
        match self {
            Target::Dyno(name, _) => (*name).to_owned(),
            Target::Type(name, _) => (*name).to_owned(),
            Target::App => app.to_owned(),
        }
    }
}

pub fn propose(
    config: &Config,
    observed: &ObservedState,
    state: &PolicyState,
    now: Timestamp,
) -> Vec<Proposal> {
    let mut out = Vec::new();
    for rule in &config.rules {
        let patterns: Vec<CodePattern> = match &rule.condition {
            Condition::Codes { codes, .. } => codes
                .iter()
                .filter_map(|c| CodePattern::parse(c).ok())
                .collect(),
            Condition::Metric { .. } => Vec::new(),
        };
        for target in targets(rule, observed) {
            let label = target.label(&config.app);
            let key = format!("rule:{}:{label}", rule.name);
            if state.in_cooldown(&key, now) {
                continue;
            }
            let Some(reason) = condition_met(rule, &patterns, &target, observed, &label, now)
            else {
                continue;
            };
            for action in rule
                .actions
                .iter()
                .filter_map(|a| concrete(a, rule, &target, observed, &reason))
            {
                out.push(
                    Proposal::new(action, reason.clone())
                        .with_cooldown(key.clone(), rule.cooldown.get()),
                );
            }
        }
    }
    out
}

fn selected_types<'a>(
    rule: &RuleConfig,
    observed: &'a ObservedState,
) -> Vec<(&'a str, &'a ProcessTypeState)> {
    let wanted = rule.selector.process_type.as_deref().or_else(|| {
        rule.selector
            .dyno
            .as_deref()
            .and_then(|d| crate::names::split_dyno_name(d).map(|(ty, _)| ty))
    });
    observed
        .process_types
        .iter()
        .filter(|(name, _)| wanted.is_none_or(|w| w == name.as_str()))
        .map(|(name, pt)| (name.as_str(), pt))
        .collect()
}

fn targets<'a>(rule: &RuleConfig, observed: &'a ObservedState) -> Vec<Target<'a>> {
    let types = selected_types(rule, observed);
    let per_dyno = rule.selector.dyno.is_some()
        || rule
            .actions
            .iter()
            .any(|a| matches!(a, RuleAction::RestartDyno))
        || matches!(&rule.condition, Condition::Metric { metric, .. } if metric.is_per_dyno());
    if per_dyno {
        return types
            .into_iter()
            .flat_map(|(_, pt)| pt.dynos.iter())
            .filter(|(name, _)| {
                rule.selector
                    .dyno
                    .as_deref()
                    .is_none_or(|d| d == name.as_str())
            })
            .map(|(name, d)| Target::Dyno(name, d))
            .collect();
    }
    let per_type_metric = matches!(&rule.condition, Condition::Metric { .. });
    if rule.selector.process_type.is_some() || per_type_metric {
        types
            .into_iter()
            .map(|(name, pt)| Target::Type(name, pt))
            .collect()
    } else {
        vec![Target::App]
    }
}

fn condition_met(
    rule: &RuleConfig,
    patterns: &[CodePattern],
    target: &Target<'_>,
    observed: &ObservedState,
    label: &str,
    now: Timestamp,
) -> Option<Reason> {
    match &rule.condition {
        Condition::Codes {
            codes,
            at_least,
            window,
        } => {
            let since = now.minus(window.get());
            let count = match target {
                Target::Dyno(_, d) => count_dyno(d, patterns, since, now),
                Target::Type(_, pt) => count_type(pt, patterns, since, now),
                Target::App => observed
                    .process_types
                    .values()
                    .map(|pt| count_type(pt, patterns, since, now))
                    .sum(),
            };
            let count = u32::try_from(count).unwrap_or(u32::MAX);
            (count >= *at_least).then(|| Reason::RuleCodes {
                rule: rule.name.clone(),
                target: label.to_owned(),
                codes: codes.clone(),
                count,
                at_least: *at_least,
                window: *window,
            })
        }
        Condition::Metric {
            metric,
            above,
            for_,
        } => {
            let value = sustained(*metric, *above, target, now.minus(for_.get()), now)?;
            Some(Reason::RuleMetric {
                rule: rule.name.clone(),
                target: label.to_owned(),
                metric: *metric,
                value,
                above: *above,
                for_: *for_,
            })
        }
    }
}

fn in_window(at: Timestamp, since: Timestamp, now: Timestamp) -> bool {
    at > since && at <= now
}

/// Only errors whose code matches a pattern of this rule count (dyno-monitor counted all).
/// Counted from the per-code buckets, not the recent list, so any `at_least` can be reached.
fn count_dyno(d: &DynoState, patterns: &[CodePattern], since: Timestamp, now: Timestamp) -> u64 {
    count_matching(&d.errors, patterns, since, now)
}

fn count_matching(
    errors: &ErrorLog,
    patterns: &[CodePattern],
    since: Timestamp,
    now: Timestamp,
) -> u64 {
    errors.count(since, now, |code| {
        patterns.iter().any(|p| p.matches_code(code))
    })
}

fn count_type(
    pt: &ProcessTypeState,
    patterns: &[CodePattern],
    since: Timestamp,
    now: Timestamp,
) -> u64 {
    let dynos: u64 = pt
        .dynos
        .values()
        .map(|d| count_dyno(d, patterns, since, now))
        .sum();
    let loose = count_matching(&pt.errors, patterns, since, now);
    let statuses: u64 = patterns
        .iter()
        .filter_map(|p| match p {
            CodePattern::StatusClass(c) => Some(*c),
            _ => None,
        })
        .map(|class| {
            pt.router
                .iter()
                .filter(|w| in_window(w.end, since, now))
                .map(|w| w.status_class(class))
                .sum::<u64>()
        })
        .sum();
    dynos + loose + statuses
}

/// The newest value if every reading in `(since, now]` is above `above` and the readings reach
/// back to the start of the span (within one sample period); `None` otherwise.
fn sustained(
    metric: Metric,
    above: f64,
    target: &Target<'_>,
    since: Timestamp,
    now: Timestamp,
) -> Option<f64> {
    let readings: Vec<(Timestamp, f64)> = match (metric, target) {
        (Metric::MemoryPercent, Target::Dyno(_, d)) => d
            .current_memory()
            .filter_map(|s| {
                s.quota_mb
                    .filter(|q| *q > 0.0)
                    .map(|q| (s.at, (s.rss_mb + s.swap_mb) / q * 100.0))
            })
            .collect(),
        (Metric::LoadAvg1m, Target::Dyno(_, d)) => {
            d.load.iter().map(|s| (s.at, s.load_avg_1m)).collect()
        }
        (Metric::ServiceP95Ms, Target::Type(_, pt)) => pt
            .router
            .iter()
            .filter_map(|w| w.service_ms.quantile(0.95).map(|v| (w.start, v)))
            .collect(),
        (Metric::QueueTimeP95Ms, Target::Type(_, pt)) => pt
            .router
            .iter()
            .filter_map(|w| w.queue_ms.quantile(0.95).map(|v| (w.start, v)))
            .collect(),
        (Metric::QueueDepth, Target::Type(_, pt)) => {
            pt.queue.iter().map(|q| (q.at, q.depth as f64)).collect()
        }
        _ => return None,
    };
    let span: Vec<&(Timestamp, f64)> = readings
        .iter()
        .filter(|(at, _)| *at >= since.minus(SAMPLE_PERIOD.get()) && *at <= now)
        .collect();
    let reaches_back = span
        .first()
        .is_some_and(|(at, _)| *at <= since.plus(SAMPLE_PERIOD.get()));
    let all_above = span.iter().all(|(_, v)| *v > above);
    (reaches_back && all_above)
        .then(|| span.last().map(|(_, v)| *v))
        .flatten()
}

fn concrete(
    action: &RuleAction,
    rule: &RuleConfig,
    target: &Target<'_>,
    observed: &ObservedState,
    reason: &Reason,
) -> Option<Action> {
    let target_type = match target {
        Target::Dyno(name, _) => crate::names::split_dyno_name(name).map(|(ty, _)| ty),
        Target::Type(name, _) => Some(*name),
        Target::App => rule.selector.process_type.as_deref(),
    };
    Some(match action {
        RuleAction::Alert { severity } => Action::Alert {
            topic: format!("rule:{}:{}", rule.name, target.label("app")),
            severity: *severity,
            message: reason.to_string(),
        },
        RuleAction::RestartDyno => match target {
            Target::Dyno(name, d) => Action::RestartDyno {
                dyno: (*name).to_owned(),
                instance_id: d.instance_id.clone(),
            },
            _ => return None,
        },
        RuleAction::RestartProcessType => Action::RestartProcessType {
            process_type: target_type?.to_owned(),
        },
        RuleAction::RestartApp => Action::RestartApp,
        RuleAction::Scale { by } => {
            let ty = target_type?;
            let from = observed.process_types.get(ty)?.formation.as_ref()?.quantity;
            let to = u32::try_from((i64::from(from) + i64::from(*by)).max(0)).unwrap_or(u32::MAX);
            Action::ScaleFormation {
                process_type: ty.to_owned(),
                from,
                to,
            }
        }
        RuleAction::Webhook { name } => Action::RunHook { name: name.clone() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_parse_and_match_only_their_codes() {
        let h1 = CodePattern::parse("H1*").unwrap();
        assert!(h1.matches_code("H12") && h1.matches_code("H10"));
        assert!(!h1.matches_code("H20") && !h1.matches_code("R14") && !h1.matches_code("H1"));
        let r14 = CodePattern::parse("r14").unwrap();
        assert!(r14.matches_code("R14") && !r14.matches_code("R15"));
        assert_eq!(
            CodePattern::parse("5xx").unwrap(),
            CodePattern::StatusClass(5)
        );
        for bad in ["", "*", "5x", "9xx", "HH1", "H1234", "R 14"] {
            assert!(CodePattern::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
