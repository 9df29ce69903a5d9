//! Lifecycle: formation changes create dynos that boot (starting → up), scale-down stops them,
//! restarts and releases give new instance ids, boot timeouts end in R10.

use dynopilot_core::DynoSize;
use dynopilot_logplex::{Message, parse_message};
use dynopilot_workload::{DynoState, Model, ServiceDistribution, VecSink, WorldError};

use crate::support::{at, queueing, run, web};

fn model(quantity: u32) -> Model {
    let config = queueing(
        5.0,
        50.0,
        ServiceDistribution::Lognormal,
        web(quantity, 2, "Standard-1X"),
    );
    Model::new(config, at(0)).unwrap()
}

fn state_of(model: &Model, name: &str) -> Option<DynoState> {
    model
        .dynos()
        .iter()
        .find(|d| d.name == name)
        .map(|d| d.state)
}

#[test]
fn scaling_up_creates_dynos_that_boot() {
    let mut m = model(1);
    let mut sink = VecSink::default();
    m.advance_to(at(60), &mut sink);
    m.set_formation("web", Some(3), None, at(60)).unwrap();
    assert_eq!(m.formation()[0].quantity, 3);
    m.advance_to(at(61), &mut sink);
    assert_eq!(state_of(&m, "web.3"), Some(DynoState::Starting));
    let created = m
        .dynos()
        .iter()
        .find(|d| d.name == "web.3")
        .unwrap()
        .created_at;
    assert_eq!(created, at(60));
    m.advance_to(at(120), &mut sink);
    assert_eq!(state_of(&m, "web.2"), Some(DynoState::Up));
    assert_eq!(state_of(&m, "web.3"), Some(DynoState::Up));
    // Up after provisioning plus boot: a few seconds, not instantly.
    let up = m
        .dynos()
        .iter()
        .find(|d| d.name == "web.3")
        .unwrap()
        .state_since;
    assert!(up.since(at(60)).as_secs_f64() > 3.0, "{up:?}");
    let scaled = sink.lines.iter().find(|l| l.process == "api").unwrap();
    assert_eq!(
        scaled.message,
        "Scaled to web@3:Standard-1X by user test@example.com"
    );
    assert!(matches!(
        parse_message("app", "api", &scaled.message),
        Message::Scale(_)
    ));
    // The router now spreads requests over all three.
    let late: Vec<_> = sink
        .lines
        .iter()
        .filter(|l| l.at >= at(100) && l.process == "router")
        .collect();
    assert!(late.iter().any(|l| l.message.contains("dyno=web.3 ")));
}

#[test]
fn scaling_down_stops_the_highest_numbers() {
    let mut m = model(3);
    let mut sink = VecSink::default();
    m.advance_to(at(60), &mut sink);
    m.set_formation("web", Some(1), None, at(60)).unwrap();
    // SIGTERM grace is at least 200 ms.
    m.advance_to(
        at(60).plus(std::time::Duration::from_millis(100)),
        &mut sink,
    );
    assert_eq!(state_of(&m, "web.3"), Some(DynoState::Down));
    m.advance_to(at(120), &mut sink);
    let names: Vec<String> = m.dynos().into_iter().map(|d| d.name).collect();
    assert_eq!(names, ["web.1"]);
    let web3: Vec<&str> = sink
        .lines
        .iter()
        .filter(|l| l.process == "web.3" && l.at >= at(60))
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(
        web3.iter()
            .filter(|m| !m.starts_with("source="))
            .copied()
            .collect::<Vec<_>>(),
        [
            "State changed from up to down",
            "Stopping all processes with SIGTERM",
            "Process exited with status 143"
        ]
    );
}

#[test]
fn resize_restarts_every_dyno_on_the_new_size() {
    let mut m = model(2);
    let mut sink = VecSink::default();
    m.advance_to(at(60), &mut sink);
    let before: Vec<String> = m.dynos().into_iter().map(|d| d.instance_id).collect();
    let size = DynoSize::lookup("Standard-2X").unwrap();
    m.set_formation("web", None, Some(size), at(60)).unwrap();
    m.advance_to(at(180), &mut sink);
    for (d, old) in m.dynos().iter().zip(&before) {
        assert_eq!(d.size.name, "Standard-2X");
        assert_ne!(&d.instance_id, old);
        assert_eq!(d.state, DynoState::Up);
    }
    assert!(
        sink.lines
            .iter()
            .any(|l| l.message.contains("sample#memory_quota=1024.00MB"))
    );
    assert!(m.truth().dyno_seconds["Standard-2X"] > 0.0);
}

#[test]
fn restart_gives_a_new_instance_id() {
    let mut m = model(1);
    let mut sink = VecSink::default();
    m.advance_to(at(60), &mut sink);
    let old = m.dynos()[0].instance_id.clone();
    m.restart_dyno("web.1", at(60)).unwrap();
    m.advance_to(at(120), &mut sink);
    let d = &m.dynos()[0];
    assert_ne!(d.instance_id, old);
    assert_eq!(d.state, DynoState::Up);
    let lines: Vec<&str> = sink
        .lines
        .iter()
        .filter(|l| l.process == "web.1" && l.at >= at(60) && !l.message.starts_with("source="))
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(
        &lines[..4],
        [
            "Restarting",
            "State changed from up to starting",
            "Stopping all processes with SIGTERM",
            "Process exited with status 143"
        ]
    );
    assert_eq!(
        m.restart_dyno("web.9", at(120)),
        Err(WorldError::UnknownDyno("web.9".to_owned()))
    );
}

#[test]
fn release_logs_and_restarts_everything() {
    let mut m = model(2);
    let mut sink = VecSink::default();
    m.advance_to(at(60), &mut sink);
    let version = m.release("4c3bb32c", "dev@example.com", at(60));
    assert_eq!(version, 2);
    m.advance_to(at(120), &mut sink);
    let api: Vec<&str> = sink
        .lines
        .iter()
        .filter(|l| l.process == "api")
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(
        api,
        [
            "Deploy 4c3bb32c by user dev@example.com",
            "Release v2 created by user dev@example.com"
        ]
    );
    assert!(
        m.dynos()
            .iter()
            .all(|d| d.release == 2 && d.state == DynoState::Up)
    );
}

#[test]
fn slow_boot_ends_in_r10_and_h20() {
    let mut w = web(1, 2, "Standard-1X");
    w.boot_s = 120.0;
    let config = queueing(2.0, 50.0, ServiceDistribution::Lognormal, w);
    let (m, sink) = run(config, 300, 300);
    let r10 = sink.lines.iter().position(|l| l.message.starts_with("Error R10 (Boot timeout) -> Web process failed to bind to $PORT within 60 seconds of launch")).expect("R10");
    let next: Vec<&str> = sink.lines[r10 + 1..]
        .iter()
        .filter(|l| l.process == "web.1")
        .take(3)
        .map(|l| l.message.as_str())
        .collect();
    assert_eq!(
        next,
        [
            "Stopping process with SIGKILL",
            "Process exited with status 137",
            "State changed from starting to crashed"
        ]
    );
    assert!(m.truth().totals().codes.get("H20").copied().unwrap_or(0) > 0);
}

#[test]
fn no_web_dynos_gives_h14() {
    let config = queueing(
        2.0,
        50.0,
        ServiceDistribution::Lognormal,
        web(0, 2, "Standard-1X"),
    );
    let (_, sink) = run(config, 60, 60);
    let line = sink.lines.iter().find(|l| l.process == "router").unwrap();
    assert!(
        line.message
            .starts_with("at=error code=H14 desc=\"No web processes running\""),
        "{}",
        line.message
    );
    assert!(
        line.message
            .contains(" dyno= connect= service= status=503 bytes= "),
        "{}",
        line.message
    );
}

#[test]
fn too_many_dynos_for_the_size_is_refused() {
    let mut m = model(1);
    let size = DynoSize::lookup("Performance-M").unwrap();
    let err = m
        .set_formation("web", Some(11), Some(size), at(0))
        .unwrap_err();
    assert_eq!(
        err,
        WorldError::TooManyDynos {
            size: "Performance-M",
            max: 10
        }
    );
    assert!(m.set_formation("nope", Some(1), None, at(0)).is_err());
}
