//! Memory: a leak crosses the quota (R14 with swap growing) and then the size's kill point (R15),
//! and the dyno comes back with a new instance id.

use dynopilot_logplex::{Message, parse_message};
use dynopilot_workload::{DynoState, ServiceDistribution, VecSink};

use crate::support::{queueing, run, web};

struct Sample {
    instance: String,
    total: f64,
    rss_swap: f64,
}

fn samples(sink: &VecSink) -> Vec<(usize, Sample)> {
    sink.lines
        .iter()
        .enumerate()
        .filter_map(
            |(i, l)| match parse_message(l.source, &l.process, &l.message) {
                Message::Memory(m) if m.dyno_id.is_some() => Some((
                    i,
                    Sample {
                        instance: m.dyno_id?.to_owned(),
                        total: m.total_mb?,
                        rss_swap: m.rss_mb? + m.swap_mb?,
                    },
                )),
                _ => None,
            },
        )
        .collect()
}

fn first_error(sink: &VecSink, code: &str) -> usize {
    sink.lines
        .iter()
        .position(|l| l.message == format!("Error {code} ({})", description(code)))
        .unwrap_or_else(|| panic!("no {code}"))
}

fn description(code: &str) -> &'static str {
    if code == "R14" {
        "Memory quota exceeded"
    } else {
        "Memory quota vastly exceeded"
    }
}

fn leaking(size: &str, leak_mb_per_hour: f64) -> (dynopilot_workload::Model, VecSink) {
    let mut w = web(1, 2, size);
    w.memory.base_mb = 100.0;
    w.memory.leak_mb_per_hour = leak_mb_per_hour;
    let config = queueing(1.0, 20.0, ServiceDistribution::Lognormal, w);
    run(config, 3 * 3_600, 600)
}

fn check_size(size: &str, quota: f64, kill: f64, leak: f64) {
    let (model, sink) = leaking(size, leak);
    let samples = samples(&sink);
    let r14 = first_error(&sink, "R14");
    let r15 = first_error(&sink, "R15");
    assert!(r14 < r15, "R14 comes before R15");
    // The last sample before each error is the one that crossed the line.
    let before = |line: usize| {
        samples
            .iter()
            .rev()
            .find(|(i, _)| *i < line)
            .map(|(_, s)| s)
            .unwrap()
    };
    let previous = |line: usize| {
        samples
            .iter()
            .rev()
            .filter(|(i, _)| *i < line)
            .nth(1)
            .map(|(_, s)| s)
            .unwrap()
    };
    assert!(
        before(r14).total > quota && previous(r14).total <= quota,
        "R14 at quota {quota}"
    );
    assert!(
        before(r15).rss_swap >= kill && previous(r15).rss_swap < kill,
        "R15 at {kill} MB"
    );
    let running = parse_message("heroku", "web.1", &sink.lines[r15 - 1].message);
    let Message::Memory(m) = running else {
        panic!("R15 preceded by Process running")
    };
    assert!(m.total_mb.unwrap() >= kill && m.quota_pct.unwrap() >= kill / quota * 100.0 - 1.0);
    // Swap grows while over quota.
    let swap_at_r14 = before(r14).rss_swap - quota.min(before(r14).rss_swap);
    assert!(before(r15).rss_swap - quota > swap_at_r14);
    // Killed, then back with a new instance id.
    let after: Vec<&str> = sink.lines[r15..]
        .iter()
        .take(6)
        .map(|l| l.message.as_str())
        .collect();
    assert!(
        after.contains(&"Stopping process with SIGKILL"),
        "{after:?}"
    );
    assert!(
        after.contains(&"State changed from up to crashed"),
        "{after:?}"
    );
    let killed = &before(r15).instance;
    let next = samples
        .iter()
        .find(|(i, _)| *i > r15)
        .map(|(_, s)| &s.instance)
        .unwrap();
    assert_ne!(killed, next);
    let dyno = &model.dynos()[0];
    assert_ne!(&dyno.instance_id, killed);
    assert!(model.truth().incidents_of("R15").count() >= 1);
}

#[test]
fn standard_1x_hits_r14_over_512_and_r15_at_1024() {
    check_size("Standard-1X", 512.0, 1_024.0, 600.0);
}

#[test]
fn standard_2x_hits_r14_over_1024_and_r15_at_2048() {
    check_size("Standard-2X", 1_024.0, 2_048.0, 1_200.0);
}

#[test]
fn restarted_dyno_comes_back_up() {
    let (model, sink) = leaking("Standard-1X", 600.0);
    let r15 = first_error(&sink, "R15");
    assert!(
        sink.lines[r15..]
            .iter()
            .any(|l| l.message == "State changed from crashed to starting"),
    );
    assert!(
        sink.lines[r15..]
            .iter()
            .any(|l| l.message == "State changed from starting to up")
    );
    assert!(matches!(
        model.dynos()[0].state,
        DynoState::Up | DynoState::Starting
    ));
}
