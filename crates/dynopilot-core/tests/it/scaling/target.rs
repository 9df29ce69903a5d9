//! Transcripts of the `target` algorithm: the formula, the tolerance edge, warm-up,
//! stabilization, cooldown and a signal that goes quiet.

use dynopilot_core::scaling::{HorizontalConfig, Signal, TargetConfig};
use jiff::SignedDuration;

use super::support::{Fleet, Obs};

fn config() -> TargetConfig {
    TargetConfig {
        signal: Signal::QueueTimeP95,
        target: 250.0,
        tolerance: 0.1,
        up_stabilization: SignedDuration::ZERO,
        down_stabilization: SignedDuration::from_mins(5),
        max_step_up: None,
        max_step_down: None,
        up_cooldown: SignedDuration::ZERO,
        down_cooldown: SignedDuration::ZERO,
        max_sample_age: SignedDuration::from_secs(60),
    }
}

#[test]
fn scales_proportionally_and_does_not_over_add_while_dynos_boot() {
    let mut f = Fleet::new(HorizontalConfig::Target(config()), 3);
    assert_eq!(f.step(0, Obs::Value(450.0)), 6, "ceil(3 × 450 / 250) = 6");
    // The new dynos are booting: the same high signal must not add more.
    assert_eq!(f.step(20, Obs::Value(460.0)), 6);
    f.step(50, Obs::Value(240.0));
    // Load fell; the down window still remembers 6.
    assert_eq!(f.step(70, Obs::Value(150.0)), 6);
    for secs in (90..=400).step_by(30) {
        f.step(secs, Obs::Value(150.0));
    }
    assert!(f.current < 6, "scaled down once the window forgot the peak");
    insta::assert_snapshot!(f.transcript());
}

#[test]
fn tolerance_edge_is_inclusive() {
    let mut f = Fleet::new(HorizontalConfig::Target(config()), 10);
    assert_eq!(f.step(0, Obs::Value(275.0)), 10, "ratio exactly 1.1 stays");
    assert_eq!(f.step(20, Obs::Value(225.0)), 10, "ratio exactly 0.9 stays");
    assert_eq!(
        f.step(40, Obs::Value(276.0)),
        12,
        "just past the edge scales"
    );
    insta::assert_snapshot!(f.transcript());
}

#[test]
fn up_cooldown_holds_until_it_expires() {
    let mut c = config();
    c.up_cooldown = SignedDuration::from_secs(60);
    let mut f = Fleet::new(HorizontalConfig::Target(c), 2);
    f.boot_secs = 10;
    assert_eq!(f.step(0, Obs::Value(500.0)), 4);
    assert_eq!(f.step(20, Obs::Value(500.0)), 4, "cooldown");
    assert_eq!(f.step(40, Obs::Value(500.0)), 4, "cooldown");
    assert_eq!(f.step(60, Obs::Value(500.0)), 8, "cooldown over");
    insta::assert_snapshot!(f.transcript());
}

#[test]
fn up_stabilization_ignores_a_single_spike() {
    let mut c = config();
    c.up_stabilization = SignedDuration::from_secs(60);
    let mut f = Fleet::new(HorizontalConfig::Target(c), 4);
    f.step(0, Obs::Value(250.0));
    assert_eq!(
        f.step(20, Obs::Value(1000.0)),
        4,
        "one spike: lowest in window is 4"
    );
    f.step(40, Obs::Value(250.0));
    f.step(60, Obs::Value(500.0));
    f.step(80, Obs::Value(500.0));
    assert_eq!(
        f.step(100, Obs::Value(500.0)),
        4,
        "the window [40 s, 100 s] still holds a 4"
    );
    assert_eq!(
        f.step(120, Obs::Value(500.0)),
        8,
        "high for the whole minute"
    );
    insta::assert_snapshot!(f.transcript());
}

#[test]
fn step_limits_and_a_quiet_signal() {
    let mut c = config();
    c.max_step_up = Some(2);
    c.max_step_down = Some(1);
    c.down_stabilization = SignedDuration::ZERO;
    let mut f = Fleet::new(HorizontalConfig::Target(c), 3);
    f.boot_secs = 10;
    assert_eq!(f.step(0, Obs::Value(2500.0)), 5, "+2 at most");
    assert_eq!(f.step(20, Obs::Value(50.0)), 4, "−1 at most");
    assert_eq!(
        f.step(40, Obs::Nothing),
        3,
        "the 20 s old sample is still fresh: −1 again"
    );
    assert_eq!(f.step(100, Obs::Nothing), 3, "no sample for 80 s: hold");
    insta::assert_snapshot!(f.transcript());
}

#[test]
fn from_zero_dynos_any_load_above_target_starts_one() {
    let mut f = Fleet::new(HorizontalConfig::Target(config()), 0);
    assert_eq!(f.step(0, Obs::Value(100.0)), 0);
    assert_eq!(f.step(20, Obs::Value(900.0)), 1);
    insta::assert_snapshot!(f.transcript());
}
