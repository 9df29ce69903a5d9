//! Drain bodies: the documented frame shapes and every tolerated deviation.

use dynopilot_logplex::frame::{FrameReader, Step};
use dynopilot_logplex::{FrameIssueKind, MsgCountCheck, parse_body};

const ROUTER: &str = "267 <158>1 2020-01-08T22:33:57.353034+00:00 host heroku router - at=info method=GET path=\"/cart_link\" host=lumberjack-store.timber.io request_id=05726858-c44e-4f94-9a20-37df73be9006 fwd=\"73.75.38.87\" dyno=web.1 connect=1ms service=22ms status=304 bytes=656 protocol=http\n";
const METRICS: &str = "334 <45>1 2016-08-19T11:23:01.581780+00:00 host heroku web.1 - source=web.1 dyno=heroku.54241834.4b88c98d-6243-4194-af49-8db9b53be371 sample#memory_total=154.85MB sample#memory_rss=139.79MB sample#memory_cache=3.63MB sample#memory_swap=11.43MB sample#memory_pgpgin=80522pages sample#memory_pgpgout=53004pages sample#memory_quota=512.00MB\n";

#[test]
fn documented_frames_parse_with_exact_lengths() {
    let body = format!("{ROUTER}{METRICS}");
    let parsed = parse_body(body.as_bytes());
    assert_eq!(parsed.issues, vec![]);
    assert_eq!(parsed.frames.len(), 2);
    assert_eq!(parsed.frames[0].process, "router");
    assert_eq!(parsed.frames[1].source, "heroku");
    assert_eq!(parsed.frames[1].process, "web.1");
    assert!(
        parsed.frames[1]
            .message
            .ends_with(b"sample#memory_quota=512.00MB")
    );
    assert_eq!(parsed.check_msg_count(Some("2")), MsgCountCheck::Matches);
    assert_eq!(
        parsed.check_msg_count(Some("3")),
        MsgCountCheck::Mismatch {
            declared: 3,
            parsed: 2
        }
    );
    assert_eq!(parsed.check_msg_count(None), MsgCountCheck::Missing);
    assert_eq!(parsed.check_msg_count(Some("x")), MsgCountCheck::Invalid);
}

#[test]
fn frames_without_trailing_newline() {
    let a = "<174>1 2012-07-22T00:06:26+00:00 host erlang console - Hi from erlang";
    let b = "<174>1 2012-07-22T00:06:26+00:00 host erlang console - Hi from erlan";
    let text = format!("{} {a}{} {b}", a.len(), b.len());
    let body = text.as_bytes();
    let parsed = parse_body(body);
    assert_eq!(parsed.issues, vec![]);
    assert_eq!(parsed.frames.len(), 2);
    assert_eq!(parsed.frames[0].message, b"Hi from erlang");
    assert_eq!(parsed.frames[1].message, b"Hi from erlan");
}

#[test]
fn older_layout_with_token_in_procid() {
    let body = b"120 <40>1 2012-11-30T06:45:29+00:00 heroku web.3 d.73ea7440-270a-435a-a0ea-adf50b4e5f5a - State changed from starting to up\n";
    let parsed = parse_body(body);
    assert_eq!(parsed.issues, vec![]);
    let f = parsed.frames[0];
    assert_eq!((f.source, f.process), ("heroku", "web.3"));
    assert_eq!(
        f.drain_token,
        Some("d.73ea7440-270a-435a-a0ea-adf50b4e5f5a")
    );
    assert_eq!(f.message, b"State changed from starting to up");
}

#[test]
fn wrong_count_is_reported_and_the_next_frame_recovered() {
    // The first frame claims 5 bytes more than it has: the parser cuts it at the next frame.
    let first = "<190>1 2024-01-01T00:00:00+00:00 host app web.1 - hello\n";
    let second = "<190>1 2024-01-01T00:00:01+00:00 host app web.2 - world\n";
    let body = format!("{} {first}{} {second}", first.len() + 5, second.len());
    let parsed = parse_body(body.as_bytes());
    assert_eq!(parsed.frames.len(), 2);
    assert_eq!(parsed.frames[0].message, b"hello");
    assert_eq!(parsed.frames[1].process, "web.2");
    assert_eq!(parsed.issues.len(), 1);
    assert_eq!(
        parsed.issues[0].kind,
        FrameIssueKind::LengthMismatch {
            declared: first.len() + 5,
            actual: first.len()
        }
    );

    // Too short: the tail of the message is not lost.
    let body = format!("{} {first}{} {second}", first.len() - 3, second.len());
    let parsed = parse_body(body.as_bytes());
    assert_eq!(parsed.frames.len(), 2);
    assert_eq!(parsed.frames[0].message, b"hello");
    assert!(matches!(
        parsed.issues[0].kind,
        FrameIssueKind::LengthMismatch { .. }
    ));
}

#[test]
fn truncated_body_and_garbage_are_issues_not_failures() {
    let mut body = ROUTER.as_bytes().to_vec();
    body.extend_from_slice(b"\x00\xff garbage here ");
    body.extend_from_slice(METRICS.as_bytes());
    body.extend_from_slice(&METRICS.as_bytes()[..100]);
    let parsed = parse_body(&body);
    assert_eq!(parsed.frames.len(), 3, "{:?}", parsed.issues);
    let kinds: Vec<_> = parsed.issues.iter().map(|i| i.kind).collect();
    assert!(
        matches!(kinds[0], FrameIssueKind::Garbage { skipped: 16 }),
        "{kinds:?}"
    );
    assert!(
        matches!(kinds[1], FrameIssueKind::Truncated { declared: 334, .. }),
        "{kinds:?}"
    );
    assert!(parsed.frames[2].message.starts_with(b"source=web.1"));
}

#[test]
fn bad_header_skips_only_that_frame() {
    let body = format!("9 not a hdr{ROUTER}");
    let parsed = parse_body(body.as_bytes());
    assert_eq!(parsed.frames.len(), 1);
    assert_eq!(parsed.issues[0].kind, FrameIssueKind::BadHeader);
}

#[test]
fn streaming_reader_waits_for_incomplete_frames() {
    let body = format!("{ROUTER}{METRICS}");
    let bytes = body.as_bytes();
    let cut = ROUTER.len() + 40;
    let mut reader = FrameReader::new(&bytes[..cut]);
    assert!(matches!(reader.next_step(false), Some(Step::Frame(_))));
    assert_eq!(reader.next_step(false), None);
    assert_eq!(reader.position(), ROUTER.len());
    let mut reader = FrameReader::new(&bytes[reader.position()..]);
    assert!(matches!(reader.next_step(false), Some(Step::Frame(f)) if f.process == "web.1"));
}
