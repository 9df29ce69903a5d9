//! `Config::validate`: every semantic problem of a policy configuration at once, each with its
//! dotted key path (min > max, unknown sizes, windows shorter than the sample period,
//! overlapping schedule entries, unknown time zones, zero/negative/sub-millisecond durations).

use crate::size::DynoSize;
use crate::validate::{ConfigIssue, Validation, key};

use super::config::{
    Condition, Config, MemoryThreshold, ProcessTypeConfig, RuleAction, RuleConfig, SAMPLE_PERIOD,
};
use super::duration::ConfigDuration;
use super::rules::CodePattern;
use super::schedule::{LocalSpan, parse_entry_span};

impl Config {
    /// Checks the whole config; `prefix` is the key path of this app (e.g. `apps.shop`).
    pub fn validate(&self, prefix: &str, v: &mut Validation) {
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            v.push(
                key(prefix, "time_zone"),
                format!("`{}` is not a known IANA time zone", self.time_zone),
            );
        }
        let g = &self.guardrails;
        let gk = key(prefix, "guardrails");
        positive(
            v,
            &key(&gk, "dyno_restart_cooldown"),
            g.dyno_restart_cooldown,
        );
        positive(v, &key(&gk, "restart_storm_gap"), g.restart_storm_gap);
        non_negative(v, &key(&gk, "deploy_freeze"), g.deploy_freeze);
        non_negative(v, &key(&gk, "manual_override"), g.manual_override);
        if let Some(pct) = g.gates.postgres_connections_pct {
            v.check(
                pct.is_finite() && pct > 0.0 && pct <= 100.0,
                key(&key(&gk, "gates"), "postgres_connections_pct"),
                format!("must be a percentage in (0, 100] (got {pct})"),
            );
        }
        if let Some(budget) = g.cost_budget_per_hour {
            v.check(
                budget.is_finite() && budget > 0.0,
                key(&gk, "cost_budget_per_hour"),
                format!("must be a positive number of dollars (got {budget})"),
            );
        }
        positive(v, &key(prefix, "notify.cooldown"), self.notify.cooldown);
        for (name, pt) in &self.process_types {
            let pk = key(&key(prefix, "process_types"), name);
            if crate::names::ProcessType::parse(name).is_err() {
                v.push(pk.clone(), format!("`{name}` is not a valid process type"));
            }
            check_process_type(pt, &pk, v);
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let rk = format!("{}[{i}]", key(prefix, "rules"));
            check_rule(rule, &rk, v);
            self.check_rule_bounds(rule, &rk, v);
        }
    }

    /// A rule that scales needs the process type's explicit `max` (or a schedule) too: there
    /// is no fallback to Heroku's own limit.
    fn check_rule_bounds(&self, rule: &RuleConfig, rk: &str, v: &mut Validation) {
        let scales = rule
            .actions
            .iter()
            .position(|a| matches!(a, RuleAction::Scale { by } if *by > 0));
        let ty = rule.selector.process_type.as_deref().or_else(|| {
            let dyno = rule.selector.dyno.as_deref()?;
            crate::names::split_dyno_name(dyno).map(|(ty, _)| ty)
        });
        let (Some(i), Some(ty)) = (scales, ty) else {
            return;
        };
        let bounded = self
            .process_types
            .get(ty)
            .is_some_and(|pt| pt.max.is_some() || !pt.schedule.is_empty());
        if !bounded {
            v.push(
                format!("{}[{i}]", key(rk, "actions")),
                format!("scale needs an explicit max for {ty}: set process_types.{ty}.max"),
            );
        }
    }

    /// Convenience: validates with an empty prefix and returns every issue.
    pub fn check(&self) -> Result<(), Vec<ConfigIssue>> {
        let mut v = Validation::new();
        self.validate("", &mut v);
        v.finish()
    }
}

fn positive(v: &mut Validation, k: &str, d: ConfigDuration) {
    if let Some(problem) = d.positive_problem() {
        v.push(k, problem);
    }
}

fn non_negative(v: &mut Validation, k: &str, d: ConfigDuration) {
    if d.as_millis() != 0 || d.positive_problem().is_some_and(|p| !p.contains("greater")) {
        positive(v, k, d);
    }
}

fn at_least_sample_period(v: &mut Validation, k: &str, d: ConfigDuration) {
    if d.positive_problem().is_some() {
        positive(v, k, d);
    } else if d < SAMPLE_PERIOD {
        v.push(
            k,
            format!("{d} is shorter than the {SAMPLE_PERIOD} runtime-metrics sample period"),
        );
    }
}

fn check_process_type(pt: &ProcessTypeConfig, pk: &str, v: &mut Validation) {
    if let (Some(min), Some(max)) = (pt.min, pt.max)
        && min > max
    {
        v.push(
            key(pk, "min"),
            format!("min {min} is greater than max {max}"),
        );
    }
    // Scaling needs an upper bound the user chose; Heroku's per-size limit (up to 100 dynos)
    // is not one anybody means to pay for.
    if pt.autoscale.is_some() && pt.max.is_none() {
        v.push(
            key(pk, "max"),
            "required when autoscale is set: the most dynos dynopilot may run (no fallback to Heroku's limit)",
        );
    }
    if let Some(size) = &pt.max_size
        && DynoSize::lookup(size).is_err()
    {
        v.push(key(pk, "max_size"), format!("unknown dyno size `{size}`"));
    }
    check_schedule(pt, pk, v);
    if let Some(m) = &pt.memory_guard {
        let mk = key(pk, "memory_guard");
        match m.threshold {
            MemoryThreshold::Mb(mb) if !(mb.is_finite() && mb > 0.0) => {
                v.push(key(&mk, "threshold"), format!("{mb}MB must be positive"));
            }
            MemoryThreshold::PercentOfQuota(p) if !(p.is_finite() && p > 0.0 && p <= 200.0) => {
                v.push(key(&mk, "threshold"), format!("{p}% must be in (0, 200]"));
            }
            _ => {}
        }
        v.check(m.samples >= 1, key(&mk, "samples"), "must be at least 1");
        at_least_sample_period(v, &key(&mk, "error_window"), m.error_window);
        positive(v, &key(&mk, "cooldown"), m.cooldown);
    }
    if let Some(z) = &pt.zombie {
        let zk = key(pk, "zombie");
        at_least_sample_period(v, &key(&zk, "no_metrics_for"), z.no_metrics_for);
        positive(v, &key(&zk, "boot_limit"), z.boot_limit);
        positive(v, &key(&zk, "cooldown"), z.cooldown);
    }
    if let Some(c) = &pt.restart_counter {
        let ck = key(pk, "restart_counter");
        v.check(
            c.threshold >= 1,
            key(&ck, "threshold"),
            "must be at least 1",
        );
        positive(v, &key(&ck, "ttl"), c.ttl);
        positive(v, &key(&ck, "min_between_restarts"), c.min_between_restarts);
    }
    if let Some(a) = &pt.autoscale {
        a.validate(&key(pk, "autoscale"), v);
    }
    if let Some(vc) = &pt.vertical {
        vc.validate(&key(pk, "vertical"), v);
    }
    if let Some(e) = &pt.escalation {
        let ek = key(pk, "escalation");
        v.check(e.restarts >= 1, key(&ek, "restarts"), "must be at least 1");
        positive(v, &key(&ek, "window"), e.window);
    }
}

fn check_schedule(pt: &ProcessTypeConfig, pk: &str, v: &mut Validation) {
    let mut spans: Vec<(usize, LocalSpan)> = Vec::new();
    for (i, entry) in pt.schedule.iter().enumerate() {
        let ek = format!("{}[{i}]", key(pk, "schedule"));
        if entry.min > entry.max {
            v.push(
                key(&ek, "min"),
                format!("min {} is greater than max {}", entry.min, entry.max),
            );
        }
        if entry.days.is_empty() {
            v.push(key(&ek, "days"), "names no day, so the entry never applies");
        }
        match parse_entry_span(entry) {
            Ok(span) => spans.push((i, span)),
            Err(message) => v.push(ek, message),
        }
    }
    for (a, (i, span_a)) in spans.iter().enumerate() {
        for (j, span_b) in spans.iter().skip(a + 1) {
            if let Some(day) = span_a.overlap_day(span_b) {
                v.push(
                    format!("{}[{j}]", key(pk, "schedule")),
                    format!("overlaps schedule[{i}] on {day:?}"),
                );
            }
        }
    }
}

fn check_rule(rule: &RuleConfig, rk: &str, v: &mut Validation) {
    v.check(
        !rule.name.trim().is_empty(),
        key(rk, "name"),
        "must not be empty",
    );
    v.check(
        !rule.actions.is_empty(),
        key(rk, "actions"),
        "a rule needs at least one action",
    );
    positive(v, &key(rk, "cooldown"), rule.cooldown);
    if let Some(pt) = &rule.selector.process_type
        && crate::names::ProcessType::parse(pt).is_err()
    {
        v.push(
            key(rk, "selector.process_type"),
            format!("`{pt}` is not a valid process type"),
        );
    }
    if let Some(dyno) = &rule.selector.dyno
        && crate::names::DynoName::parse(dyno).is_err()
    {
        v.push(
            key(rk, "selector.dyno"),
            format!("`{dyno}` is not a dyno name like `web.1`"),
        );
    }
    let restarts_dyno = rule
        .actions
        .iter()
        .any(|a| matches!(a, RuleAction::RestartDyno));
    match &rule.condition {
        Condition::Codes {
            codes,
            at_least,
            window,
        } => {
            let ck = key(rk, "condition");
            v.check(!codes.is_empty(), key(&ck, "codes"), "lists no code");
            for (i, code) in codes.iter().enumerate() {
                match CodePattern::parse(code) {
                    Err(message) => v.push(format!("{}[{i}]", key(&ck, "codes")), message),
                    Ok(p) if p.is_status_class() && restarts_dyno => v.push(
                        format!("{}[{i}]", key(&ck, "codes")),
                        format!("`{code}` is counted per process type, so it cannot pick a dyno to restart"),
                    ),
                    Ok(p) if !super::error_codes::is_known(&p) => v.push(
                        format!("{}[{i}]", key(&ck, "codes")),
                        super::error_codes::unknown_code_message(code),
                    ),
                    Ok(_) => {}
                }
            }
            v.check(*at_least >= 1, key(&ck, "at_least"), "must be at least 1");
            at_least_sample_period(v, &key(&ck, "window"), *window);
            v.check(
                window.get() <= super::error_log::ERROR_COUNT_HORIZON,
                key(&ck, "window"),
                format!("{window} is longer than 24h, the longest span errors are counted over"),
            );
        }
        Condition::Metric {
            metric,
            above,
            for_,
        } => {
            let ck = key(rk, "condition");
            v.check(
                above.is_finite(),
                key(&ck, "above"),
                "must be a finite number",
            );
            at_least_sample_period(v, &key(&ck, "for"), *for_);
            if restarts_dyno && !metric.is_per_dyno() {
                v.push(
                    key(&ck, "metric"),
                    format!(
                        "{metric} is measured per process type, so it cannot pick a dyno to restart"
                    ),
                );
            }
        }
    }
    for (i, action) in rule.actions.iter().enumerate() {
        let ak = format!("{}[{i}]", key(rk, "actions"));
        match action {
            RuleAction::Scale { by } => {
                v.check(*by != 0, key(&ak, "by"), "scaling by 0 does nothing");
                v.check(
                    rule.selector.process_type.is_some() || rule.selector.dyno.is_some(),
                    ak.clone(),
                    "scale needs a selector naming a process type or dyno",
                );
            }
            RuleAction::Webhook { name } => {
                v.check(
                    !name.trim().is_empty(),
                    key(&ak, "name"),
                    "must not be empty",
                );
            }
            _ => {}
        }
    }
}
