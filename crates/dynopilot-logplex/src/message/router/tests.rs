//! The router fast path must agree with the generic parser on every input, and must actually
//! be taken for lines in Heroku's order.

use proptest::prelude::*;

use super::{fixed, parse, parse_generic};

/// Parses with both paths; the fast one may decline, but must never disagree.
fn both(message: &str) -> Option<super::RouterLine<'_>> {
    let fast = fixed::parse(message);
    if let Some(fast) = fast {
        assert_eq!(
            fast,
            parse_generic(message),
            "fast path differs on {message:?}"
        );
    }
    assert_eq!(
        parse(message),
        Some(parse_generic(message)).filter(|l| l.at.is_some())
    );
    fast
}

const INFO: &str = "at=info method=GET path=\"/products/3/\" host=salon.herokuapp.com request_id=6d7bc072-5405-402d-ab52-030405b9db9c fwd=\"94.234.117.51\" dyno=web.1 connect=0ms service=266ms status=200 bytes=18349 protocol=https";

#[test]
fn heroku_order_takes_the_fast_path() {
    let line = both(INFO).expect("fast path");
    assert_eq!(line.path, Some("/products/3/"));
    assert_eq!((line.connect_ms, line.service_ms), (Some(0.0), Some(266.0)));
    assert_eq!((line.status, line.bytes), (Some(200), Some(18349)));
    assert_eq!(line.tls_version, None);
    let tls = format!("{INFO} tls_version=TLSv1.3");
    assert_eq!(both(&tls).expect("fast path").tls_version, Some("TLSv1.3"));
}

#[test]
fn optional_code_and_desc_with_quoted_spaces() {
    let line = both("at=error code=H12 desc=\"Request timeout\" method=GET path=\"/\" host=x request_id=abc fwd=\"1.2.3.4, 5.6.7.8\" dyno=web.1 connect=1ms service=30000ms status=503 bytes=0 protocol=https")
        .expect("fast path");
    assert_eq!(
        (line.code, line.desc),
        (Some("H12"), Some("Request timeout"))
    );
    assert_eq!(line.fwd, Some("1.2.3.4, 5.6.7.8"));
    let only_code = both("at=error code=H99 method=GET path=/ host=x request_id=abc fwd=\"1.2.3.4\" dyno= connect= service= status=503 bytes= protocol=https")
        .expect("fast path");
    assert_eq!((only_code.code, only_code.desc), (Some("H99"), None));
}

#[test]
fn empty_values_are_none() {
    let line = both("at=error code=H14 desc=\"No web processes running\" method=GET path=\"/\" host=x request_id=abc fwd=\"1.2.3.4\" dyno= connect= service= status=503 bytes= protocol=https")
        .expect("fast path");
    assert_eq!(
        (line.dyno, line.connect_ms, line.service_ms),
        (None, None, None)
    );
    assert_eq!((line.status, line.bytes), (Some(503), None));
    let quoted_empty = both("at=info method=GET path=\"\" host=x request_id=a fwd=\"\" dyno=web.1 connect=0ms service=1ms status=200 bytes=1 protocol=https")
        .expect("fast path");
    assert_eq!((quoted_empty.path, quoted_empty.fwd), (None, None));
}

#[test]
fn escaped_quotes_stay_as_written() {
    let line = both(r#"at=info method=GET path="/a\"b c" host=x request_id=a fwd="1.1.1.1" dyno=web.1 connect=0ms service=1ms status=200 bytes=1 protocol=https"#)
        .expect("fast path");
    assert_eq!(line.path, Some(r#"/a\"b c"#));
}

#[test]
fn surprises_fall_back_to_the_generic_parser() {
    let declined = [
        // Keys out of order.
        "method=GET at=info path=/ host=x request_id=a fwd=\"1.1.1.1\" dyno=web.1 connect=0ms service=1ms status=200 bytes=1 protocol=https",
        "at=info method=GET path=/ host=x request_id=a fwd=\"1.1.1.1\" dyno=web.1 service=1ms connect=0ms status=200 bytes=1 protocol=https",
        // A required key missing (pre-2014 lines had no request_id or protocol).
        "at=info method=GET path=/ host=x fwd=\"1.1.1.1\" dyno=web.1 connect=0ms service=1ms status=200 bytes=1",
        "at=info method=GET path=/ host=x request_id=a fwd=\"1.1.1.1\" dyno=web.1 connect=0ms service=1ms status=200 bytes=1",
        // Keys the fast path does not know, before, inside and after.
        "sock=client at=warning code=H27 desc=\"Client Request Interrupted\" method=POST path=/ host=x request_id=1 fwd=\"1.1.1.1\" dyno=web.2 connect=0ms service=1ms status=499 bytes= protocol=https",
        "at=error code=H18 desc=\"Server Request Interrupted\" method=GET path=/ host=x request_id=1 fwd=\"1.1.1.1\" dyno=web.1 connect=0ms service=1ms status=503 bytes= protocol=https sock=backend",
        "at=info method=GET path=/ host=x request_id=a fwd=\"1.1.1.1\" dyno=web.1 connect=0ms service=1ms status=200 bytes=1 protocol=https tls_version=TLSv1.3 new_key=1",
        // A repeated key: the generic parser keeps the last value.
        "at=info method=GET path=/ host=x request_id=a fwd=\"1.1.1.1\" dyno=web.1 connect=0ms service=1ms status=200 bytes=1 protocol=https protocol=http",
        // Spacing the fast path does not expect, and junk glued to a closing quote.
        " at=info method=GET path=/ host=x request_id=a fwd=\"1.1.1.1\" dyno=web.1 connect=0ms service=1ms status=200 bytes=1 protocol=https",
        "at=info  method=GET path=/ host=x request_id=a fwd=\"1.1.1.1\" dyno=web.1 connect=0ms service=1ms status=200 bytes=1 protocol=https",
        "at=info method=GET path=\"/\"x host=x request_id=a fwd=\"1.1.1.1\" dyno=web.1 connect=0ms service=1ms status=200 bytes=1 protocol=https",
        // A bare key, and an unterminated quote that swallows the rest.
        "at=info method=GET path=/ host=x request_id=a fwd=\"1.1.1.1\" dyno=web.1 connect=0ms service=1ms status=200 bytes protocol=https",
        "at=info method=GET path=\"/ host=x request_id=a fwd=1.1.1.1 dyno=web.1 connect=0ms service=1ms status=200 bytes=1 protocol=https",
    ];
    for message in declined {
        assert_eq!(both(message), None, "{message}");
    }
    let no_at = "at= method=GET path=/ host=x request_id=a fwd=\"1.1.1.1\" dyno=web.1 connect=0ms service=1ms status=200 bytes=1 protocol=https";
    assert_eq!(both(no_at), None);
    assert_eq!(parse(no_at), None);
    let repeated = parse(declined[7]).expect("router line");
    assert_eq!(repeated.protocol, Some("http"));
    let sock = parse(declined[4]).expect("router line");
    assert_eq!((sock.sock, sock.status), (Some("client"), Some(499)));
}

#[test]
fn units_and_numbers_match_the_generic_reading() {
    for (connect, service, status, bytes) in [
        ("0", "1", "200", "0"),
        ("1.5s", "300us", "+200", "18446744073709551616"),
        ("xms", "-1ms", "70000", "12a"),
        ("0ms", "0000000000000000001ms", "099", "00"),
        ("ms", "1234567890123456ms", "", "1"),
        ("123456789012345ms", "2msms", "0", "+1"),
    ] {
        let message = format!(
            "at=info method=GET path=/ host=x request_id=a fwd=\"1.1.1.1\" dyno=web.1 connect={connect} service={service} status={status} bytes={bytes} protocol=https"
        );
        assert!(both(&message).is_some(), "{message}");
    }
    let legacy = parse("at=info method=GET path=/ host=x request_id=a fwd=\"1.1.1.1\" dyno=web.1 connect=2 service=1.5s status=200 bytes=7 protocol=https")
        .expect("router line");
    assert_eq!(
        (legacy.connect_ms, legacy.service_ms),
        (Some(2.0), Some(1500.0))
    );
}

/// Keys in Heroku's order, each present or not; used to build near-miss lines.
const ORDER: [&str; 15] = [
    "at",
    "code",
    "desc",
    "method",
    "path",
    "host",
    "request_id",
    "fwd",
    "dyno",
    "connect",
    "service",
    "status",
    "bytes",
    "protocol",
    "tls_version",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9./_-]{1,12}",
        "[0-9]{1,6}(ms|s|us)?",
        "\"[a-z ,=]{0,10}\"",
        Just(r#""a\"b""#.to_owned()),
        Just("\"unterminated".to_owned()),
        Just("\"x\"y".to_owned()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(ORDER.to_vec()).prop_map(str::to_owned),
        1 => Just("sock".to_owned()),
        1 => "[a-z_]{1,6}",
    ]
}

proptest! {
    #[test]
    fn heroku_ordered_lines_take_the_fast_path(
        present in prop::collection::vec(any::<bool>(), 3),
        values in prop::collection::vec(value(), 15),
    ) {
        // Every required key, the optional ones as drawn; only well-formed values so the line
        // is exactly Heroku's shape.
        let optional = [("code", present[0]), ("desc", present[1]), ("tls_version", present[2])];
        let mut fields = Vec::new();
        for (key, value) in ORDER.iter().zip(&values) {
            let include = optional.iter().find(|(k, _)| k == key).is_none_or(|(_, p)| *p);
            let malformed = value.contains("unterminated") || value.ends_with('y');
            let value = match (*key, malformed) {
                ("at", _) => "info",
                (_, true) => "v",
                (_, false) => value.as_str(),
            };
            if include {
                fields.push(format!("{key}={value}"));
            }
        }
        let message = fields.join(" ");
        prop_assert!(both(&message).is_some(), "{}", message);
    }

    #[test]
    fn any_mix_of_keys_agrees_with_the_generic_parser(
        fields in prop::collection::vec((key(), value(), 1usize..3), 0..20),
        ordered in any::<bool>(),
    ) {
        let mut fields = fields;
        if ordered {
            // Mostly Heroku's order with the odd surprise, so the fast path runs deep.
            fields.sort_by_key(|(k, _, _)| ORDER.iter().position(|o| o == k).unwrap_or(99));
        }
        let mut message = String::new();
        for (key, value, spaces) in &fields {
            message.push_str(key);
            message.push('=');
            message.push_str(value);
            message.push_str(&" ".repeat(*spaces));
        }
        let message = message.trim_end_matches(' ');
        both(message);
    }
}
