//! Properties: encode → parse round trips, and arbitrary bytes never panic and always end.

use dynopilot_core::Timestamp;
use dynopilot_logplex::encode::{self, Record};
use dynopilot_logplex::frame::{FrameReader, Step};
use dynopilot_logplex::message::{
    ApiEvent, DynoEvent, LoadSample, MemorySample, PlatformError, RouterLine,
};
use dynopilot_logplex::{
    Message, parse_body, parse_line, parse_message, parse_message_bytes, timestamp,
};
use proptest::prelude::*;

fn process() -> impl Strategy<Value = String> {
    prop_oneof![
        "(web|worker|clock|run)\\.[1-9][0-9]{0,2}",
        Just("router".to_owned()),
        Just("api".to_owned()),
    ]
}

fn record_parts() -> impl Strategy<Value = (u16, i64, &'static str, String, String)> {
    (
        0u16..192,
        0i64..4_102_444_800_000,
        prop_oneof![Just("app"), Just("heroku")],
        process(),
        "[^\n\r]{0,300}",
    )
}

proptest! {
    #[test]
    fn drain_bodies_round_trip(parts in prop::collection::vec(record_parts(), 0..20)) {
        let stamps: Vec<String> = parts.iter().map(|p| timestamp::format(Timestamp::from_millis(p.1))).collect();
        let records: Vec<Record<'_>> = parts.iter().zip(&stamps).map(|(p, ts)| Record {
            priority: p.0, timestamp: ts, source: p.2, process: &p.3, message: &p.4,
        }).collect();
        let (body, count) = encode::encode_body(&records);
        let parsed = parse_body(&body);
        prop_assert_eq!(&parsed.issues, &vec![]);
        prop_assert_eq!(parsed.frames.len(), count);
        for (frame, record) in parsed.frames.iter().zip(&records) {
            prop_assert_eq!(frame.priority, record.priority);
            prop_assert_eq!(frame.timestamp, record.timestamp);
            prop_assert_eq!(frame.source, record.source);
            prop_assert_eq!(frame.process, record.process);
            let expected = record.message.strip_prefix("- ").or((record.message == "-").then_some("")).unwrap_or(record.message);
            prop_assert_eq!(frame.message, expected.as_bytes());
        }
    }

    #[test]
    fn timestamps_round_trip(ms in 0i64..4_102_444_800_000) {
        let t = Timestamp::from_millis(ms);
        prop_assert_eq!(timestamp::parse(&timestamp::format(t)), Some(t));
    }

    #[test]
    fn log_lines_round_trip(p in record_parts()) {
        let ts = timestamp::format(Timestamp::from_millis(p.1));
        let mut out = String::new();
        encode::push_line(&mut out, &Record { priority: p.0, timestamp: &ts, source: p.2, process: &p.3, message: &p.4 });
        let line = parse_line(out.as_bytes()).expect("encoded line parses");
        prop_assert_eq!(line.timestamp, ts.as_str());
        prop_assert_eq!((line.source, line.process), (p.2, p.3.as_str()));
        prop_assert_eq!(line.message, p.4.as_bytes());
    }

    #[test]
    fn streaming_in_chunks_matches_whole_body(parts in prop::collection::vec(record_parts(), 1..10), chunk in 1usize..400) {
        let stamps: Vec<String> = parts.iter().map(|p| timestamp::format(Timestamp::from_millis(p.1))).collect();
        let records: Vec<Record<'_>> = parts.iter().zip(&stamps).map(|(p, ts)| Record {
            priority: p.0, timestamp: ts, source: p.2, process: &p.3, message: &p.4,
        }).collect();
        let (body, _) = encode::encode_body(&records);
        let whole: Vec<Vec<u8>> = parse_body(&body).frames.iter().map(|f| f.message.to_vec()).collect();
        let mut buffer = Vec::new();
        let mut streamed = Vec::new();
        for piece in body.chunks(chunk) {
            buffer.extend_from_slice(piece);
            let mut reader = FrameReader::new(&buffer);
            while let Some(step) = reader.next_step(false) {
                if let Step::Frame(f) = step { streamed.push(f.message.to_vec()); }
            }
            let used = reader.position();
            buffer.drain(..used);
        }
        let mut reader = FrameReader::new(&buffer);
        while let Some(step) = reader.next_step(true) {
            if let Step::Frame(f) = step { streamed.push(f.message.to_vec()); }
        }
        prop_assert_eq!(streamed, whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let parsed = parse_body(&bytes);
        prop_assert!(parsed.frames.len() + parsed.issues.len() <= bytes.len());
        for frame in &parsed.frames {
            prop_assert_eq!(frame.text, std::str::from_utf8(frame.message).ok());
        }
        let _ = parse_line(&bytes);
        for source in ["app", "heroku"] {
            for process in ["router", "web.1", "api", "heroku-postgres"] {
                let _ = parse_message_bytes(source, process, &bytes);
            }
        }
    }

    #[test]
    fn frame_text_is_set_exactly_when_the_message_is_utf8(
        messages in prop::collection::vec(prop_oneof![
            "[a-zé€ 😀=\"]{0,40}".prop_map(String::into_bytes),
            // A leading `-` is left out: the syslog layout's NILVALUE (`- `) is recognised on
            // the valid UTF-8 prefix, a separate rule with its own tests.
            prop::collection::vec(any::<u8>(), 0..40).prop_filter("no leading -", |m| m.first() != Some(&b'-')),
        ], 1..12),
        chunk in 1usize..300,
    ) {
        // The reader checks UTF-8 over long runs of the body and slices frames out of them;
        // invalid bytes anywhere must only affect their own frame.
        let mut body = Vec::new();
        for message in &messages {
            let head = b"<190>1 2024-01-01T00:00:00.000000+00:00 host app web.1 - ";
            body.extend_from_slice(format!("{} ", head.len() + message.len() + 1).as_bytes());
            body.extend_from_slice(head);
            body.extend_from_slice(message);
            body.push(b'\n');
        }
        let check = |frames: &[(Vec<u8>, Option<String>)]| -> Result<(), TestCaseError> {
            prop_assert_eq!(frames.len(), messages.len());
            for ((message, text), expected) in frames.iter().zip(&messages) {
                let expected = expected.strip_suffix(b"\r").unwrap_or(expected);
                prop_assert_eq!(message.as_slice(), expected);
                prop_assert_eq!(text.as_deref(), std::str::from_utf8(expected).ok());
            }
            Ok(())
        };
        let owned = |f: &dynopilot_logplex::Frame<'_>| (f.message.to_vec(), f.text.map(str::to_owned));
        let whole: Vec<_> = parse_body(&body).frames.iter().map(owned).collect();
        check(&whole)?;
        let mut buffer = Vec::new();
        let mut streamed = Vec::new();
        for piece in body.chunks(chunk) {
            buffer.extend_from_slice(piece);
            let mut reader = FrameReader::new(&buffer);
            while let Some(step) = reader.next_step(false) {
                if let Step::Frame(f) = step { streamed.push(owned(&f)); }
            }
            let used = reader.position();
            buffer.drain(..used);
        }
        let mut reader = FrameReader::new(&buffer);
        while let Some(step) = reader.next_step(true) {
            if let Step::Frame(f) = step { streamed.push(owned(&f)); }
        }
        check(&streamed)?;
    }

    #[test]
    fn near_miss_drain_bodies_never_panic(parts in prop::collection::vec(record_parts(), 1..5), cut in any::<prop::sample::Index>(), junk in prop::collection::vec(any::<u8>(), 0..20)) {
        let stamps: Vec<String> = parts.iter().map(|p| timestamp::format(Timestamp::from_millis(p.1))).collect();
        let records: Vec<Record<'_>> = parts.iter().zip(&stamps).map(|(p, ts)| Record {
            priority: p.0, timestamp: ts, source: p.2, process: &p.3, message: &p.4,
        }).collect();
        let (mut body, _) = encode::encode_body(&records);
        let at = cut.index(body.len());
        body.splice(at..at, junk);
        let parsed = parse_body(&body);
        prop_assert!(parsed.frames.len() <= parts.len() + 1);
    }

    #[test]
    fn router_lines_round_trip(
        code in prop::option::of("H[0-9]{2}"),
        method in "(GET|POST|PUT|DELETE)",
        path in "/[a-z0-9/_.?=&-]{0,40}",
        dyno in prop::option::of("web\\.[1-9]"),
        connect in prop::option::of(0u32..5000),
        service in prop::option::of(0u32..30000),
        status in prop::option::of(100u16..600),
        bytes in prop::option::of(0u64..10_000_000),
        tls in prop::option::of("TLSv1\\.[23]"),
    ) {
        let line = RouterLine {
            at: Some(if code.is_some() { "error" } else { "info" }),
            desc: code.as_ref().map(|_| "Request timeout"),
            code: code.as_deref(),
            method: Some(&method),
            path: Some(&path),
            host: Some("shop.herokuapp.com"),
            request_id: Some("6d7bc072-5405-402d-ab52-030405b9db9c"),
            fwd: Some("94.234.117.51"),
            dyno: dyno.as_deref(),
            connect_ms: connect.map(f64::from),
            service_ms: service.map(f64::from),
            status,
            bytes,
            protocol: Some("https"),
            tls_version: tls.as_deref(),
            ..RouterLine::default()
        };
        let text = encode::router(&line);
        let Message::Router(parsed) = parse_message("heroku", "router", &text) else {
            return Err(TestCaseError::fail(format!("not router: {text}")));
        };
        prop_assert_eq!(parsed, RouterLine { raw: &text, ..line });
    }

    #[test]
    fn memory_and_load_round_trip(values in prop::collection::vec(0u32..2_000_000, 6), pages in (0u64..u32::MAX as u64, 0u64..u32::MAX as u64)) {
        let mb = |i: usize| Some(f64::from(values[i]) / 100.0);
        let sample = MemorySample {
            source: Some("web.3"),
            dyno_id: Some("heroku.2808254.d97d0ea7-cf3d-411b-b453-d2943a50b456"),
            total_mb: mb(0), rss_mb: mb(1), cache_mb: mb(2), swap_mb: mb(3),
            pgpgin_pages: Some(pages.0), pgpgout_pages: Some(pages.1),
            quota_mb: Some(512.0), quota_pct: None,
        };
        let text = encode::memory(&sample);
        let Message::Memory(parsed) = parse_message("heroku", "web.3", &text) else {
            return Err(TestCaseError::fail(text));
        };
        prop_assert_eq!(parsed, MemorySample { quota_pct: parsed.quota_pct, ..sample });
        let load = LoadSample { source: Some("web.3"), dyno_id: Some("heroku.1.x"), avg_1m: mb(4), avg_5m: mb(5), avg_15m: None };
        let text = encode::load(&load);
        prop_assert_eq!(parse_message("heroku", "web.3", &text), Message::Load(load));
    }

    #[test]
    fn platform_lines_round_trip(status in any::<i32>(), version in any::<u32>(), qty in prop::collection::vec(0u32..100, 1..4)) {
        let events = [
            DynoEvent::StateChanged { from: "starting", to: "up" },
            DynoEvent::Exited { status: Some(status) },
            DynoEvent::Exited { status: None },
            DynoEvent::Stopping { signal: "SIGTERM", all: true },
            DynoEvent::Stopping { signal: "SIGKILL", all: false },
            DynoEvent::Starting { command: "bundle exec puma -C config/puma.rb" },
            DynoEvent::Cycling, DynoEvent::Restarting, DynoEvent::Idling, DynoEvent::Relocating,
        ];
        for event in events {
            let text = encode::dyno_event(&event);
            prop_assert_eq!(parse_message("heroku", "web.1", &text), Message::State(event));
        }
        for error in [
            PlatformError { code: "R14", desc: Some("Memory quota exceeded"), detail: None },
            PlatformError { code: "R10", desc: Some("Boot timeout"), detail: Some("Web process failed to bind to $PORT within 60 seconds of launch") },
            PlatformError { code: "L10", desc: Some("output buffer overflow"), detail: Some("500 messages dropped since 2013-04-17T19:04:46+00:00.") },
        ] {
            let text = encode::platform_error(&error);
            prop_assert_eq!(parse_message("heroku", "web.1", &text), Message::Error(error));
        }
        for event in [
            ApiEvent::Release { version, user: Some("a@b.c") },
            ApiEvent::Rollback { version, user: Some("a@b.c") },
            ApiEvent::Deploy { commit: "4c3bb32c", user: Some("a@b.c") },
            ApiEvent::ConfigVars { set: false, names: "A, B", user: Some("a@b.c") },
        ] {
            let text = encode::api_event(&event);
            prop_assert_eq!(parse_message("app", "api", &text), Message::Release(event));
        }
        let names = ["web", "worker", "clock_2"];
        let entries: Vec<_> = qty.iter().enumerate().map(|(i, q)| (names[i], *q, "Standard-1X")).collect();
        let text = encode::scaled(entries.clone(), Some("a@b.c"));
        let Message::Scale(scale) = parse_message("app", "api", &text) else {
            return Err(TestCaseError::fail(text));
        };
        let parsed: Vec<_> = scale.entries().map(|e| (e.process_type, e.quantity, e.size)).collect();
        prop_assert_eq!(parsed, entries);
    }
}
