//! Transcripts of the `streak` algorithm: fails add, passes remove, a middling sample breaks
//! the streak, a scale restarts counting, timeouts fail, and sub-second thresholds stay exact.

use dynopilot_core::scaling::{HorizontalConfig, StreakConfig};
use jiff::SignedDuration;

use super::support::{Fleet, Obs};

fn config() -> StreakConfig {
    StreakConfig {
        fails: 3,
        passes: 4,
        ..StreakConfig::default()
    }
}

#[test]
fn consecutive_fails_add_and_consecutive_passes_remove() {
    let mut f = Fleet::new(HorizontalConfig::Streak(config()), 2);
    f.boot_secs = 15;
    f.step(0, Obs::Value(1500.0));
    f.step(20, Obs::Value(1200.0));
    assert_eq!(
        f.step(40, Obs::Value(500.0)),
        2,
        "a sample in the band breaks the streak"
    );
    f.step(60, Obs::Value(1100.0));
    f.step(80, Obs::Value(f64::INFINITY));
    assert_eq!(
        f.step(100, Obs::Value(1300.0)),
        3,
        "three fails in a row (a timeout fails)"
    );
    assert_eq!(
        f.step(120, Obs::Value(1300.0)),
        3,
        "the scale restarted the count"
    );
    assert_eq!(
        f.step(120, Obs::Nothing),
        3,
        "re-evaluating the same samples counts nothing"
    );
    for secs in [140, 160, 180, 200] {
        f.step(secs, Obs::Value(100.0));
    }
    assert_eq!(f.current, 2, "four passes in a row remove one");
    insta::assert_snapshot!(f.transcript());
}

#[test]
fn a_500ms_threshold_is_500ms_not_zero() {
    // The heartbeat autoscaler divided 500 ms by 1000 in integers: a 0 s timeout, every ping
    // failed, and the app scaled to max. Here 400 ms must pass the 500 ms ceiling.
    let c = StreakConfig {
        min_response_time: SignedDuration::from_millis(100),
        max_response_time: SignedDuration::from_millis(500),
        ..config()
    };
    let mut f = Fleet::new(HorizontalConfig::Streak(c), 2);
    for secs in [0, 20, 40, 60] {
        assert_eq!(f.step(secs, Obs::Value(400.0)), 2);
    }
    f.step(80, Obs::Value(501.0));
    f.step(100, Obs::Value(502.0));
    assert_eq!(f.step(120, Obs::Value(503.0)), 3);
    insta::assert_snapshot!(f.transcript());
}
