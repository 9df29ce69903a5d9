//! The horizontal autoscaler's common pipeline: run the configured algorithm, then apply
//! stabilization windows, warm-up, per-direction cooldowns and step limits, recording each
//! adjustment in the reason. Min/max, schedules and budgets are the engine's guardrails.

use std::fmt;

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use super::config::{HorizontalConfig, show};
use super::pattern::RateHistory;
use super::{Sample, Signal, before, capacity, queue, streak, target, trend, ts_serde};
use crate::Timestamp;

/// Which algorithm produced a recommendation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    Target,
    Streak,
    Trend,
    Queue,
    Capacity,
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::Target => "target",
            Algorithm::Streak => "streak",
            Algorithm::Trend => "trend",
            Algorithm::Queue => "queue",
            Algorithm::Capacity => "capacity",
        })
    }
}

/// A job queue as last measured (for the `queue` algorithm).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QueueObservation {
    pub at: Timestamp,
    /// Jobs waiting.
    pub depth: u64,
    /// Jobs running now; counted as load so that a busy, empty queue is not "idle".
    pub busy: u64,
    /// Age of the oldest waiting job in ms (0 when empty).
    pub latency_ms: f64,
}

/// One closed router window: request rate and the mean `service=` of answered requests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RouterLoad {
    /// End of the window.
    pub at: Timestamp,
    pub rps: f64,
    pub service_mean_ms: f64,
    /// Mean queue time the app reported (0 when it reports none): `service=` includes it.
    pub queue_mean_ms: f64,
    /// Requests answered in the window (the weight of its mean).
    pub answered: u64,
}

/// Everything one evaluation of a horizontal algorithm looks at.
#[derive(Clone, Copy, Debug)]
pub struct HorizontalInput<'a> {
    pub now: Timestamp,
    /// The formation quantity.
    pub current: u32,
    /// Dynos `starting` (warm-up): they do not count as capacity yet.
    pub booting: u32,
    /// Dynos `up` and serving.
    pub up: u32,
    /// Samples of `config.signal()`, any order, covering at least `config.lookback()`.
    pub samples: &'a [Sample],
    pub queue: Option<QueueObservation>,
    /// Router windows covering `config.lookback()` (for `capacity`; may be empty otherwise).
    pub router: &'a [RouterLoad],
    /// When the quantity last went up / down (executed changes, whoever made them).
    pub last_scale_up: Option<Timestamp>,
    pub last_scale_down: Option<Timestamp>,
}

/// A raw recommendation remembered for stabilization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastRecommendation {
    #[serde(with = "ts_serde")]
    pub at: Timestamp,
    pub desired: u32,
}

/// Consecutive fails/passes of the `streak` algorithm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreakState {
    pub fails: u32,
    pub passes: u32,
    /// The newest sample already counted, so re-evaluating the same samples counts nothing twice.
    #[serde(with = "ts_serde::opt", default)]
    pub last_sample: Option<Timestamp>,
}

/// The algorithm's own memory, persisted by the engine between evaluations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlgoState {
    /// Raw recommendations within the longest stabilization window, oldest first.
    pub history: Vec<PastRecommendation>,
    pub streak: StreakState,
    /// Since when the queue has been empty with nothing running.
    #[serde(with = "ts_serde::opt")]
    pub idle_since: Option<Timestamp>,
    /// The request rate per minute the `capacity` algorithm learns its pattern from.
    pub rates: RateHistory,
}

/// Why an algorithm wants the quantity it wants.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingReason {
    pub algorithm: Algorithm,
    pub signal: Option<Signal>,
    /// The measured value the rule used (latest sample, window mean, jobs, queue latency).
    pub value: Option<f64>,
    pub target: Option<f64>,
    pub current: u32,
    pub up: u32,
    pub booting: u32,
    /// What the algorithm alone proposed, before the adjustments.
    pub proposed: u32,
    /// The rule and its arithmetic, e.g. `desired = ceil(3 × 450ms / 250ms) = 6`.
    pub arithmetic: String,
    /// Each later adjustment (stabilization, warm-up, cooldown, step limit), in order.
    pub adjustments: Vec<String>,
}

impl fmt::Display for ScalingReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.algorithm, self.arithmetic)?;
        for a in &self.adjustments {
            write!(f, "; {a}")?;
        }
        Ok(())
    }
}

/// The desired quantity (before the engine's min/max and budgets) and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Recommendation {
    pub desired: u32,
    pub reason: ScalingReason,
}

/// What an algorithm proposes before the common adjustments.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Proposal {
    pub desired: u32,
    pub value: Option<f64>,
    pub target: Option<f64>,
    pub arithmetic: String,
    /// False when the algorithm had nothing to go on (stale signal): nothing is remembered.
    pub informed: bool,
}

impl Proposal {
    pub(crate) fn hold(current: u32, why: impl Into<String>) -> Self {
        Proposal {
            desired: current,
            value: None,
            target: None,
            arithmetic: why.into(),
            informed: false,
        }
    }
}

/// Common knobs every algorithm has (stabilization only for `target`).
struct Knobs {
    up_window: SignedDuration,
    down_window: SignedDuration,
    up_cooldown: SignedDuration,
    down_cooldown: SignedDuration,
    max_step_up: Option<u32>,
    max_step_down: Option<u32>,
}

fn knobs(config: &HorizontalConfig) -> Knobs {
    let zero = SignedDuration::ZERO;
    match config {
        HorizontalConfig::Target(c) => Knobs {
            up_window: c.up_stabilization,
            down_window: c.down_stabilization,
            up_cooldown: c.up_cooldown,
            down_cooldown: c.down_cooldown,
            max_step_up: c.max_step_up,
            max_step_down: c.max_step_down,
        },
        HorizontalConfig::Streak(c) => Knobs {
            up_window: zero,
            down_window: zero,
            up_cooldown: c.up_cooldown,
            down_cooldown: c.down_cooldown,
            max_step_up: None,
            max_step_down: None,
        },
        HorizontalConfig::Trend(c) => Knobs {
            up_window: zero,
            down_window: zero,
            up_cooldown: c.up_cooldown,
            down_cooldown: c.down_cooldown,
            max_step_up: None,
            max_step_down: None,
        },
        HorizontalConfig::Queue(c) => Knobs {
            up_window: zero,
            down_window: zero,
            up_cooldown: c.up_cooldown,
            down_cooldown: c.down_cooldown,
            max_step_up: c.max_step_up,
            max_step_down: c.max_step_down,
        },
        HorizontalConfig::Capacity(c) => Knobs {
            up_window: zero,
            down_window: c.down_stabilization,
            up_cooldown: c.up_cooldown,
            down_cooldown: c.down_cooldown,
            max_step_up: None,
            max_step_down: c.max_step_down,
        },
    }
}

/// Runs the configured algorithm once. Pure: same inputs, same outputs; the returned state
/// replaces `state` (store it whether or not the recommendation is acted on).
pub fn recommend(
    config: &HorizontalConfig,
    input: &HorizontalInput<'_>,
    state: &AlgoState,
) -> (Recommendation, AlgoState) {
    let mut next = state.clone();
    let (algorithm, proposal) = match config {
        HorizontalConfig::Target(c) => (Algorithm::Target, target::propose(c, input)),
        HorizontalConfig::Streak(c) => (
            Algorithm::Streak,
            streak::propose(c, input, &mut next.streak),
        ),
        HorizontalConfig::Trend(c) => (Algorithm::Trend, trend::propose(c, input)),
        HorizontalConfig::Queue(c) => (
            Algorithm::Queue,
            queue::propose(c, input, &mut next.idle_since),
        ),
        HorizontalConfig::Capacity(c) => (
            Algorithm::Capacity,
            capacity::propose(c, input, &mut next.rates),
        ),
    };
    let knobs = knobs(config);
    let mut reason = ScalingReason {
        algorithm,
        signal: config.signal(),
        value: proposal.value,
        target: proposal.target,
        current: input.current,
        up: input.up,
        booting: input.booting,
        proposed: proposal.desired,
        arithmetic: proposal.arithmetic,
        adjustments: Vec::new(),
    };
    let keep_from = before(input.now, knobs.up_window.max(knobs.down_window));
    next.history
        .retain(|p| p.at >= keep_from && p.at < input.now);
    if proposal.informed {
        next.history.push(PastRecommendation {
            at: input.now,
            desired: proposal.desired,
        });
    }
    let mut desired = stabilize(&knobs, input, &next.history, proposal.desired, &mut reason);
    desired = warm_up(input, desired, &mut reason);
    desired = cooldown(&knobs, input, desired, &mut reason);
    let limited = clamp_step(
        input.current,
        desired,
        knobs.max_step_up,
        knobs.max_step_down,
    );
    if limited != desired {
        reason
            .adjustments
            .push(format!("step limit: {} → {limited}", input.current));
    }
    (
        Recommendation {
            desired: limited,
            reason,
        },
        next,
    )
}

/// Scale up only to the lowest recommendation of the up window and down only to the highest of
/// the down window, so one window never sees up, down and up again.
fn stabilize(
    knobs: &Knobs,
    input: &HorizontalInput<'_>,
    history: &[PastRecommendation],
    proposed: u32,
    reason: &mut ScalingReason,
) -> u32 {
    let extreme = |window: SignedDuration, pick_max: bool| {
        let from = before(input.now, window);
        let in_window = history.iter().filter(|p| p.at >= from).map(|p| p.desired);
        if pick_max {
            in_window.max()
        } else {
            in_window.min()
        }
    };
    let current = input.current;
    if proposed > current {
        let up = extreme(knobs.up_window, false)
            .unwrap_or(proposed)
            .max(current);
        if up < proposed {
            reason.adjustments.push(format!(
                "up stabilization: lowest recommendation in {} is {up}",
                show(knobs.up_window)
            ));
        }
        return up;
    }
    if proposed < current {
        let down = extreme(knobs.down_window, true)
            .unwrap_or(proposed)
            .min(current);
        if down > proposed {
            reason.adjustments.push(format!(
                "down stabilization: highest recommendation in {} is {down}",
                show(knobs.down_window)
            ));
        }
        return down;
    }
    current
}

/// Booting dynos have not absorbed load yet: the signal overstates need, so do not scale in.
fn warm_up(input: &HorizontalInput<'_>, desired: u32, reason: &mut ScalingReason) -> u32 {
    if desired < input.current && input.booting > 0 {
        reason.adjustments.push(format!(
            "warm-up: {} dyno(s) booting, no scale-in until they are up; holding {}",
            input.booting, input.current
        ));
        return input.current;
    }
    desired
}

/// Up waits for `up_cooldown` after the last scale-up; down waits for `down_cooldown` after
/// any scale (adding capacity is urgent, removing it is not).
fn cooldown(
    knobs: &Knobs,
    input: &HorizontalInput<'_>,
    desired: u32,
    reason: &mut ScalingReason,
) -> u32 {
    let (last, wait, dir) = if desired > input.current {
        (input.last_scale_up, knobs.up_cooldown, "up")
    } else if desired < input.current {
        (
            input.last_scale_up.max(input.last_scale_down),
            knobs.down_cooldown,
            "down",
        )
    } else {
        return desired;
    };
    match last {
        Some(last) if before(input.now, wait) < last => {
            let until = last.as_millis().saturating_add(super::millis(wait));
            reason.adjustments.push(format!(
                "{dir} cooldown {} until {}: holding {}",
                show(wait),
                Timestamp::from_millis(until),
                input.current
            ));
            input.current
        }
        _ => desired,
    }
}

/// Limits a change to at most `max_up` added or `max_down` removed dynos (`None` = no limit).
pub fn clamp_step(current: u32, desired: u32, max_up: Option<u32>, max_down: Option<u32>) -> u32 {
    if desired > current {
        max_up.map_or(desired, |m| desired.min(current.saturating_add(m)))
    } else {
        max_down.map_or(desired, |m| desired.max(current.saturating_sub(m)))
    }
}

/// `ceil(x)` as a dyno count, saturating (an infinite signal asks for "as many as allowed").
pub(crate) fn ceil_count(x: f64) -> u32 {
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        x.ceil() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_step_limits_each_direction_independently() {
        assert_eq!(clamp_step(3, 10, Some(2), Some(1)), 5);
        assert_eq!(clamp_step(3, 0, Some(2), Some(1)), 2);
        assert_eq!(clamp_step(3, 0, None, None), 0);
        assert_eq!(clamp_step(3, 3, Some(1), Some(1)), 3);
        assert_eq!(clamp_step(u32::MAX - 1, u32::MAX, Some(5), None), u32::MAX);
    }

    #[test]
    fn ceil_count_saturates_and_floors_at_zero() {
        assert_eq!(ceil_count(5.4), 6);
        assert_eq!(ceil_count(6.0), 6);
        assert_eq!(ceil_count(f64::INFINITY), u32::MAX);
        assert_eq!(ceil_count(-1.0), 0);
        assert_eq!(ceil_count(f64::NAN), 0);
    }
}
