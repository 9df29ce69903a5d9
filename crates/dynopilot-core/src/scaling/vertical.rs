//! The vertical scaler: climb the size ladder (real memory order) while the busiest dyno's
//! memory stays above the upscale threshold; after at least `min_upscale_duration`, go back to
//! the original size in one jump once memory, measured against the original quota, stays below
//! the downscale threshold; only inside allowed windows; never down while the queue has jobs.

use std::fmt;

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use super::config::{VerticalConfig, show};
use super::{Sample, before, millis, series, show_value};
use crate::Timestamp;
use crate::size::DynoSize;

/// Samples older than this say nothing about the dynos running now.
const MAX_SAMPLE_AGE: SignedDuration = SignedDuration::from_secs(60);

/// Everything one evaluation of the vertical scaler looks at.
#[derive(Clone, Copy, Debug)]
pub struct VerticalInput<'a> {
    pub now: Timestamp,
    pub current: &'static DynoSize,
    /// Memory in MB of the busiest dyno of the type at each sample time (the engine takes the
    /// max over dynos of `memory_total`, i.e. RSS + swap).
    pub memory_mb: &'a [Sample],
    /// When the size last changed (samples before it describe other dynos); `None` = unknown,
    /// treated as long ago.
    pub last_resize: Option<Timestamp>,
    /// Whether a resize is allowed now; the engine evaluates the configured time windows.
    pub window_open: bool,
    /// Jobs waiting in this type's queue; `None` when the type has no queue.
    pub queue_depth: Option<u64>,
}

/// The scaler's memory: the size to return to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VerticalState {
    /// The size before any upscale. Learned from the observed size, not from recommendations,
    /// so a blocked or failed resize cannot corrupt it.
    pub original: Option<String>,
}

/// What the scaler wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeRule {
    Upscale,
    RevertToOriginal,
    Hold,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SizeRecommendation {
    pub from: &'static DynoSize,
    /// Equal to `from` for [`SizeRule::Hold`].
    pub to: &'static DynoSize,
    pub rule: SizeRule,
    /// The inputs, thresholds and rule, e.g. `memory 490MB = 95.7% of Standard-1X 512MB …`.
    pub reason: String,
}

impl SizeRecommendation {
    fn hold(from: &'static DynoSize, reason: String) -> Self {
        SizeRecommendation {
            from,
            to: from,
            rule: SizeRule::Hold,
            reason,
        }
    }
}

impl fmt::Display for SizeRecommendation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} → {}: {}", self.from, self.to, self.reason)
    }
}

/// Evaluates the vertical scaler once. Pure; store the returned state whatever happens next.
pub fn recommend(
    config: &VerticalConfig,
    input: &VerticalInput<'_>,
    state: &VerticalState,
) -> (SizeRecommendation, VerticalState) {
    let current = input.current;
    let original = state
        .original
        .as_deref()
        .and_then(|n| DynoSize::lookup(n).ok())
        .filter(|o| o.ladder_key() <= current.ladder_key() && o.generation == current.generation)
        .unwrap_or(current);
    let next_state = VerticalState {
        original: Some(original.name.to_owned()),
    };
    let fresh = input
        .memory_mb
        .iter()
        .any(|s| s.at <= input.now && s.at >= before(input.now, MAX_SAMPLE_AGE));
    let rec = if !fresh {
        SizeRecommendation::hold(
            current,
            format!("no memory sample in the last {}", show(MAX_SAMPLE_AGE)),
        )
    } else if let Some(up) = upscale(config, input) {
        up
    } else if original.ladder_key() < current.ladder_key() {
        revert(config, input, original)
    } else {
        SizeRecommendation::hold(current, format!("at original size {original}"))
    };
    (rec, next_state)
}

fn pct(mb: f64, size: &DynoSize) -> f64 {
    mb / f64::from(size.memory_mb) * 100.0
}

fn dur(ms: i64) -> String {
    show(SignedDuration::from_millis(ms))
}

/// `None` when memory does not call for an upscale; a hold or an upscale when it does.
fn upscale(config: &VerticalConfig, input: &VerticalInput<'_>) -> Option<SizeRecommendation> {
    let current = input.current;
    let threshold = config.upscale_percent;
    let (held_ms, newest) =
        series::sustained(input.memory_mb, input.last_resize, input.now, |mb| {
            pct(mb, current) > threshold
        })?;
    let facts = format!(
        "memory {} = {}% of {current} {}MB > {threshold}% for {}",
        show_value(newest.value, "MB"),
        show_value(pct(newest.value, current), ""),
        current.memory_mb,
        dur(held_ms)
    );
    if held_ms < millis(config.upscale_after) {
        return None;
    }
    let hold = |why: String| Some(SizeRecommendation::hold(current, format!("{facts}; {why}")));
    let Some(next) = next_size(config, current) else {
        return hold(format!("{current} is the top of the ladder"));
    };
    if let Some(max) = &config.max_size {
        let Ok(max) = DynoSize::lookup(max) else {
            return hold(format!("max size `{max}` is unknown: not climbing"));
        };
        // Ladder position, never name equality: a max size the ladder skips still stops it.
        if next.ladder_key() > max.ladder_key() {
            return hold(format!("next size {next} is above max size {max}"));
        }
    }
    if !input.window_open {
        return hold("outside the allowed resize windows".to_owned());
    }
    Some(SizeRecommendation {
        from: current,
        to: next,
        rule: SizeRule::Upscale,
        reason: format!(
            "{facts} ≥ {}: upscale to {next} {}MB",
            show(config.upscale_after),
            next.memory_mb
        ),
    })
}

/// The next rung above `current`: the configured ladder if any, else the size table's ladder.
fn next_size(config: &VerticalConfig, current: &'static DynoSize) -> Option<&'static DynoSize> {
    match &config.ladder {
        Some(names) => names
            .iter()
            .filter_map(|n| DynoSize::lookup(n).ok())
            .filter(|s| s.generation == current.generation)
            .filter(|s| s.ladder_key() > current.ladder_key())
            .min_by_key(|s| s.ladder_key()),
        None => current.next_up(),
    }
}

fn revert(
    config: &VerticalConfig,
    input: &VerticalInput<'_>,
    original: &'static DynoSize,
) -> SizeRecommendation {
    let current = input.current;
    let hold = |why: String| SizeRecommendation::hold(current, why);
    if let Some(at) = input.last_resize {
        let kept = input.now.as_millis() - at.as_millis();
        if kept < millis(config.min_upscale_duration) {
            return hold(format!(
                "upscaled {} ago, minimum {}",
                dur(kept),
                show(config.min_upscale_duration)
            ));
        }
    }
    let threshold = config.downscale_percent;
    // Judge against the size we would land on, not the next one down: reverting jumps straight
    // to the original, and a check against an intermediate size let dynos land in R14.
    let low = series::sustained(input.memory_mb, input.last_resize, input.now, |mb| {
        pct(mb, original) < threshold
    });
    let Some((held_ms, newest)) = low else {
        return hold(format!(
            "memory not below {threshold}% of original {original} {}MB",
            original.memory_mb
        ));
    };
    let facts = format!(
        "memory {} = {}% of original {original} {}MB < {threshold}% for {}",
        show_value(newest.value, "MB"),
        show_value(pct(newest.value, original), ""),
        original.memory_mb,
        dur(held_ms)
    );
    if held_ms < millis(config.downscale_after) {
        return hold(format!("{facts} < {}", show(config.downscale_after)));
    }
    if let Some(depth) = input.queue_depth.filter(|d| *d > 0) {
        return hold(format!(
            "{facts}; {depth} job(s) queued: no downscale until empty"
        ));
    }
    if !input.window_open {
        return hold(format!("{facts}; outside the allowed resize windows"));
    }
    SizeRecommendation {
        from: current,
        to: original,
        rule: SizeRule::RevertToOriginal,
        reason: format!(
            "{facts} ≥ {}: revert to {original}",
            show(config.downscale_after)
        ),
    }
}
