//! Boot time learning: default until observed, p90 of recent boots, bounded memory.

use std::time::Duration;

use dynopilot_core::scaling::{BootTimes, default_boot_time};
use dynopilot_core::{DynoSize, Timestamp};

#[test]
fn uses_the_default_until_a_boot_is_seen_then_the_p90() {
    let std1 = DynoSize::lookup("Standard-1X").unwrap();
    let perf = DynoSize::lookup("Performance-M").unwrap();
    let mut boots = BootTimes::default();
    assert_eq!(boots.estimate(std1), default_boot_time(std1));
    for (i, secs) in [30, 12, 25, 18, 40, 22, 19, 21, 27, 90].iter().enumerate() {
        let start = Timestamp::from_secs(1000 * i as i64);
        assert!(boots.observe(std1, start, Timestamp::from_secs(1000 * i as i64 + secs)));
    }
    // Sorted: 12 18 19 21 22 25 27 30 40 90; nearest-rank p90 of 10 is the 9th: 40 s.
    assert_eq!(boots.estimate(std1), Duration::from_secs(40));
    assert_eq!(
        boots.estimate(perf),
        default_boot_time(perf),
        "sizes are learned apart"
    );
    assert!(!boots.observe(std1, Timestamp::from_secs(10), Timestamp::from_secs(5)));
    assert_eq!(boots.observations(std1), 10);
}

#[test]
fn keeps_only_recent_boots() {
    let std1 = DynoSize::lookup("Standard-1X").unwrap();
    let mut boots = BootTimes::default();
    for i in 0..25 {
        boots.observe(
            std1,
            Timestamp::from_secs(i * 100),
            Timestamp::from_secs(i * 100 + 100),
        );
    }
    for i in 0..20 {
        boots.observe(
            std1,
            Timestamp::from_secs(i * 100),
            Timestamp::from_secs(i * 100 + 10),
        );
    }
    assert_eq!(boots.observations(std1), 20);
    assert_eq!(
        boots.estimate(std1),
        Duration::from_secs(10),
        "the slow old boots aged out"
    );
}
