//! The `queue` algorithm for workers: dynos from queue depth (queued + running jobs per dyno)
//! and/or from the age of the oldest job against a latency target, whichever asks for more;
//! scale to zero only after the queue was idle for `scale_to_zero_after`; never scale in while
//! jobs are running (a pending-only count reads 0 exactly when every worker is busy).

use super::config::{QueueConfig, show};
use super::horizontal::{HorizontalInput, Proposal, QueueObservation, ceil_count};
use super::target::within_tolerance;
use super::{before, show_value};
use crate::Timestamp;

pub(crate) fn propose(
    config: &QueueConfig,
    input: &HorizontalInput<'_>,
    idle_since: &mut Option<Timestamp>,
) -> Proposal {
    let fresh = input
        .queue
        .filter(|q| q.at <= input.now && q.at >= before(input.now, config.max_sample_age));
    let Some(q) = fresh else {
        return Proposal::hold(
            input.current,
            format!(
                "no queue measurement in the last {}: holding {}",
                show(config.max_sample_age),
                input.current
            ),
        );
    };
    let idle = q.depth == 0 && q.busy == 0;
    *idle_since = if idle {
        Some(idle_since.unwrap_or(q.at))
    } else {
        None
    };
    let mut parts = Vec::new();
    let mut desired = 0;
    if let Some(per) = config.jobs_per_dyno {
        let (d, text) = by_depth(config, input, &q, per);
        desired = desired.max(d);
        parts.push(text);
    }
    if let Some(target) = config.latency_target {
        let (d, text) = by_latency(config, input, &q, target.as_millis_f64());
        desired = desired.max(d);
        parts.push(text);
    }
    let mut arithmetic = parts.join("; ");
    if idle {
        desired = idle_floor(config, input, *idle_since, &mut arithmetic);
    } else if q.busy > 0 && desired < input.current {
        arithmetic.push_str(&format!(
            "; {} job(s) running: no scale-in while jobs are busy, keep {}",
            q.busy, input.current
        ));
        desired = input.current;
    }
    Proposal {
        desired,
        value: Some((q.depth + q.busy) as f64),
        target: config.jobs_per_dyno,
        arithmetic,
        informed: true,
    }
}

fn by_depth(
    config: &QueueConfig,
    input: &HorizontalInput<'_>,
    q: &QueueObservation,
    per: f64,
) -> (u32, String) {
    let jobs = q.depth.saturating_add(q.busy);
    let n = input.up;
    let per_shown = show_value(per, "");
    if n > 0 {
        let ratio = jobs as f64 / (per * f64::from(n));
        if within_tolerance(ratio, config.tolerance) {
            let text = format!(
                "{jobs} jobs / ({n} × {per_shown}) within tolerance {}: keep {}",
                config.tolerance, input.current
            );
            return (input.current, text);
        }
    }
    let d = ceil_count(jobs as f64 / per);
    let text = format!(
        "desired = ceil(({} queued + {} running) / {per_shown} per dyno) = {d}",
        q.depth, q.busy
    );
    (d, text)
}

fn by_latency(
    config: &QueueConfig,
    input: &HorizontalInput<'_>,
    q: &QueueObservation,
    target: f64,
) -> (u32, String) {
    let (n, value) = (input.up, q.latency_ms.max(0.0));
    let (v, t) = (show_value(value, "ms"), show_value(target, "ms"));
    let ratio = value / target;
    if n == 0 {
        let d = u32::from(q.depth > 0 || q.busy > 0 || ratio > 1.0);
        return (d, format!("latency {v} with no dyno up: desired = {d}"));
    }
    if within_tolerance(ratio, config.tolerance) {
        let text = format!("latency {v} / {t} within tolerance: keep {}", input.current);
        return (input.current, text);
    }
    let d = ceil_count(f64::from(n) * ratio);
    (d, format!("desired = ceil({n} × {v} / {t}) = {d}"))
}

/// An idle queue keeps one dyno until it has been idle for `scale_to_zero_after`.
fn idle_floor(
    config: &QueueConfig,
    input: &HorizontalInput<'_>,
    idle_since: Option<Timestamp>,
    arithmetic: &mut String,
) -> u32 {
    let idle_for = idle_since.map(|s| input.now.since(s));
    let idle_text = idle_for.map_or_else(String::new, |d| {
        show(jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX))
    });
    match (config.scale_to_zero_after, idle_for) {
        (Some(after), Some(idle))
            if jiff::SignedDuration::try_from(idle).is_ok_and(|i| i >= after) =>
        {
            arithmetic.push_str(&format!(
                "; idle for {idle_text} ≥ {}: scale to zero",
                show(after)
            ));
            0
        }
        (Some(after), _) => {
            let keep = input.current.min(1);
            arithmetic.push_str(&format!(
                "; idle for {idle_text} < {}: keep {keep}",
                show(after)
            ));
            keep
        }
        (None, _) => {
            let keep = input.current.min(1);
            arithmetic.push_str(&format!("; idle, scale to zero disabled: keep {keep}"));
            keep
        }
    }
}
