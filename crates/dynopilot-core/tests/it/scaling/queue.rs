//! Transcripts of the `queue` algorithm: depth and latency, no scale-in while jobs run, and
//! scale to zero only after the idle time.

use dynopilot_core::scaling::{HorizontalConfig, QueueConfig};
use jiff::SignedDuration;

use super::support::{Fleet, Obs};

fn config() -> QueueConfig {
    QueueConfig {
        jobs_per_dyno: Some(10.0),
        latency_target: Some(SignedDuration::from_secs(30)),
        scale_to_zero_after: Some(SignedDuration::from_mins(2)),
        max_step_down: None,
        up_cooldown: SignedDuration::ZERO,
        down_cooldown: SignedDuration::ZERO,
        ..QueueConfig::default()
    }
}

fn q(depth: u64, busy: u64, latency_ms: f64) -> Obs {
    Obs::Queue {
        depth,
        busy,
        latency_ms,
    }
}

#[test]
fn scales_out_on_depth_holds_while_busy_and_goes_to_zero_when_idle() {
    let mut f = Fleet::new(HorizontalConfig::Queue(config()), 1);
    f.boot_secs = 20;
    assert_eq!(f.step(0, q(35, 5, 12_000.0)), 4, "ceil(40 / 10) = 4");
    // All queued jobs were taken: a pending-only count would read 0 and scale in under load.
    assert_eq!(f.step(30, q(0, 4, 0.0)), 4, "4 running: no scale-in");
    assert_eq!(f.step(60, q(0, 1, 0.0)), 4, "1 running: still no scale-in");
    assert_eq!(f.step(90, q(0, 0, 0.0)), 1, "idle: down to one");
    assert_eq!(f.step(150, q(0, 0, 0.0)), 1, "idle 1m < 2m");
    assert_eq!(f.step(210, q(0, 0, 0.0)), 0, "idle 2m: zero");
    assert_eq!(f.step(240, q(0, 0, 0.0)), 0);
    assert_eq!(f.step(270, q(2, 0, 800.0)), 1, "a job arrives: wake one");
    insta::assert_snapshot!(f.transcript());
}

#[test]
fn latency_asks_for_more_than_depth() {
    let mut f = Fleet::new(HorizontalConfig::Queue(config()), 2);
    assert_eq!(
        f.step(0, q(12, 4, 90_000.0)),
        6,
        "ceil(2 × 90s / 30s) = 6 beats ceil(16/10) = 2"
    );
    insta::assert_snapshot!(f.transcript());
}

#[test]
fn without_scale_to_zero_keeps_one() {
    let c = QueueConfig {
        scale_to_zero_after: None,
        ..config()
    };
    let mut f = Fleet::new(HorizontalConfig::Queue(c), 3);
    assert_eq!(f.step(0, q(0, 0, 0.0)), 1);
    assert_eq!(f.step(600, q(0, 0, 0.0)), 1);
    insta::assert_snapshot!(f.transcript());
}
