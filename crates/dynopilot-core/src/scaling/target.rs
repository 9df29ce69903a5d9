//! The `target` algorithm: proportional target tracking, `desired = ceil(n × value / target)`,
//! where `n` counts only dynos that are up (booting ones are not capacity yet).

use super::config::{TargetConfig, show};
use super::horizontal::{HorizontalInput, Proposal, ceil_count};
use super::{before, series};

pub(crate) fn propose(config: &TargetConfig, input: &HorizontalInput<'_>) -> Proposal {
    let oldest = before(input.now, config.max_sample_age);
    let Some(sample) = series::latest_fresh(input.samples, input.now, oldest) else {
        return Proposal::hold(
            input.current,
            format!(
                "no {} sample in the last {}: holding {}",
                config.signal,
                show(config.max_sample_age),
                input.current
            ),
        );
    };
    let (value, target, n) = (sample.value, config.target, input.up);
    let shown = (config.signal.show(value), config.signal.show(target));
    let ratio = value / target;
    let desired = if within_tolerance(ratio, config.tolerance) {
        let arithmetic = format!(
            "{} / {} = {} within tolerance {}: keep {}",
            shown.0,
            shown.1,
            super::show_value(ratio, ""),
            config.tolerance,
            input.current
        );
        return informed(input.current, value, target, arithmetic);
    } else if n == 0 && input.booting > 0 {
        return informed(
            input.current,
            value,
            target,
            format!(
                "no dyno up yet ({} booting): keep {}",
                input.booting, input.current
            ),
        );
    } else if n == 0 {
        // Nothing running: any load above target needs one dyno to start from.
        u32::from(ratio > 1.0)
    } else {
        ceil_count(f64::from(n) * ratio)
    };
    let arithmetic = if n == 0 {
        let cmp = if ratio > 1.0 { ">" } else { "≤" };
        format!(
            "{} {cmp} {} with no dyno up: desired = {desired}",
            shown.0, shown.1
        )
    } else {
        format!(
            "desired = ceil({n} × {} / {}) = {desired}",
            shown.0, shown.1
        )
    };
    informed(desired, value, target, arithmetic)
}

/// `|ratio − 1| ≤ tolerance`, with a hair of slack so that 275 / 250 = 1.1 counts as the
/// edge it is rather than 1.1000000000000001.
pub(crate) fn within_tolerance(ratio: f64, tolerance: f64) -> bool {
    (ratio - 1.0).abs() <= tolerance + 1e-9
}

fn informed(desired: u32, value: f64, target: f64, arithmetic: String) -> Proposal {
    Proposal {
        desired,
        value: Some(value),
        target: Some(target),
        arithmetic,
        informed: true,
    }
}
