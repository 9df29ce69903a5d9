//! The `trend` algorithm: mean and least-squares slope of response time over a window.
//! Slow (mean ≥ high) adds dynos unless latency is already falling fast, so a saturated app
//! with steady bad latency still scales up (the Pingdom autoscaler waited for a rising slope);
//! fast (mean < low) removes dynos unless latency is rising fast.

use super::config::{TrendConfig, show};
use super::horizontal::{HorizontalInput, Proposal};
use super::{before, series, show_value};

/// A timed-out probe (+∞) counts as this many times `high_response_time`: slow, yet finite so
/// the regression stays defined.
const TIMEOUT_FACTOR: f64 = 10.0;

pub(crate) fn propose(config: &TrendConfig, input: &HorizontalInput<'_>) -> Proposal {
    let high = config.high_response_time.as_millis_f64();
    let low = config.low_response_time.as_millis_f64();
    let samples = series::window(input.samples, before(input.now, config.window), input.now);
    let points: Vec<_> = samples
        .iter()
        .map(|s| (s.at, s.value.min(high * TIMEOUT_FACTOR)))
        .collect();
    let too_few = points.len() < config.min_samples as usize;
    let fit = series::mean_and_slope(&points);
    let (Some((mean, slope)), false) = (fit, too_few) else {
        return Proposal::hold(
            input.current,
            format!(
                "{} usable sample(s) in {} (need {} at distinct times): holding {}",
                points.len(),
                show(config.window),
                config.min_samples,
                input.current
            ),
        );
    };
    let facts = format!(
        "mean {} slope {} ms/s over {}",
        show_value(mean, "ms"),
        show_value(slope, ""),
        show(config.window)
    );
    let (lo, hi) = (config.low_slope, config.high_slope);
    let (up, inc) = (input.up, config.increment);
    let add = up.saturating_add(inc);
    let remove = up.saturating_sub(inc).max(1);
    let (desired, rule) = if mean >= high {
        if slope >= lo {
            (
                add,
                format!(
                    "≥ {} and not falling (slope ≥ {lo})",
                    show(config.high_response_time)
                ),
            )
        } else {
            (
                input.current,
                format!(
                    "≥ {} but falling (slope < {lo})",
                    show(config.high_response_time)
                ),
            )
        }
    } else if mean < low {
        if slope <= hi && up > 1 {
            (
                remove,
                format!(
                    "< {} and not rising (slope ≤ {hi})",
                    show(config.low_response_time)
                ),
            )
        } else {
            (
                input.current,
                format!(
                    "< {} but rising or at one dyno",
                    show(config.low_response_time)
                ),
            )
        }
    } else if slope > hi {
        (add, format!("within band, rising (slope > {hi})"))
    } else if slope < lo {
        (remove, format!("within band, falling (slope < {lo})"))
    } else {
        (input.current, "within band and flat".to_owned())
    };
    let change = match desired {
        d if d == input.current => format!("keep {d}"),
        d if d > up => format!("desired = {up} up + {inc} = {d}"),
        d => format!("desired = {up} up − {inc} = {d}"),
    };
    Proposal {
        desired,
        value: Some(mean),
        target: Some(high),
        arithmetic: format!("{facts}: {rule}: {change}"),
        informed: true,
    }
}
