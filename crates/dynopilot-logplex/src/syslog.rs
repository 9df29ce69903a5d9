//! The syslog header inside one drain frame, in the three layouts Heroku has used: the current
//! `<PRI>1 TIME host SOURCE PROC - MSG`, the older one with the drain token as PROCID and no
//! `host`, and the syslog-drain one with the drain token as HOSTNAME and an extra `-`.

/// The header fields of one frame, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub priority: u16,
    pub timestamp: &'a str,
    pub source: &'a str,
    pub process: &'a str,
    pub drain_token: Option<&'a str>,
    pub message: &'a [u8],
    /// The message as text, when the frame is valid UTF-8 (checked once for the whole frame).
    pub text: Option<&'a str>,
}

/// Parses `<PRI>VERSION TIMESTAMP HOST APP PROCID MSGID [-] MSG`, tolerating Heroku's variants.
pub fn parse_header(frame: &[u8]) -> Option<Header<'_>> {
    let frame = trim_line_end(frame);
    // One UTF-8 check per frame: header tokens are cut from the valid prefix at ASCII spaces
    // (always char boundaries), and the message is text when the whole frame is valid.
    let valid = match std::str::from_utf8(frame) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&frame[..e.valid_up_to()]).ok()?,
    };
    parse_fields(frame, valid)
}

/// [`parse_header`] for a frame the caller already knows to be valid UTF-8 (`text` is all of
/// `frame`), so it is not checked again.
pub(crate) fn parse_header_text<'a>(frame: &'a [u8], text: &'a str) -> Option<Header<'a>> {
    let frame = trim_line_end(frame);
    // The trimmed line end is ASCII, so the same cut is a char boundary of `text`.
    parse_fields(frame, text.get(..frame.len())?)
}

/// One syslog line without octet framing, as syslog add-ons and files keep them: with or
/// without the `<PRI>VERSION ` prefix (a line without it has priority 0).
pub fn parse_unframed(line: &[u8]) -> Option<Header<'_>> {
    let line = trim_line_end(line);
    if line.first() == Some(&b'<') {
        return parse_header(line);
    }
    let valid = match std::str::from_utf8(line) {
        Ok(text) => text,
        Err(e) => std::str::from_utf8(&line[..e.valid_up_to()]).ok()?,
    };
    let header = fields_from(line, valid, 0, 0)?;
    crate::line::looks_like_timestamp(header.timestamp).then_some(header)
}

/// The header fields of `frame` (line end trimmed), whose valid UTF-8 prefix is `valid`.
#[inline(always)]
fn parse_fields<'a>(frame: &'a [u8], valid: &'a str) -> Option<Header<'a>> {
    let (priority, pos) = read_priority(valid.as_bytes())?;
    fields_from(frame, valid, priority, pos)
}

/// The fields after `<PRI>VERSION `, which end at `pos`.
#[inline(always)]
fn fields_from<'a>(
    frame: &'a [u8],
    valid: &'a str,
    priority: u16,
    pos: usize,
) -> Option<Header<'a>> {
    let whole = valid.len() == frame.len();
    let mut cursor = Cursor { text: valid, pos };
    let timestamp = cursor.timestamp()?;
    let host = cursor.token()?;
    let app = cursor.token()?;
    let procid = cursor.token()?;
    let msgid = cursor.token_or_end()?;
    let (source, process, drain_token) = if is_drain_token(procid) {
        // Older layout: `TIME heroku web.3 d.TOKEN - MSG` (no literal `host`).
        (host, app, Some(procid))
    } else if is_drain_token(host) {
        (app, procid, Some(host))
    } else {
        (app, procid, None)
    };
    if msgid != "-" && drain_token.is_none() && host != "host" {
        // Not a Heroku header at all: refuse rather than mislabel the fields.
        return None;
    }
    let mut start = cursor.pos;
    let rest = valid.as_bytes().get(start..).unwrap_or_default();
    // Heroku omits STRUCTURED-DATA; the syslog layout writes it as a NILVALUE `-`.
    if rest.starts_with(b"- ") || rest == b"-" {
        start = (start + 2).min(valid.len());
    }
    // `start` is at an ASCII byte (or the end) of the valid prefix, so it is the same offset in
    // `frame`.
    Some(Header {
        priority,
        timestamp,
        source,
        process,
        drain_token,
        message: frame.get(start..)?,
        text: if whole {
            Some(valid.get(start..)?)
        } else {
            None
        },
    })
}

/// Drain tokens look like `d.fc6b856b-3332-4546-93de-7d0ee272c3bd`.
fn is_drain_token(token: &str) -> bool {
    token.len() > 2 && token.starts_with("d.")
}

fn trim_line_end(frame: &[u8]) -> &[u8] {
    let frame = frame.strip_suffix(b"\n").unwrap_or(frame);
    frame.strip_suffix(b"\r").unwrap_or(frame)
}

/// Reads `<PRI>` and an optional version number: the priority and where the text after the
/// next space starts.
#[inline(always)]
fn read_priority(frame: &[u8]) -> Option<(u16, usize)> {
    if frame.first() != Some(&b'<') {
        return None;
    }
    // At most three digits, so the `>` is at index 2, 3 or 4.
    let close = (2..=4).find(|&i| frame.get(i) == Some(&b'>'))?;
    let priority = parse_small(frame.get(1..close)?)?;
    let mut i = close + 1;
    while frame.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    (frame.get(i) == Some(&b' ')).then_some((priority, i + 1))
}

fn parse_small(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 3 {
        return None;
    }
    digits.iter().try_fold(0u16, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + u16::from(d - b'0'))
    })
}

/// Splits space-separated header tokens off the front of the frame.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A non-empty token followed by a space.
    #[inline(always)]
    fn token(&mut self) -> Option<&'a str> {
        let end = crate::scan::find(self.text.as_bytes(), self.pos, b' ')?;
        self.take(end, end + 1)
    }

    /// The timestamp token. Heroku writes it 32 bytes wide (`2024-10-25T10:14:16.795479+00:00`),
    /// so that width is tried first with a loop-free check; any other width is searched for.
    #[inline(always)]
    fn timestamp(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        let end = self.pos + 32;
        if bytes.get(end) == Some(&b' ') {
            let span: Option<&[u8; 32]> = bytes.get(self.pos..end).and_then(|s| s.try_into().ok());
            if span.is_some_and(|s| !crate::scan::contains32(s, b' ')) {
                return self.take(end, end + 1);
            }
        }
        self.token()
    }

    /// The last header token may end the frame (an empty message).
    #[inline(always)]
    fn token_or_end(&mut self) -> Option<&'a str> {
        match crate::scan::find(self.text.as_bytes(), self.pos, b' ') {
            Some(end) => self.take(end, end + 1),
            None => self.take(self.text.len(), self.text.len()),
        }
    }

    #[inline(always)]
    fn take(&mut self, end: usize, next: usize) -> Option<&'a str> {
        if end <= self.pos {
            return None;
        }
        let token = self.text.get(..end)?.get(self.pos..)?;
        self.pos = next;
        Some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_layout() {
        let h =
            parse_header(b"<158>1 2020-01-08T22:33:57.353034+00:00 host heroku router - at=info\n")
                .unwrap();
        assert_eq!(h.priority, 158);
        assert_eq!(h.timestamp, "2020-01-08T22:33:57.353034+00:00");
        assert_eq!(
            (h.source, h.process, h.drain_token),
            ("heroku", "router", None)
        );
        assert_eq!(h.message, b"at=info");
    }

    #[test]
    fn older_layout_with_token_as_procid() {
        let h = parse_header(
            b"<40>1 2012-11-30T06:45:29+00:00 heroku web.3 d.73ea7440-270a-435a-a0ea-adf50b4e5f5a - State changed from starting to up\n",
        )
        .unwrap();
        assert_eq!((h.source, h.process), ("heroku", "web.3"));
        assert_eq!(
            h.drain_token,
            Some("d.73ea7440-270a-435a-a0ea-adf50b4e5f5a")
        );
        assert_eq!(h.message, b"State changed from starting to up");
    }

    #[test]
    fn syslog_layout_with_token_as_host_and_nil_structured_data() {
        let h = parse_header(b"<172>1 2013-04-17T19:04:46+00:00 d.1234-drain heroku logplex - - Error L10 (output buffer overflow): 5 messages dropped")
            .unwrap();
        assert_eq!(
            (h.source, h.process, h.drain_token),
            ("heroku", "logplex", Some("d.1234-drain"))
        );
        assert_eq!(
            h.message,
            b"Error L10 (output buffer overflow): 5 messages dropped"
        );
    }

    #[test]
    fn timestamps_of_any_width_with_spaces_around_byte_32() {
        // The 32-byte guess must never change which token is the timestamp.
        for width in 1..=40 {
            let stamp = "7".repeat(width);
            let frame = format!("<190>1 {stamp} host app web.1 - a b c d e f g h i j k l m n");
            let h = parse_header(frame.as_bytes()).unwrap();
            assert_eq!(h.timestamp, stamp);
            assert_eq!((h.source, h.process), ("app", "web.1"));
            assert_eq!(h.text, Some("a b c d e f g h i j k l m n"));
        }
        // A space inside the first 32 bytes while byte 32 is also a space.
        let frame = b"<1>1 2024-01-01T00:00:00Z host app w1 - xyzw";
        assert_eq!(frame[5 + 32], b' ');
        let h = parse_header(frame).unwrap();
        assert_eq!(h.timestamp, "2024-01-01T00:00:00Z");
        assert_eq!((h.process, h.message), ("w1", &b"xyzw"[..]));
        assert!(
            parse_header(b"<1>1 2024-01-01T00:00:00 000000+00:00 host app web.1 - m").is_none()
        );
    }

    #[test]
    fn unframed_lines_with_and_without_priority() {
        let h = parse_unframed(
            b"<158>1 2015-06-01T12:00:00.000000+00:00 host heroku router - at=info\r\n",
        )
        .unwrap();
        assert_eq!((h.priority, h.source, h.process), (158, "heroku", "router"));
        assert_eq!(h.message, b"at=info");
        let h = parse_unframed(b"2015-06-01T12:00:00+00:00 - app web.1 - - hello").unwrap();
        assert_eq!((h.priority, h.source, h.process), (0, "app", "web.1"));
        assert_eq!(h.text, Some("hello"));
        assert!(parse_unframed(b"hello there host app web.1 - x").is_none());
    }

    #[test]
    fn empty_message_and_missing_fields() {
        let h = parse_header(b"<190>1 2024-01-01T00:00:00+00:00 host app web.1 -\n").unwrap();
        assert_eq!(h.message, b"");
        assert!(parse_header(b"<190>1 2024-01-01T00:00:00+00:00 host app\n").is_none());
        assert!(parse_header(b"190>1 x host app web.1 - m").is_none());
        assert!(parse_header(b"<19000>1 x host app web.1 - m").is_none());
    }
}
