//! Log fidelity and determinism: every emitted line parses back with the log crate (nothing
//! unrecognised) into the values the world recorded, and the same seed gives the same bytes
//! however time is stepped.

use std::collections::BTreeMap;

use dynopilot_core::DynoSize;
use dynopilot_logplex::{Message, parse_line, parse_message};
use dynopilot_workload::{Model, VecSink, WorkloadConfig};

use crate::support::{START_S, at};

/// The demo app with a fast leak and crashes, scaled, restarted and released along the way.
fn busy_world(seed: u64, step_s: i64) -> (Model, VecSink) {
    let mut config = WorkloadConfig::demo();
    config.seed = seed;
    config.process_types[0].memory.leak_mb_per_hour = 900.0;
    config.process_types[0].crashes_per_day = 24.0;
    let mut model = Model::new(config, at(0)).unwrap();
    let mut sink = VecSink::default();
    let mut t = 0;
    while t < 2 * 3_600 {
        t += step_s;
        match t {
            600 => model.set_formation("web", Some(3), None, at(t)).unwrap(),
            1_800 => model.restart_dyno("web.1", at(t)).unwrap(),
            2_400 => {
                let size = DynoSize::lookup("Standard-2X").unwrap();
                model
                    .set_formation("worker", Some(2), Some(size), at(t))
                    .unwrap();
            }
            3_600 => {
                model.release("deadbeef", "ops@example.com", at(t));
            }
            _ => {}
        }
        model.advance_to(at(t), &mut sink);
    }
    (model, sink)
}

#[test]
fn every_line_parses_to_a_known_kind() {
    let (_, sink) = busy_world(11, 60);
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in &sink.lines {
        let text = entry.to_line();
        let line = parse_line(text.as_bytes()).unwrap_or_else(|| panic!("unparsable line {text}"));
        assert_eq!(
            (line.source, line.process),
            (entry.source, entry.process.as_str())
        );
        assert_eq!(line.message, entry.message.as_bytes());
        let message = parse_message(entry.source, &entry.process, &entry.message);
        assert!(
            !matches!(message, Message::Other(_)),
            "unrecognised: {text}"
        );
        *kinds.entry(message.kind()).or_default() += 1;
    }
    for kind in [
        "router", "memory", "load", "error", "state", "release", "scale", "l2met",
    ] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} lines: {kinds:?}"
        );
    }
}

#[test]
fn router_and_memory_lines_carry_the_recorded_values() {
    let (model, sink) = busy_world(12, 60);
    let truth = model.truth();
    let mut per_minute: BTreeMap<usize, (u64, f64, BTreeMap<String, u64>)> = BTreeMap::new();
    let mut memory: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for l in &sink.lines {
        let minute = ((l.at.as_millis() / 1_000 - START_S) / 60) as usize;
        match parse_message(l.source, &l.process, &l.message) {
            Message::Router(r) => {
                let e = per_minute.entry(minute).or_default();
                e.0 += 1;
                e.1 += r.service_ms.unwrap_or(0.0);
                if let Some(code) = r.code {
                    *e.2.entry(code.to_owned()).or_default() += 1;
                }
            }
            Message::Memory(m) if m.dyno_id.is_some() => {
                memory
                    .entry(m.source.unwrap().to_owned())
                    .or_default()
                    .push(m.total_mb.unwrap());
            }
            _ => {}
        }
    }
    for (minute, (count, service_sum, codes)) in &per_minute {
        let m = &truth.minutes[*minute];
        assert_eq!(m.requests, *count, "minute {minute}");
        assert!(
            (m.latency.sum() - service_sum).abs() < 1e-6 * service_sum.max(1.0),
            "minute {minute}"
        );
        let recorded: BTreeMap<String, u64> =
            m.codes.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert_eq!(&recorded, codes, "minute {minute}");
    }
    for (dyno, logged) in &memory {
        let recorded: Vec<f64> = truth.memory[dyno]
            .iter()
            .map(|p| (p.total_mb * 100.0).round() / 100.0)
            .collect();
        assert_eq!(&recorded, logged, "{dyno}");
    }
    assert!(truth.incidents_of("R14").count() > 0);
}

#[test]
fn same_seed_same_bytes_whatever_the_step() {
    let (a, big_steps) = busy_world(5, 600);
    let (b, small_steps) = busy_world(5, 60);
    let text = |s: &VecSink| s.lines.iter().map(|l| l.to_line()).collect::<Vec<_>>();
    assert_eq!(text(&big_steps), text(&small_steps));
    assert_eq!(a.truth().minutes, b.truth().minutes);
    assert_eq!(a.truth().incidents, b.truth().incidents);
    let (_, other_seed) = busy_world(6, 600);
    assert_ne!(text(&big_steps), text(&other_seed));
}

#[test]
fn real_time_steps_match_one_big_step() {
    let config = WorkloadConfig::demo();
    let mut stepped = Model::new(config.clone(), at(0)).unwrap();
    let mut whole = Model::new(config, at(0)).unwrap();
    let (mut a, mut b) = (VecSink::default(), VecSink::default());
    for ms in (100..=300_000).step_by(100) {
        stepped.advance_to(at(0).plus(std::time::Duration::from_millis(ms)), &mut a);
    }
    whole.advance_to(at(300), &mut b);
    assert_eq!(a.lines, b.lines);
    assert!(a.lines.windows(2).all(|w| w[0].at <= w[1].at), "time order");
}

#[test]
fn cost_follows_dyno_seconds() {
    let (model, _) = busy_world(3, 600);
    let truth = model.truth();
    let expected: f64 = truth
        .dyno_seconds
        .iter()
        .map(|(size, s)| DynoSize::lookup(size).unwrap().dollars_per_hour() * s / 3_600.0)
        .sum();
    assert!((truth.cost_dollars - expected).abs() < 1e-9);
    // Two hours of at least 3 dynos.
    assert!(truth.dyno_seconds.values().sum::<f64>() >= 3.0 * 7_200.0 - 1.0);
}
