//! Properties of the horizontal pipeline for random signals: determinism, no up/down/up inside
//! a stabilization window, desired within the formula's bounds, step limits respected.

use dynopilot_core::scaling::{
    AlgoState, HorizontalConfig, HorizontalInput, QueueConfig, QueueObservation, Sample, Signal,
    TargetConfig, clamp_step, recommend,
};
use jiff::SignedDuration;
use proptest::prelude::*;

use super::support::{Fleet, Obs, at};

fn target_config(
    up_s: i64,
    down_s: i64,
    step_up: Option<u32>,
    step_down: Option<u32>,
) -> TargetConfig {
    TargetConfig {
        signal: Signal::QueueTimeP95,
        target: 200.0,
        tolerance: 0.1,
        up_stabilization: SignedDuration::from_secs(up_s),
        down_stabilization: SignedDuration::from_secs(down_s),
        max_step_up: step_up,
        max_step_down: step_down,
        up_cooldown: SignedDuration::ZERO,
        down_cooldown: SignedDuration::ZERO,
        max_sample_age: SignedDuration::from_secs(60),
    }
}

fn signal() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(prop_oneof![1.0..3000.0f64, Just(f64::INFINITY)], 1..80)
}

#[test]
fn algorithm_state_survives_a_round_trip_through_json() {
    let mut state = AlgoState::default();
    state
        .history
        .push(dynopilot_core::scaling::horizontal::PastRecommendation {
            at: at(40),
            desired: 7,
        });
    state.streak.fails = 2;
    state.streak.last_sample = Some(at(60));
    state.idle_since = Some(at(80));
    let json = serde_json::to_string(&state).unwrap();
    assert_eq!(serde_json::from_str::<AlgoState>(&json).unwrap(), state);
    assert_eq!(
        serde_json::from_str::<AlgoState>("{}").unwrap(),
        AlgoState::default(),
        "a missing state starts fresh"
    );
}

proptest! {
    #[test]
    fn same_inputs_give_same_outputs(
        values in signal(),
        current in 0u32..30,
        booting in 0u32..5,
        history in prop::collection::vec((0i64..600, 0u32..40), 0..10),
    ) {
        let samples: Vec<Sample> = values
            .iter()
            .enumerate()
            .map(|(i, v)| Sample::new(at(i as i64 * 20), *v))
            .collect();
        let now = at(values.len() as i64 * 20);
        let mut state = AlgoState::default();
        for (secs, desired) in history {
            state.history.push(dynopilot_core::scaling::horizontal::PastRecommendation {
                at: at(secs),
                desired,
            });
        }
        let input = HorizontalInput {
            now,
            current,
            booting: booting.min(current),
            up: current - booting.min(current),
            samples: &samples,
            queue: None,
            router: &[],
            last_scale_up: Some(at(100)),
            last_scale_down: None,
        };
        for config in [
            HorizontalConfig::Target(target_config(60, 300, Some(3), Some(1))),
            HorizontalConfig::Streak(Default::default()),
            HorizontalConfig::Trend(Default::default()),
        ] {
            let first = recommend(&config, &input, &state);
            let second = recommend(&config, &input, &state);
            prop_assert_eq!(first, second);
        }
    }

    #[test]
    fn never_up_then_down_or_down_then_up_within_a_stabilization_window(
        values in signal(),
        up_s in 20i64..300,
        down_s in 20i64..600,
        boot_secs in 0i64..120,
        start in 1u32..20,
        step_up in prop::option::of(1u32..5),
    ) {
        let mut f = Fleet::new(HorizontalConfig::Target(target_config(up_s, down_s, step_up, None)), start);
        f.boot_secs = boot_secs;
        let mut moves: Vec<(i64, bool)> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let secs = i as i64 * 20;
            let before = f.current;
            let after = f.step(secs, Obs::Value(*v));
            if after != before {
                moves.push((secs, after > before));
            }
        }
        for pair in moves.windows(2) {
            let ((t1, up1), (t2, up2)) = (pair[0], pair[1]);
            if up1 && !up2 {
                prop_assert!(t2 - t1 > down_s, "up at {t1}s then down at {t2}s within {down_s}s\n{}", f.transcript());
            }
            if !up1 && up2 {
                prop_assert!(t2 - t1 > up_s, "down at {t1}s then up at {t2}s within {up_s}s\n{}", f.transcript());
            }
        }
    }

    #[test]
    fn target_stays_within_the_formula_bounds_and_step_limits(
        value in prop_oneof![0.0..5000.0f64, Just(f64::INFINITY)],
        up in 0u32..50,
        booting in 0u32..5,
        step_up in prop::option::of(1u32..10),
        step_down in prop::option::of(1u32..10),
    ) {
        let current = up + booting;
        let samples = [Sample::new(at(0), value)];
        let input = HorizontalInput {
            now: at(10),
            current,
            booting,
            up,
            samples: &samples,
            queue: None,
            router: &[],
            last_scale_up: None,
            last_scale_down: None,
        };
        let config = HorizontalConfig::Target(target_config(0, 0, step_up, step_down));
        let (rec, _) = recommend(&config, &input, &AlgoState::default());
        let formula = if up == 0 {
            u32::from(value > 200.0)
        } else {
            let x = f64::from(up) * value / 200.0;
            if x >= f64::from(u32::MAX) { u32::MAX } else { x.ceil() as u32 }
        };
        prop_assert!(rec.desired <= current.max(formula), "{} > max({current}, {formula})", rec.desired);
        prop_assert!(rec.desired >= current.min(formula), "{} < min({current}, {formula})", rec.desired);
        prop_assert_eq!(rec.desired, clamp_step(current, rec.desired, step_up, step_down));
        if let Some(s) = step_up { prop_assert!(rec.desired <= current.saturating_add(s)); }
        if let Some(s) = step_down { prop_assert!(rec.desired >= current.saturating_sub(s)); }
        if booting > 0 { prop_assert!(rec.desired >= current, "no scale-in while booting"); }
    }

    #[test]
    fn queue_respects_step_limits_and_never_scales_in_while_busy(
        depth in 0u64..500,
        busy in 0u64..50,
        latency_ms in 0.0..600_000.0f64,
        current in 0u32..40,
        step_up in prop::option::of(1u32..10),
        step_down in prop::option::of(1u32..10),
    ) {
        let config = HorizontalConfig::Queue(QueueConfig {
            latency_target: Some(SignedDuration::from_secs(30)),
            scale_to_zero_after: Some(SignedDuration::from_mins(5)),
            max_step_up: step_up,
            max_step_down: step_down,
            ..QueueConfig::default()
        });
        let input = HorizontalInput {
            now: at(0),
            current,
            booting: 0,
            up: current,
            samples: &[],
            queue: Some(QueueObservation { at: at(0), depth, busy, latency_ms }),
            router: &[],
            last_scale_up: None,
            last_scale_down: None,
        };
        let (rec, _) = recommend(&config, &input, &AlgoState::default());
        if let Some(s) = step_up { prop_assert!(rec.desired <= current.saturating_add(s)); }
        if let Some(s) = step_down { prop_assert!(rec.desired >= current.saturating_sub(s)); }
        if busy > 0 { prop_assert!(rec.desired >= current); }
        if depth + busy > 0 { prop_assert!(rec.desired >= 1, "jobs waiting or running need a dyno"); }
        let jobs_bound = (depth + busy).div_ceil(10) as u32;
        let latency_bound = (f64::from(current) * latency_ms / 30_000.0).ceil() as u32;
        prop_assert!(rec.desired <= current.max(jobs_bound).max(latency_bound).max(1));
    }
}
