//! Validation checks shared by the scaling configurations, and how durations are shown in
//! messages and written back out (`5m`, `500ms`).

use jiff::SignedDuration;

use super::Signal;
use super::config::SAMPLE_PERIOD;
use crate::validate::{Validation, key};

const ONE_MS: SignedDuration = SignedDuration::from_millis(1);

pub(crate) fn check_target(
    prefix: &str,
    name: &str,
    signal: Signal,
    target: f64,
    v: &mut Validation,
) {
    let at = key(prefix, name);
    if !(target.is_finite() && target > 0.0) {
        v.push(at, format!("{name} {target} must be a positive number"));
    } else if signal.is_latency() && target < 1.0 {
        v.push(
            at,
            format!("{name} {target} is in milliseconds; below 1 ms it rounds to zero"),
        );
    }
}

pub(crate) fn check_tolerance(prefix: &str, tolerance: f64, v: &mut Validation) {
    v.check(
        (0.0..1.0).contains(&tolerance),
        key(prefix, "tolerance"),
        format!("tolerance {tolerance} must be within [0, 1)"),
    );
}

pub(crate) fn check_latency_signal(prefix: &str, signal: Signal, v: &mut Validation) {
    v.check(
        signal.is_latency(),
        key(prefix, "signal"),
        format!(
            "{signal} is not a response time; use queue_time_p95, service_p95 or probe_latency"
        ),
    );
}

/// A response-time threshold: anything below 1 ms would become zero in whole milliseconds
/// (the heartbeat autoscaler turned 500 ms into a 0 s timeout and scaled to max).
pub(crate) fn check_ms(prefix: &str, name: &str, d: SignedDuration, v: &mut Validation) {
    v.check(
        d >= ONE_MS,
        key(prefix, name),
        format!("{name} {} must be at least 1ms", show(d)),
    );
}

pub(crate) fn check_window(prefix: &str, name: &str, d: SignedDuration, v: &mut Validation) {
    if d.is_negative() {
        v.push(
            key(prefix, name),
            format!("{name} {} must not be negative", show(d)),
        );
    } else if !d.is_zero() && d < SAMPLE_PERIOD {
        v.push(
            key(prefix, name),
            format!(
                "{name} {} is shorter than the {} sample period (use 0 to disable)",
                show(d),
                show(SAMPLE_PERIOD)
            ),
        );
    }
}

pub(crate) fn check_non_negative(prefix: &str, name: &str, d: SignedDuration, v: &mut Validation) {
    v.check(
        !d.is_negative(),
        key(prefix, name),
        format!("{name} {} must not be negative", show(d)),
    );
}

pub(crate) fn check_cooldowns(
    prefix: &str,
    up: SignedDuration,
    down: SignedDuration,
    v: &mut Validation,
) {
    check_non_negative(prefix, "up_cooldown", up, v);
    check_non_negative(prefix, "down_cooldown", down, v);
}

pub(crate) fn check_sample_age(prefix: &str, d: SignedDuration, v: &mut Validation) {
    v.check(
        d >= SAMPLE_PERIOD,
        key(prefix, "max_sample_age"),
        format!(
            "max_sample_age {} is shorter than the {} sample period",
            show(d),
            show(SAMPLE_PERIOD)
        ),
    );
}

pub(crate) fn check_step(prefix: &str, name: &str, step: Option<u32>, v: &mut Validation) {
    v.check(
        step != Some(0),
        key(prefix, name),
        format!("{name} 0 would never move; omit it for no limit"),
    );
}

pub(crate) fn check_positive(prefix: &str, name: &str, n: u32, v: &mut Validation) {
    v.check(
        n > 0,
        key(prefix, name),
        format!("{name} must be at least 1"),
    );
}

/// A duration as a user would write it (`5m`, `500ms`).
pub(crate) fn show(d: SignedDuration) -> String {
    if d.is_negative() {
        // jiff writes negative friendly durations as "1s ago", which misreads in a config error.
        format!("-{:#}", d.abs())
    } else {
        format!("{d:#}")
    }
}

pub(crate) fn friendly<S: serde::Serializer>(d: &SignedDuration, s: S) -> Result<S::Ok, S::Error> {
    jiff::fmt::serde::duration::friendly::compact::required(d, s)
}

pub(crate) fn friendly_opt<S: serde::Serializer>(
    d: &Option<SignedDuration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    jiff::fmt::serde::duration::friendly::compact::optional(d, s)
}
