//! Every form of the fidelity issue in every text layout: read back with its values
//! (parse ∘ encode = id), and any input line is exactly one record, never a panic.

use dynopilot_core::Timestamp;
use dynopilot_logplex::encode::{self, Record};
use dynopilot_logplex::forms::every_form;
use dynopilot_logplex::layout::{self, LAYOUTS, Layout};
use dynopilot_logplex::message::{ApiEvent, DynoEvent, RouterLine};
use dynopilot_logplex::{Message, TextLine, parse_message, read_line};
use proptest::prelude::*;

/// Reads one written line back: (timestamp, source, process, message).
fn read_back(text: &str) -> Result<(String, String, String, String), TestCaseError> {
    let mut scratch = Vec::new();
    match read_line(text.as_bytes(), &mut scratch) {
        TextLine::Log(l) => Ok((
            l.timestamp.to_owned(),
            l.source.to_owned(),
            l.process.to_owned(),
            String::from_utf8(l.message.to_vec())
                .map_err(|e| TestCaseError::fail(e.to_string()))?,
        )),
        TextLine::Unknown(raw) => Err(TestCaseError::fail(format!(
            "unknown: {}",
            String::from_utf8_lossy(raw)
        ))),
    }
}

fn write(layout: Layout, record: &Record<'_>) -> String {
    let mut out = String::new();
    layout::push(&mut out, layout, record);
    out
}

proptest! {
    #[test]
    fn every_form_in_every_layout_reads_back_with_its_values(seed in any::<u64>(), ms in 0i64..4_102_444_800_000) {
        for (form, entry) in every_form(Timestamp::from_millis(ms), seed) {
            let expected = parse_message(entry.source, &entry.process, &entry.message);
            prop_assert_ne!(expected.kind(), "unknown", "{}", form);
            for layout in LAYOUTS {
                let text = write(layout, &entry.record());
                let (timestamp, source, process, message) = read_back(&text)?;
                prop_assert_eq!(&timestamp, &entry.timestamp, "{} {}", form, layout.name());
                prop_assert_eq!((source.as_str(), process.as_str()), (entry.source, entry.process.as_str()));
                prop_assert_eq!(&message, &entry.message, "{} in {}", form, layout.name());
                prop_assert_eq!(parse_message(&source, &process, &message), expected);
            }
        }
    }

    #[test]
    fn any_message_in_any_layout_reads_back(message in "[^\n\r\u{1b}]{0,200}", process in "(web|worker|run|scheduler|release)\\.[1-9][0-9]{0,3}", source in prop_oneof![Just("app"), Just("heroku")], layout in prop::sample::select(LAYOUTS.to_vec())) {
        // Layout rules that eat a leading token are left out: the syslog NILVALUE `- ` and
        // the optional `:` after `SOURCE[PROC]` in the drain-token rendering.
        prop_assume!(!message.starts_with('-') && !message.starts_with(':') && !message.starts_with(' '));
        let stamp = "2015-06-01T12:00:00.000000+00:00";
        let record = Record { priority: 190, timestamp: stamp, source, process: &process, message: &message };
        let (timestamp, s, p, m) = read_back(&write(layout, &record))?;
        prop_assert_eq!((timestamp.as_str(), s.as_str(), p.as_str()), (stamp, source, process.as_str()));
        prop_assert_eq!(m.trim_end(), message.trim_end());
    }

    #[test]
    fn legacy_router_lines_round_trip(
        code in prop::option::of("H[0-9]{2}"),
        method in "(GET|POST|PUT|DELETE|HEAD)",
        host in "[a-z][a-z0-9-]{0,20}\\.heroku(app)?\\.com(:[0-9]{2,5})?",
        path in "/[a-zA-Z0-9/_.?=&-]{0,40}",
        dyno in "web\\.[1-9][0-9]?",
        queue in prop::option::of(0u64..100),
        wait in prop::option::of(0u32..10_000),
        service in prop::option::of(0u32..30_000),
        status in prop::option::of(100u16..600),
        bytes in prop::option::of(0u64..10_000_000),
    ) {
        let line = RouterLine {
            at: Some(if code.is_some() { "error" } else { "info" }),
            desc: code.as_ref().map(|_| "Request timeout"),
            code: code.as_deref(),
            method: Some(&method),
            host: Some(&host),
            path: Some(&path),
            dyno: Some(&dyno),
            queue,
            wait_ms: wait.map(f64::from),
            service_ms: service.map(f64::from),
            status,
            bytes,
            ..RouterLine::default()
        };
        let text = encode::router_legacy(&line);
        let Message::Router(parsed) = parse_message("heroku", "router", &text) else {
            return Err(TestCaseError::fail(format!("not router: {text}")));
        };
        prop_assert_eq!(parsed, RouterLine { raw: &text, ..line });
    }

    #[test]
    fn audit_lines_in_both_wordings_round_trip(
        version in any::<u32>(),
        commit in "[0-9a-f]{7,40}",
        user in "[a-z0-9.]{1,12}@[a-z]{1,8}\\.com",
        quantities in prop::collection::vec(("[a-z][a-z_-]{0,9}", 0u32..100), 1..4),
        action in "(Build started|Build succeeded|Enable Logplex|Initial release|Attach DATABASE|@ref:redis-[a-z]{3,9}-[0-9]{3,5} completed provisioning, setting REDIS_URL\\.)",
    ) {
        let quantities = quantities.iter().map(|(t, q)| format!("{t}={q}")).collect::<Vec<_>>().join(", ");
        for event in [
            ApiEvent::Release { version, user: Some(&user) },
            ApiEvent::Deploy { commit: &commit, user: Some(&user) },
            ApiEvent::ScaleTo { quantities: &quantities, user: Some(&user) },
            ApiEvent::Audit { action: &action, user: Some(&user) },
            ApiEvent::Audit { action: &action, user: None },
        ] {
            for (source, text) in [("heroku", encode::api_event_legacy(&event)), ("app", encode::api_event(&event))] {
                prop_assert_eq!(parse_message(source, "api", &text), Message::Release(event), "{}", text);
            }
        }
    }

    #[test]
    fn one_off_dyno_events_round_trip(n in 1u32..100_000) {
        for process in [format!("run.{n}"), format!("scheduler.{n}"), format!("release.{n}")] {
            for event in [DynoEvent::AwaitingClient, DynoEvent::ClientClosed, DynoEvent::StateChanged { from: "up", to: "complete" }] {
                let text = encode::dyno_event(&event);
                prop_assert_eq!(parse_message("heroku", &process, &text), Message::State(event));
            }
        }
    }

    #[test]
    fn every_input_line_is_exactly_one_record(lines in prop::collection::vec(prop_oneof![
        "[^\n]{0,120}",
        prop::collection::vec(any::<u8>(), 0..120).prop_map(|b| String::from_utf8_lossy(&b).replace('\n', " ")),
        "\u{1b}\\[[0-9;]{0,6}m?[ -~]{0,60}",
        "<[0-9]{1,3}>1? ?[ -~]{0,80}",
        "2015-06-01T12:00:00(\\.[0-9]{6})?\\+00:00 [ -~]{0,80}",
    ], 0..30)) {
        for line in &lines {
            let mut scratch = Vec::new();
            match read_line(line.as_bytes(), &mut scratch) {
                TextLine::Log(l) => {
                    let _ = dynopilot_logplex::parse_message_bytes(l.source, l.process, l.message);
                }
                TextLine::Unknown(raw) => prop_assert!(raw.len() <= line.len()),
            }
        }
    }
}
