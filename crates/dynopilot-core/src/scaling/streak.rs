//! The `streak` algorithm: count consecutive samples above `max_response_time` (fails) or below
//! `min_response_time` (passes); after enough in a row, add or remove `increment` dynos.
//! Counters restart after any executed scale, so each move needs a fresh streak.

use super::config::{StreakConfig, show};
use super::horizontal::{HorizontalInput, Proposal, StreakState};
use super::{Sample, before};

pub(crate) fn propose(
    config: &StreakConfig,
    input: &HorizontalInput<'_>,
    state: &mut StreakState,
) -> Proposal {
    let last_scale = input.last_scale_up.max(input.last_scale_down);
    if last_scale.is_some() && last_scale >= state.last_sample {
        // A scale happened at or after the last counted sample: start over (the old streak described
        // the old capacity).
        *state = StreakState {
            last_sample: last_scale,
            ..StreakState::default()
        };
    }
    let mut fresh: Vec<Sample> = input
        .samples
        .iter()
        .filter(|s| s.at <= input.now && !s.value.is_nan())
        .filter(|s| state.last_sample.is_none_or(|l| s.at > l))
        .copied()
        .collect();
    fresh.sort_by_key(|s| s.at);
    let (max, min) = (ms(config.max_response_time), ms(config.min_response_time));
    for s in &fresh {
        count(state, s, min, max);
    }
    let latest = fresh.last().map(|s| s.value);
    let stale = state
        .last_sample
        .is_none_or(|l| l < before(input.now, config.max_sample_age));
    if stale && latest.is_none() {
        return Proposal::hold(
            input.current,
            format!(
                "no {} sample in the last {}: holding {}",
                config.signal,
                show(config.max_sample_age),
                input.current
            ),
        );
    }
    let (desired, arithmetic) = decide(config, input, state);
    Proposal {
        desired,
        value: latest,
        target: Some(max),
        arithmetic,
        informed: true,
    }
}

fn count(state: &mut StreakState, s: &Sample, min: f64, max: f64) {
    // A timed-out probe arrives as +∞ and fails, as it should (slow, not absent).
    if s.value > max {
        state.fails += 1;
        state.passes = 0;
    } else if s.value < min {
        state.passes += 1;
        state.fails = 0;
    } else {
        *state = StreakState::default();
    }
    state.last_sample = Some(s.at);
}

fn decide(
    config: &StreakConfig,
    input: &HorizontalInput<'_>,
    state: &StreakState,
) -> (u32, String) {
    let (up, inc) = (input.up, config.increment);
    let max = show(config.max_response_time);
    let min = show(config.min_response_time);
    if state.fails >= config.fails {
        let desired = up.saturating_add(inc);
        let text = format!(
            "{} samples in a row > {max} (need {}): desired = {up} up + {inc} = {desired}",
            state.fails, config.fails
        );
        return (desired, text);
    }
    if state.passes >= config.passes && up > 1 {
        let desired = up.saturating_sub(inc).max(1);
        let text = format!(
            "{} samples in a row < {min} (need {}): desired = {up} up − {inc} = {desired}",
            state.passes, config.passes
        );
        return (desired, text);
    }
    let text = format!(
        "streak {} fail(s)/{} pass(es) of {}/{} against [{min}, {max}]: keep {}",
        state.fails, state.passes, config.fails, config.passes, input.current
    );
    (input.current, text)
}

fn ms(d: jiff::SignedDuration) -> f64 {
    d.as_millis_f64()
}
