//! Router lines as Heroku wrote them before 2012: `GET host/path dyno=web.1 queue=0 wait=0ms
//! service=7ms status=200 bytes=215`, and errors as `Error H12 (Request timeout) -> GET
//! host/path dyno=web.1 … status=503 bytes=0`. Only tried when a line has no `at=`.

use super::{RouterLine, assign};
use crate::logfmt;
use crate::message::dyno;

/// The line, or `None` unless it is `METHOD host/path` followed by key=value pairs that name
/// the dyno.
pub(super) fn parse(message: &str) -> Option<RouterLine<'_>> {
    let (at, code, desc, request) = match dyno::parse_error(message) {
        Some(error) if error.code.starts_with('H') => {
            ("error", Some(error.code), error.desc, error.detail?)
        }
        Some(_) => return None,
        None => ("info", None, None, message),
    };
    let (method, rest) = request.split_once(' ')?;
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let (target, pairs) = rest.split_once(' ')?;
    let (host, path) = match target.find('/') {
        Some(slash) => (&target[..slash], Some(&target[slash..])),
        None => (target, None),
    };
    let mut line = RouterLine {
        at: Some(at),
        code,
        desc,
        method: Some(method),
        path,
        host: (!host.is_empty()).then_some(host),
        raw: message,
        ..RouterLine::default()
    };
    let mut named_dyno = false;
    for pair in logfmt::pairs(pairs) {
        named_dyno |= pair.key == "dyno" && pair.value.is_some();
        assign(&mut line, pair);
    }
    named_dyno.then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_line_of_2010() {
        let l = parse(
            "GET growing-dusk-20.heroku.com/ dyno=web.1 queue=0 wait=0ms service=7ms bytes=215",
        )
        .unwrap();
        assert_eq!((l.at, l.method), (Some("info"), Some("GET")));
        assert_eq!(
            (l.host, l.path),
            (Some("growing-dusk-20.heroku.com"), Some("/"))
        );
        assert_eq!(
            (l.dyno, l.queue, l.wait_ms),
            (Some("web.1"), Some(0), Some(0.0))
        );
        assert_eq!(
            (l.service_ms, l.status, l.bytes),
            (Some(7.0), None, Some(215))
        );
    }

    #[test]
    fn error_line_with_code_and_port() {
        let l = parse("Error H12 (Request timeout) -> GET myapp.heroku.com:8080/a/b?c=d dyno=web.1 queue=0 wait=0ms service=30000ms status=503 bytes=0")
            .unwrap();
        assert_eq!(
            (l.at, l.code, l.desc),
            (Some("error"), Some("H12"), Some("Request timeout"))
        );
        assert_eq!(
            (l.host, l.path),
            (Some("myapp.heroku.com:8080"), Some("/a/b?c=d"))
        );
        assert_eq!((l.service_ms, l.status), (Some(30000.0), Some(503)));
    }

    #[test]
    fn not_router_lines() {
        assert!(parse("Error R14 (Memory quota exceeded) -> GET x/ dyno=web.1").is_none());
        assert!(parse("Get ready dyno=web.1").is_none());
        assert!(parse("GET x/ queue=0").is_none());
        assert!(parse("GET").is_none());
    }
}
