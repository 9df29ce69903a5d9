//! `heroku logs` / log-session lines: `TIMESTAMP SOURCE[PROCESS]: MESSAGE`.

/// One line as `heroku logs` prints it, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLine<'a> {
    pub timestamp: &'a str,
    pub source: &'a str,
    pub process: &'a str,
    pub drain_token: Option<&'a str>,
    pub message: &'a [u8],
}

/// Parses one line (with or without its newline). Also accepts the syslog-drain rendering
/// `TIMESTAMP d.TOKEN SOURCE[PROCESS] MESSAGE` that Dev Center shows.
pub fn parse_line(line: &[u8]) -> Option<LogLine<'_>> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let space = memchr::memchr(b' ', line)?;
    let timestamp = ascii(&line[..space])?;
    if !looks_like_timestamp(timestamp) {
        return None;
    }
    let mut rest = &line[space + 1..];
    let mut drain_token = None;
    if rest.starts_with(b"d.") {
        let end = memchr::memchr(b' ', rest)?;
        drain_token = Some(ascii(&rest[..end])?);
        rest = &rest[end + 1..];
    }
    let open = memchr::memchr(b'[', rest)?;
    let source = ascii(&rest[..open])?;
    if source.is_empty() || source.contains(' ') {
        return None;
    }
    let close = open + 1 + memchr::memchr(b']', &rest[open + 1..])?;
    let process = ascii(&rest[open + 1..close])?;
    if process.is_empty() || process.contains(' ') {
        return None;
    }
    let after = &rest[close + 1..];
    let after = after.strip_prefix(b":").unwrap_or(after);
    let message = after.strip_prefix(b" ").unwrap_or(after);
    Some(LogLine {
        timestamp,
        source,
        process,
        drain_token,
        message,
    })
}

fn ascii(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    }
}

/// Cheap shape check (`YYYY-MM-DDT…`) so that app output is not mistaken for a log line.
fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_system_and_app_lines() {
        let l = parse_line(
            b"2024-01-01T09:03:22.012194+00:00 heroku[web.1]: State changed from starting to up\n",
        )
        .unwrap();
        assert_eq!(l.timestamp, "2024-01-01T09:03:22.012194+00:00");
        assert_eq!((l.source, l.process), ("heroku", "web.1"));
        assert_eq!(l.message, b"State changed from starting to up");
        let l =
            parse_line(b"2012-10-11T03:47:20+00:00 app[api]: Release v32 created by user a@b.c")
                .unwrap();
        assert_eq!((l.source, l.process), ("app", "api"));
    }

    #[test]
    fn parses_syslog_drain_rendering() {
        let l = parse_line(
            b"2013-01-01T01:01:01.000000+00:00 d.9173ea1f-6f14 app[web.1] Your message here.",
        )
        .unwrap();
        assert_eq!(l.drain_token, Some("d.9173ea1f-6f14"));
        assert_eq!(l.message, b"Your message here.");
    }

    #[test]
    fn rejects_lines_that_are_not_log_lines() {
        assert!(parse_line(b"hello world").is_none());
        assert!(parse_line(b"2024-01-01T09:03:22+00:00 no brackets here").is_none());
        assert!(parse_line(b"").is_none());
    }
}
