//! Parsing and validation of the scaling configuration: defaults, unknown keys, every problem
//! reported at once with its key path, and the peer bugs the validation must catch.

use dynopilot_core::scaling::{
    HorizontalConfig, QueueConfig, StreakConfig, TargetConfig, TrendConfig, VerticalConfig,
};
use dynopilot_core::validate::Validation;
use jiff::SignedDuration;

fn issues(f: impl FnOnce(&mut Validation)) -> Vec<String> {
    let mut v = Validation::new();
    f(&mut v);
    v.issues().iter().map(ToString::to_string).collect()
}

#[test]
fn parses_durations_as_written_and_fills_defaults() {
    let c: HorizontalConfig = serde_json::from_str(
        r#"{"algorithm": "streak", "min_response_time": "150ms", "max_response_time": "0.5s"}"#,
    )
    .unwrap();
    let HorizontalConfig::Streak(s) = &c else {
        panic!("not streak: {c:?}")
    };
    assert_eq!(s.max_response_time, SignedDuration::from_millis(500));
    assert_eq!(s.min_response_time, SignedDuration::from_millis(150));
    assert_eq!(s.fails, StreakConfig::default().fails);
    assert!(issues(|v| c.validate("web.autoscale", v)).is_empty());
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["max_response_time"], "500ms");
    assert_eq!(json["algorithm"], "streak");
}

#[test]
fn rejects_unknown_keys_and_algorithms() {
    let typo = serde_json::from_str::<HorizontalConfig>(r#"{"algorithm": "target", "targte": 5}"#);
    assert!(typo.unwrap_err().to_string().contains("targte"));
    assert!(serde_json::from_str::<HorizontalConfig>(r#"{"algorithm": "magic"}"#).is_err());
    assert!(serde_json::from_str::<VerticalConfig>(r#"{"max": "Performance-L"}"#).is_err());
}

#[test]
fn defaults_are_valid() {
    for c in [
        HorizontalConfig::Target(TargetConfig::default()),
        HorizontalConfig::Streak(StreakConfig::default()),
        HorizontalConfig::Trend(TrendConfig::default()),
        HorizontalConfig::Queue(QueueConfig::default()),
    ] {
        assert_eq!(
            issues(|v| c.validate("x", v)),
            Vec::<String>::new(),
            "{c:?}"
        );
    }
    assert!(issues(|v| VerticalConfig::default().validate("x", v)).is_empty());
}

#[test]
fn reports_every_target_problem_at_once() {
    let c = TargetConfig {
        target: 0.5,
        tolerance: 1.5,
        down_stabilization: SignedDuration::from_secs(5),
        up_cooldown: SignedDuration::from_secs(-1),
        max_step_up: Some(0),
        max_sample_age: SignedDuration::from_secs(10),
        ..TargetConfig::default()
    };
    insta::assert_snapshot!(issues(|v| c.validate("apps.shop.web.autoscale", v)).join("\n"));
}

#[test]
fn reports_streak_and_trend_problems_including_sub_millisecond_thresholds() {
    let streak = StreakConfig {
        min_response_time: SignedDuration::from_millis(900),
        max_response_time: SignedDuration::from_micros(500),
        fails: 0,
        signal: dynopilot_core::scaling::Signal::LoadPerDyno,
        ..StreakConfig::default()
    };
    // The Pingdom autoscaler's sample config (trend low 0.5) crashed on load; here it is one
    // issue among the others.
    let trend = TrendConfig {
        window: SignedDuration::from_secs(10),
        low_slope: 0.5,
        high_slope: -1.0,
        low_response_time: SignedDuration::from_secs(3),
        min_samples: 1,
        ..TrendConfig::default()
    };
    let mut all = issues(|v| streak.validate("a.streak", v));
    all.extend(issues(|v| trend.validate("a.trend", v)));
    insta::assert_snapshot!(all.join("\n"));
}

#[test]
fn reports_queue_and_vertical_problems() {
    let queue = QueueConfig {
        jobs_per_dyno: None,
        latency_target: None,
        scale_to_zero_after: Some(SignedDuration::from_secs(5)),
        ..QueueConfig::default()
    };
    let vertical = VerticalConfig {
        upscale_percent: 40.0,
        downscale_percent: 60.0,
        max_size: Some("Standard-3X".to_owned()),
        ladder: Some(vec![
            "Performance-M".into(),
            "Standard-2X".into(),
            "Basic".into(),
        ]),
        downscale_after: SignedDuration::from_secs(1),
        ..VerticalConfig::default()
    };
    let mut all = issues(|v| queue.validate("w.queue", v));
    all.extend(issues(|v| vertical.validate("w.vertical", v)));
    insta::assert_snapshot!(all.join("\n"));
}
