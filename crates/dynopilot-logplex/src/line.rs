//! Text log lines: `heroku logs` / log-session lines (`TIMESTAMP SOURCE[PROCESS]: MESSAGE`), with
//! the CLI's colours or Windows line ends, and unframed syslog lines; anything else is kept whole
//! as an unknown line.

use crate::syslog;

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

/// What one line of a text log is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextLine<'a> {
    Log(LogLine<'a>),
    /// Not a log line in any layout known here; the text as written (colours removed), so it
    /// can be counted and shown, never dropped.
    Unknown(&'a [u8]),
}

/// The escape byte that starts an ANSI colour code.
const ESC: u8 = 0x1b;

/// Reads one line in any layout people paste: `heroku logs` output (also coloured by the CLI,
/// or with `\r\n` ends), the syslog-drain rendering, and syslog lines with or without
/// `<PRI>VERSION`. `scratch` holds the line without its colour codes when it had some.
pub fn read_line<'a>(line: &'a [u8], scratch: &'a mut Vec<u8>) -> TextLine<'a> {
    let line = trim_end(line);
    // The CLI colours the whole `TIMESTAMP SOURCE[PROC]:` head, so a coloured line starts with
    // an escape; looking further is only needed for lines that are not read otherwise.
    if line.first() != Some(&ESC) {
        if let Some(log) = parse_line(line).or_else(|| unframed(line)) {
            return TextLine::Log(log);
        }
        if memchr::memchr(ESC, line).is_none() {
            return TextLine::Unknown(line);
        }
    }
    strip_ansi(line, scratch);
    let plain = scratch.as_slice();
    match parse_line(plain).or_else(|| unframed(plain)) {
        Some(log) => TextLine::Log(log),
        None => TextLine::Unknown(plain),
    }
}

fn trim_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn unframed(line: &[u8]) -> Option<LogLine<'_>> {
    let header = syslog::parse_unframed(line)?;
    Some(LogLine {
        timestamp: header.timestamp,
        source: header.source,
        process: header.process,
        drain_token: header.drain_token,
        message: header.message,
    })
}

/// Copies `line` into `out` without ANSI escape sequences (`ESC [ params letter`, and two-byte
/// `ESC x` ones).
pub fn strip_ansi(line: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut rest = line;
    while let Some(at) = memchr::memchr(ESC, rest) {
        out.extend_from_slice(&rest[..at]);
        rest = &rest[at + 1..];
        if rest.first() == Some(&b'[') {
            // Parameters and intermediates are 0x20..=0x3f; the final byte ends the sequence.
            let end = rest[1..]
                .iter()
                .position(|b| !(0x20..=0x3f).contains(b))
                .map_or(rest.len(), |n| n + 2);
            rest = &rest[end.min(rest.len())..];
        } else if !rest.is_empty() {
            rest = &rest[1..];
        }
    }
    out.extend_from_slice(rest);
}

/// Cheap shape check (`YYYY-MM-DDT…`) so that app output is not mistaken for a log line.
pub(crate) fn looks_like_timestamp(s: &str) -> bool {
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

    fn read(line: &[u8]) -> Option<(String, String, String, String)> {
        let mut scratch = Vec::new();
        match read_line(line, &mut scratch) {
            TextLine::Log(l) => Some((
                l.timestamp.to_owned(),
                l.source.to_owned(),
                l.process.to_owned(),
                String::from_utf8(l.message.to_vec()).unwrap(),
            )),
            TextLine::Unknown(_) => None,
        }
    }

    #[test]
    fn coloured_crlf_and_syslog_lines() {
        let coloured = b"\x1b[36m2024-01-01T09:03:22.012194+00:00 heroku[router]:\x1b[39m \x1b[2mat=\x1b[22m\x1b[2minfo\x1b[22m \x1b[2mmethod=\x1b[22m\x1b[1m\x1b[35mGET\x1b[39m\x1b[22m\r\n";
        let (ts, source, process, message) = read(coloured).unwrap();
        assert_eq!(ts, "2024-01-01T09:03:22.012194+00:00");
        assert_eq!((source.as_str(), process.as_str()), ("heroku", "router"));
        assert_eq!(message, "at=info method=GET");
        let (_, source, process, message) =
            read(b"<158>1 2015-06-01T12:00:00.000000+00:00 host heroku router - at=info\r\n")
                .unwrap();
        assert_eq!((source.as_str(), process.as_str()), ("heroku", "router"));
        assert_eq!(message, "at=info");
        let (_, source, process, _) =
            read(b"2015-06-01T12:00:00+00:00 host app web.1 - hi").unwrap();
        assert_eq!((source.as_str(), process.as_str()), ("app", "web.1"));
        let mut scratch = Vec::new();
        assert_eq!(
            read_line(b"\x1b[31mnot a log line\x1b[0m\n", &mut scratch),
            TextLine::Unknown(b"not a log line")
        );
    }

    #[test]
    fn strips_every_escape_and_keeps_the_rest() {
        let mut out = Vec::new();
        strip_ansi(b"a\x1b[1;31mb\x1b[0mc\x1b", &mut out);
        assert_eq!(out, b"abc");
        strip_ansi(b"\x1b[", &mut out);
        assert_eq!(out, b"");
    }

    #[test]
    fn rejects_lines_that_are_not_log_lines() {
        assert!(parse_line(b"hello world").is_none());
        assert!(parse_line(b"2024-01-01T09:03:22+00:00 no brackets here").is_none());
        assert!(parse_line(b"").is_none());
    }
}
