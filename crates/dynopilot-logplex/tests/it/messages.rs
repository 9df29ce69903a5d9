//! Messages from the documented and observed examples, one test per line kind.

use dynopilot_logplex::message::{ApiEvent, DynoEvent, Message, MetricKind};
use dynopilot_logplex::{parse_line, parse_message};

fn heroku(process: &str, msg: &'static str) -> Message<'static> {
    parse_message("heroku", process, msg)
}

#[test]
fn router_info_line_with_every_key() {
    let Message::Router(r) = heroku(
        "router",
        "at=info method=GET path=\"/products/3/\" host=salon-talks-af192748bd52.herokuapp.com request_id=6d7bc072-5405-402d-ab52-030405b9db9c fwd=\"94.234.117.51\" dyno=web.1 connect=0ms service=266ms status=200 bytes=18349 protocol=https tls_version=TLSv1.3",
    ) else {
        panic!("not router")
    };
    assert_eq!(r.at, Some("info"));
    assert_eq!(r.path, Some("/products/3/"));
    assert_eq!(r.dyno, Some("web.1"));
    assert_eq!((r.connect_ms, r.service_ms), (Some(0.0), Some(266.0)));
    assert_eq!((r.status, r.bytes), (Some(200), Some(18349)));
    assert_eq!(r.protocol, Some("https"));
    assert_eq!(r.tls_version, Some("TLSv1.3"));
}

#[test]
fn router_error_line_with_empty_values() {
    let Message::Router(r) = heroku(
        "router",
        "at=error code=H12 desc=\"Request timeout\" method=GET path=/ host=myapp.herokuapp.com fwd=\"204.204.204.204\" dyno=web.1 connect= service=30000ms status=503 bytes=0",
    ) else {
        panic!("not router")
    };
    assert_eq!((r.code, r.desc), (Some("H12"), Some("Request timeout")));
    assert_eq!(r.connect_ms, None);
    assert_eq!(r.service_ms, Some(30000.0));
    let Message::Router(r) = heroku(
        "router",
        "at=error code=H14 desc=\"No web processes running\" method=GET path=\"/\" host=x request_id=abc fwd=\"1.2.3.4\" dyno= connect= service= status=503 bytes= protocol=https",
    ) else {
        panic!("not router")
    };
    assert_eq!((r.dyno, r.service_ms, r.bytes), (None, None, None));
}

#[test]
fn router_warning_and_legacy_forms() {
    let Message::Router(r) = heroku(
        "router",
        "sock=client at=warning code=H27 desc=\"Client Request Interrupted\" method=POST path=\"/upload\" host=x request_id=1 fwd=\"1.1.1.1\" dyno=web.2 connect=0ms service=1ms status=499 bytes= protocol=https",
    ) else {
        panic!("not router")
    };
    assert_eq!(
        (r.sock, r.at, r.status),
        (Some("client"), Some("warning"), Some(499))
    );
    let Message::Router(r) = heroku(
        "router",
        "at=error code=H25 desc=\"HTTP restriction: oversized cookie\" method=GET path=/ host=x fwd=\"1.1.1.1\" dyno=web.1 connect=0 service=1 status=502 bytes=0 unknown_new_key=zzz",
    ) else {
        panic!("not router")
    };
    assert_eq!((r.connect_ms, r.service_ms), (Some(0.0), Some(1.0)));
    assert!(r.pairs().any(|p| p.key == "unknown_new_key"));
}

#[test]
fn runtime_metrics_and_process_running() {
    assert!(
        matches!(heroku("web.1", "source=web.1 dyno=heroku.2808254.d97d0ea7 sample#load_avg_1m=2.46 sample#load_avg_5m=1.06 sample#load_avg_15m=0.99"), Message::Load(l) if l.avg_15m == Some(0.99))
    );
    assert!(
        matches!(heroku("web.1", "source=web.1 dyno=heroku.1.a sample#memory_total=21MB sample#memory_rss=21.22MB"), Message::Memory(m) if m.total_mb == Some(21.0))
    );
    assert!(
        matches!(heroku("web.1", "Process running mem=594M(109.6%)"), Message::Memory(m) if m.quota_pct == Some(109.6))
    );
}

#[test]
fn platform_errors_and_dyno_states() {
    assert!(
        matches!(heroku("web.1", "Error R14 (Memory quota exceeded)"), Message::Error(e) if e.code == "R14")
    );
    assert!(
        matches!(heroku("web.1", "Error R15 (Memory quota vastly exceeded)"), Message::Error(e) if e.code == "R15")
    );
    assert!(
        matches!(heroku("logplex", "Error L10 (output buffer overflow): 500 messages dropped since 2013-04-17T19:04:46+00:00."), Message::Error(e) if e.code == "L10")
    );
    assert!(matches!(
        heroku("web.1", "State changed from starting to up"),
        Message::State(DynoEvent::StateChanged {
            from: "starting",
            to: "up"
        })
    ));
    assert!(matches!(
        heroku("release.9811", "State changed from up to complete"),
        Message::State(_)
    ));
    assert!(matches!(
        heroku("web.1", "Stopping process with SIGKILL"),
        Message::State(DynoEvent::Stopping {
            signal: "SIGKILL",
            all: false
        })
    ));
    assert!(matches!(
        heroku("web.1", "Something new from Heroku"),
        Message::Other(_)
    ));
}

#[test]
fn api_lines() {
    assert!(matches!(
        parse_message(
            "app",
            "api",
            "Release v32 created by user iotsoftwr3000@gmail.com"
        ),
        Message::Release(ApiEvent::Release { version: 32, .. })
    ));
    let Message::Scale(s) = parse_message(
        "app",
        "api",
        "Scaled to web@2:Standard-1X worker@1:Basic by user x@y.z",
    ) else {
        panic!("not scale")
    };
    let entries: Vec<_> = s
        .entries()
        .map(|e| (e.process_type, e.quantity, e.size))
        .collect();
    assert_eq!(
        entries,
        vec![("web", 2, "Standard-1X"), ("worker", 1, "Basic")]
    );
    assert_eq!(
        parse_message("app", "api", "Build started by user x"),
        Message::Release(ApiEvent::Audit {
            action: "Build started",
            user: Some("x")
        })
    );
}

#[test]
fn l2met_addons_and_plain_output() {
    let Message::L2met(m) = parse_message(
        "app",
        "heroku-postgres",
        "source=DATABASE sample#current_transaction=15365 sample#db_size=4557534bytes sample#tables=2 sample#active-connections=27 sample#read-iops=0 sample#memory-total=15405620kB",
    ) else {
        panic!("not l2met")
    };
    assert_eq!(m.source, Some("DATABASE"));
    let mem = m.metrics().find(|x| x.name == "memory-total").unwrap();
    assert_eq!(mem.unit, "MB");
    assert!(
        matches!(parse_message("app", "web.1", "measure#db.latency=12ms count#orders=2"), Message::L2met(l) if l.metrics().all(|m| m.kind != MetricKind::Unique))
    );
    assert_eq!(
        parse_message("app", "web.1", "Started GET \"/\" for 1.2.3.4"),
        Message::App("Started GET \"/\" for 1.2.3.4")
    );
}

#[test]
fn heroku_logs_line_then_message() {
    let line = parse_line(b"2024-01-01T09:03:22.012194+00:00 heroku[router]: at=info method=GET path=\"/\" host=h request_id=r fwd=\"1.2.3.4\" dyno=web.1 connect=1ms service=18ms status=200 bytes=13 protocol=https\n").unwrap();
    let text = std::str::from_utf8(line.message).unwrap();
    assert!(
        matches!(parse_message(line.source, line.process, text), Message::Router(r) if r.service_ms == Some(18.0))
    );
}
