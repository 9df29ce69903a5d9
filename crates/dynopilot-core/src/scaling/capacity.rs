//! The `capacity` algorithm for web dynos: from the router's request rate and mean service
//! time, the fewest dynos whose queues (each an M/M/c queue of `concurrency` workers under
//! Heroku's random routing, Erlang C) keep the share of requests waiting longer than
//! `queue_target` within `late_share`. It anticipates: the rate is extrapolated along its
//! recent trend over `lead` (a new dyno's boot plus one evaluation), because a purely reactive
//! scaler misses every steep ramp by a boot time. Where the traffic repeats itself with a
//! period (batches every two hours, a daily cycle), the learned pattern (`pattern`) adds what
//! the same minutes of the last period had, scaled to today's level, before the step arrives.
//! Rising load is met at once; falling load is followed only after `down_stabilization` (the
//! common pipeline's window).

use super::config::{CapacityConfig, show};
use super::horizontal::{HorizontalInput, Proposal, RouterLoad};
use super::pattern::RateHistory;
use super::{before, millis, show_value};

pub(crate) fn propose(
    config: &CapacityConfig,
    input: &HorizontalInput<'_>,
    rates: &mut RateHistory,
) -> Proposal {
    let oldest = before(input.now, config.max_sample_age);
    let recent: Vec<&RouterLoad> = input
        .router
        .iter()
        .filter(|l| l.at <= input.now && l.rps.is_finite() && l.rps >= 0.0)
        .collect();
    let keep_minutes = usize::try_from(millis(config.pattern_history) / 60_000).unwrap_or(0);
    if keep_minutes > 0 {
        rates.record(input.router, keep_minutes);
    }
    if !recent.iter().any(|l| l.at >= oldest) {
        return Proposal::hold(
            input.current,
            format!(
                "no router window in the last {}: holding {}",
                show(config.max_sample_age),
                input.current
            ),
        );
    }
    let Some(service_ms) = service_mean(&recent) else {
        return Proposal::hold(input.current, "no answered request to time: holding");
    };
    let trend_from = before(input.now, config.trend_window);
    let mut window: Vec<(f64, f64)> = recent
        .iter()
        .filter(|l| l.at >= trend_from)
        .map(|l| {
            (
                (l.at.as_millis() - input.now.as_millis()) as f64 / 1000.0,
                l.rps,
            )
        })
        .collect();
    window.sort_by(|a, b| a.0.total_cmp(&b.0));
    let lead_s = config.lead.as_secs_f64();
    let mut level = level(&window);
    let mut slope = slope(&window).unwrap_or(0.0).max(0.0);
    // On a ramp the fitted slope lags (most of the window is still flat): go by the newest
    // window and the slowest of its last rises instead, when that projects further.
    if let Some((newest, rise)) = ramp(&window)
        && newest + rise * lead_s > level + slope * lead_s
    {
        (level, slope) = (newest, rise);
    }
    let trend = level + slope * lead_s;
    // Requests already queued (Little: rate × mean wait) must be served on top of new ones:
    // ask for enough to clear them within the lead, so a missed step drains fast.
    let backlog = recent
        .iter()
        .max_by_key(|l| l.at)
        .map_or(0.0, |l| l.rps * l.queue_mean_ms.max(0.0) / 1000.0);
    let catch_up = if lead_s > 0.0 { backlog / lead_s } else { 0.0 };
    let trend = trend + catch_up;
    let forecast = (keep_minutes > 0)
        .then(|| rates.forecast(input.now, millis(config.lead)))
        .flatten();
    let rate = forecast.map_or(trend, |f| trend.max(f.rps));
    let needed = required(config, rate, service_ms);
    let desired = hysteresis(config, input.current, needed);
    let pattern = match forecast {
        Some(f) if f.rps > trend => format!(
            ", the same minutes {} ago had {} rps (pattern held within {}%)",
            show(jiff::SignedDuration::from_mins(f.period_minutes as i64)),
            show_value(f.rps, ""),
            show_value(f.mismatch * 100.0, "")
        ),
        _ => String::new(),
    };
    let catch_up = if catch_up >= 0.5 {
        format!(
            " (+{} rps to clear {} queued)",
            show_value(catch_up, ""),
            show_value(backlog, "")
        )
    } else {
        String::new()
    };
    let hold = if desired == needed {
        String::new()
    } else {
        format!(
            "; within the down hysteresis of {}%: holding {desired}",
            show_value(config.down_hysteresis * 100.0, "")
        )
    };
    let arithmetic = format!(
        "{} rps now, rising {} rps/s → {} rps in {}{catch_up}{pattern}; service {}: Erlang C needs \
         {needed} dyno(s) of {} for ≤ {}% waiting > {}{hold}",
        show_value(level, ""),
        show_value(slope, ""),
        show_value(trend, ""),
        show(config.lead),
        show_value(service_ms, "ms"),
        config.concurrency,
        show_value(config.late_share * 100.0, ""),
        show(config.queue_target),
    );
    Proposal {
        desired,
        value: Some(rate),
        target: Some(config.late_share),
        arithmetic,
        informed: true,
    }
}

/// Mean time a worker spends on a request over the windows, weighted by requests: the
/// router's `service=` less the queue time the app reports, which `service=` includes (an
/// overloaded dyno would otherwise look slow and ask for ever more dynos). A window whose
/// queue time is not below its `service=` (the two disagree) tells nothing and is skipped.
fn service_mean(windows: &[&RouterLoad]) -> Option<f64> {
    let (sum, n) = windows
        .iter()
        .filter(|l| l.answered > 0 && l.service_mean_ms.is_finite())
        .filter(|l| l.service_mean_ms > l.queue_mean_ms.max(0.0))
        .fold((0.0, 0u64), |(s, n), l| {
            let work = l.service_mean_ms - l.queue_mean_ms.max(0.0);
            (s + work * l.answered as f64, n + l.answered)
        });
    (n > 0).then(|| sum / n as f64)
}

/// The current rate: the mean of the newest 30 s, so one noisy window moves nothing down; but
/// the newest window when it is higher (a step up is met at once, a step down waits).
fn level(points: &[(f64, f64)]) -> f64 {
    let last = points.last().map_or(0.0, |p| p.1);
    let newest: Vec<f64> = points.iter().filter(|p| p.0 > -30.0).map(|p| p.1).collect();
    if newest.is_empty() {
        return last;
    }
    (newest.iter().sum::<f64>() / newest.len() as f64).max(last)
}

/// A scale-down frees at least `down_hysteresis` of the dynos (and one): every formation change
/// counts against the hourly budget, and a dyno or two on a noisy plateau is not worth one.
fn hysteresis(config: &CapacityConfig, current: u32, needed: u32) -> u32 {
    let keep = f64::from(current) * (1.0 - config.down_hysteresis.clamp(0.0, 1.0));
    if needed < current && f64::from(needed) > keep.floor() {
        current
    } else {
        needed
    }
}

/// Windows that must each have risen for a ramp.
const RAMP_WINDOWS: usize = 2;

/// `(newest rate, slowest rise in rps/s)` when each of the newest `RAMP_WINDOWS` windows rose
/// over the one before (one step up followed by a flat rate is no ramp).
fn ramp(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let tail = points.get(points.len().checked_sub(RAMP_WINDOWS + 1)?..)?;
    let mut slowest = f64::INFINITY;
    for pair in tail.windows(2) {
        let dt = pair[1].0 - pair[0].0;
        let rise = (pair[1].1 - pair[0].1) / dt;
        if dt <= 0.0 || rise.is_nan() || rise <= 0.0 {
            return None;
        }
        slowest = slowest.min(rise);
    }
    Some((tail.last()?.1, slowest))
}

/// Least-squares slope in rps per second.
fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 3 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The fewest dynos keeping `P(wait > queue_target) ≤ late_share` at `rate` rps.
pub(crate) fn required(config: &CapacityConfig, rate: f64, service_ms: f64) -> u32 {
    if rate <= 0.0 || service_ms <= 0.0 {
        return 0;
    }
    let c = config.concurrency.max(1);
    let mu = 1000.0 / service_ms;
    let target_s = config.queue_target.as_secs_f64();
    let mut n = ((rate / (f64::from(c) * mu)).floor() as u32).max(1);
    while n < 10_000 {
        let lambda = rate / f64::from(n);
        if lambda < f64::from(c) * mu && wait_exceeds(c, lambda, mu, target_s) <= config.late_share
        {
            return n;
        }
        n += 1;
    }
    n
}

/// `P(wait > t)` of an M/M/c queue: Erlang C × e^{−(cμ − λ)t}.
pub(crate) fn wait_exceeds(c: u32, lambda: f64, mu: f64, t_s: f64) -> f64 {
    let a = lambda / mu;
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let cf = f64::from(c);
    let erlang_c = (cf * b / (cf - a * (1.0 - b))).clamp(0.0, 1.0);
    erlang_c * (-(cf * mu - lambda) * t_s).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_of_one_worker_is_its_utilisation() {
        assert!((wait_exceeds(1, 0.7, 1.0, 0.0) - 0.7).abs() < 1e-12);
        assert!((wait_exceeds(2, 1.0, 1.0, 0.0) - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn more_traffic_never_needs_fewer_dynos() {
        let config = CapacityConfig::default();
        let mut last = 0;
        for rps in (0..2_000).step_by(25) {
            let n = required(&config, f64::from(rps), 100.0);
            assert!(n >= last, "{rps} rps: {n} < {last}");
            last = n;
        }
        assert_eq!(required(&config, 0.0, 100.0), 0);
    }
}
