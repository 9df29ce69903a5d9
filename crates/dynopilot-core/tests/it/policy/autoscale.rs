//! The scaling algorithms wired through the engine: guardrails bound what they recommend.

use dynopilot_core::Timestamp;
use dynopilot_core::policy::{Config, ProcessTypeConfig, RouterWindow};
use dynopilot_core::scaling::{HorizontalConfig, Signal, TargetConfig, VerticalConfig};

use super::harness::{Scenario, app, memory};

fn queue_window(end: Timestamp, p95_ms: f64) -> RouterWindow {
    let mut w = RouterWindow {
        start: Timestamp::from_millis(end.as_millis() - 20_000),
        end,
        count: 100,
        status_2xx: 100,
        ..RouterWindow::default()
    };
    w.queue_ms.add_n(p95_ms, 100);
    w.service_ms.add_n(50.0, 100);
    w
}

#[test]
fn target_tracking_is_capped_by_max_and_notifies() {
    let mut c = Config::new("shop");
    c.process_types.insert(
        "web".into(),
        ProcessTypeConfig {
            min: Some(1),
            max: Some(4),
            autoscale: Some(HorizontalConfig::Target(TargetConfig {
                signal: Signal::QueueTimeP95,
                target: 100.0,
                ..TargetConfig::default()
            })),
            ..ProcessTypeConfig::default()
        },
    );
    let mut s = Scenario::new(c, app(&[("web", 2, "Standard-1X")]));
    s.step("12:00:00", "web queue p95 300ms", |o, t| {
        o.process_types
            .get_mut("web")
            .unwrap()
            .router
            .push(queue_window(t, 300.0));
    });
    s.step("12:00:20", "now 4 dynos; queue p95 300ms", |o, t| {
        let pt = o.process_types.get_mut("web").unwrap();
        pt.formation.as_mut().unwrap().quantity = 4;
        pt.router.push(queue_window(t, 300.0));
    });
    insta::assert_snapshot!(s.transcript());
    let first = &s.decisions[0];
    assert!(
        !first.limited_by.is_empty(),
        "the scale-out was capped at max 4"
    );
}

#[test]
fn vertical_scaler_resizes_within_max_size() {
    let mut c = Config::new("shop");
    c.process_types.insert(
        "worker".into(),
        ProcessTypeConfig {
            max_size: Some("Standard-2X".into()),
            vertical: Some(VerticalConfig::default()),
            ..ProcessTypeConfig::default()
        },
    );
    let mut s = Scenario::new(c, app(&[("worker", 2, "Standard-1X")]));
    for hms in [
        "12:00:00", "12:00:20", "12:00:40", "12:01:00", "12:01:20", "12:01:40", "12:02:00",
        "12:02:20",
    ] {
        s.step(hms, "worker.1 memory 500MB/512MB", |o, t| {
            memory(o, "worker.1", t, 500.0, 512.0)
        });
    }
    insta::assert_snapshot!(s.transcript());
}
