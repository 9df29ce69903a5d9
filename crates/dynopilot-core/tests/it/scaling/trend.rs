//! Transcripts of the `trend` algorithm, including the slow-but-flat case the Pingdom
//! autoscaler missed and too few samples for a slope.

use dynopilot_core::scaling::{HorizontalConfig, TrendConfig};
use jiff::SignedDuration;

use super::support::{Fleet, Obs};

fn config() -> TrendConfig {
    TrendConfig {
        window: SignedDuration::from_mins(2),
        up_cooldown: SignedDuration::ZERO,
        down_cooldown: SignedDuration::ZERO,
        ..TrendConfig::default()
    }
}

#[test]
fn slow_but_flat_still_scales_up() {
    let mut f = Fleet::new(HorizontalConfig::Trend(config()), 3);
    f.boot_secs = 30;
    assert_eq!(f.step(0, Obs::Value(2500.0)), 3, "one sample: no slope yet");
    f.step(20, Obs::Value(2500.0));
    assert_eq!(
        f.step(40, Obs::Value(2500.0)),
        4,
        "mean ≥ high, slope 0: add"
    );
    insta::assert_snapshot!(f.transcript());
}

#[test]
fn rising_within_band_adds_and_falling_removes() {
    let mut f = Fleet::new(HorizontalConfig::Trend(config()), 3);
    f.boot_secs = 10;
    f.step(0, Obs::Value(400.0));
    f.step(20, Obs::Value(450.0));
    assert_eq!(f.step(40, Obs::Value(500.0)), 4, "2.5 ms/s > 0.5: add");
    f.step(160, Obs::Value(900.0));
    f.step(180, Obs::Value(700.0));
    assert_eq!(f.step(200, Obs::Value(500.0)), 3, "−10 ms/s: remove");
    insta::assert_snapshot!(f.transcript());
}

#[test]
fn slow_but_recovering_holds_and_fast_and_flat_removes() {
    let mut f = Fleet::new(HorizontalConfig::Trend(config()), 4);
    f.step(0, Obs::Value(3000.0));
    f.step(20, Obs::Value(2600.0));
    assert_eq!(
        f.step(40, Obs::Value(2200.0)),
        4,
        "slow but falling fast: wait"
    );
    f.step(200, Obs::Value(100.0));
    f.step(220, Obs::Value(100.0));
    assert_eq!(f.step(240, Obs::Value(100.0)), 3, "fast and flat: remove");
    insta::assert_snapshot!(f.transcript());
}
