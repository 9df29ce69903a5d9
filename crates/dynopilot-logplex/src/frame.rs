//! Logplex HTTPS drain bodies (`application/logplex-1`): octet-counted syslog frames, parsed
//! strictly where Heroku is consistent and tolerantly where it is known to deviate.

use crate::syslog::{self, Header};

/// One log message taken from a drain body. Borrowed from the body: no field is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The syslog priority as written (`<158>` → 158). Heroku says not to depend on it.
    pub priority: u16,
    /// The RFC 3339 timestamp exactly as written.
    pub timestamp: &'a str,
    /// `app` or `heroku` (the syslog APP-NAME).
    pub source: &'a str,
    /// The dyno or component: `web.1`, `router`, `api`, `heroku-postgres`, …
    pub process: &'a str,
    /// The drain token, when Heroku put it in a header field (older and syslog layouts).
    pub drain_token: Option<&'a str>,
    /// The message, without the trailing newline. May hold invalid UTF-8.
    pub message: &'a [u8],
    /// The message as text when the frame is valid UTF-8 (the usual case).
    pub text: Option<&'a str>,
}

impl<'a> Frame<'a> {
    /// Classifies the message (a message that is not UTF-8 is `Message::Other("")`).
    pub fn parse_message(&self) -> crate::Message<'a> {
        crate::parse_message_checked(self.source, self.process, self.text, self.message)
    }
}

/// Something wrong with a drain body, and where. The rest of the body is still parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameIssue {
    /// Byte offset in the body where the trouble starts.
    pub offset: usize,
    pub kind: FrameIssueKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameIssueKind {
    /// The bytes at a frame start are not `<digits><space>`.
    MissingLength,
    /// The octet count runs past the end of the body.
    Truncated { declared: usize, available: usize },
    /// The octet count does not end where the next frame begins; the frame was cut at the next
    /// plausible frame start instead.
    LengthMismatch { declared: usize, actual: usize },
    /// The syslog header inside the frame could not be read; the frame was skipped.
    BadHeader,
    /// Bytes that belong to no frame were skipped.
    Garbage { skipped: usize },
}

impl std::fmt::Display for FrameIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = self.offset;
        match self.kind {
            FrameIssueKind::MissingLength => write!(f, "byte {at}: frame has no octet count"),
            FrameIssueKind::Truncated {
                declared,
                available,
            } => write!(
                f,
                "byte {at}: frame declares {declared} bytes but only {available} remain"
            ),
            FrameIssueKind::LengthMismatch { declared, actual } => write!(
                f,
                "byte {at}: frame declares {declared} bytes but the next frame starts after {actual}"
            ),
            FrameIssueKind::BadHeader => write!(f, "byte {at}: unreadable syslog header"),
            FrameIssueKind::Garbage { skipped } => {
                write!(f, "byte {at}: skipped {skipped} bytes outside any frame")
            }
        }
    }
}

/// A parsed drain body: every frame that could be read, and every problem met on the way.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DrainBody<'a> {
    pub frames: Vec<Frame<'a>>,
    pub issues: Vec<FrameIssue>,
}

impl DrainBody<'_> {
    /// Compares the frame count with the request's `Logplex-Msg-Count` header.
    pub fn check_msg_count(&self, header: Option<&str>) -> MsgCountCheck {
        check_msg_count(header, self.frames.len() + self.skipped_frames())
    }

    /// Frames that were found but could not be used (bad header).
    fn skipped_frames(&self) -> usize {
        self.issues
            .iter()
            .filter(|i| matches!(i.kind, FrameIssueKind::BadHeader))
            .count()
    }
}

/// The outcome of checking `Logplex-Msg-Count` against what the body held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgCountCheck {
    Matches,
    /// The header was absent (not a Logplex request, or a proxy stripped it).
    Missing,
    /// The header was not a number.
    Invalid,
    Mismatch {
        declared: usize,
        parsed: usize,
    },
}

/// Checks a `Logplex-Msg-Count` header value against the number of frames parsed.
pub fn check_msg_count(header: Option<&str>, parsed: usize) -> MsgCountCheck {
    let Some(raw) = header else {
        return MsgCountCheck::Missing;
    };
    match raw.trim().parse::<usize>() {
        Ok(declared) if declared == parsed => MsgCountCheck::Matches,
        Ok(declared) => MsgCountCheck::Mismatch { declared, parsed },
        Err(_) => MsgCountCheck::Invalid,
    }
}

/// Parses a whole drain body. Never fails: unreadable parts become issues.
pub fn parse_body(body: &[u8]) -> DrainBody<'_> {
    let mut out = DrainBody::default();
    let mut reader = FrameReader::new(body);
    while let Some(step) = reader.next_step(true) {
        match step {
            Step::Frame(frame) => out.frames.push(frame),
            Step::Issue(issue) => out.issues.push(issue),
        }
    }
    out
}

/// One result of walking a body: a frame or an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<'a> {
    Frame(Frame<'a>),
    Issue(FrameIssue),
}

/// Walks a drain body frame by frame. Used directly by streaming readers, which feed it a
/// buffer and ask it to wait (rather than report truncation) when a frame is incomplete.
#[derive(Debug)]
pub struct FrameReader<'a> {
    body: &'a [u8],
    pos: usize,
    /// A frame recovered after an issue: the issue is reported first, the frame next.
    pending: Option<Frame<'a>>,
    /// A run of the body known to be valid UTF-8, starting at byte `valid_at`. Checking the
    /// body in one long run is cheaper than a check per frame (no per-call setup, aligned
    /// word-at-a-time ASCII), and frames inside the run get their text by slicing.
    valid: &'a str,
    valid_at: usize,
}

/// How far ahead UTF-8 is checked in one run: long enough that the cost of a call vanishes,
/// short enough that the bytes are still in cache when their frames are parsed (a whole large
/// body checked at once would be read from memory twice).
const VALID_RUN: usize = 16 * 1024;

/// Octet counts longer than this many digits (10 MB and up) are not believed.
const MAX_LENGTH_DIGITS: usize = 7;
/// Enough bytes to recognise the start of the next frame (`NNNNNNN <PPP>1 `).
const LOOKAHEAD: usize = MAX_LENGTH_DIGITS + 8;

impl<'a> FrameReader<'a> {
    pub fn new(body: &'a [u8]) -> Self {
        Self {
            body,
            pos: 0,
            pending: None,
            valid: "",
            valid_at: 0,
        }
    }

    /// Bytes consumed so far; a streaming caller keeps `body[position()..]` for the next read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The next frame or issue. With `at_end == false`, an incomplete final frame is left
    /// unconsumed and `None` is returned so the caller can append more bytes.
    pub fn next_step(&mut self, at_end: bool) -> Option<Step<'a>> {
        if let Some(frame) = self.pending.take() {
            return Some(Step::Frame(frame));
        }
        let body = self.body;
        let start = skip_separators(body, self.pos);
        if start >= body.len() {
            self.pos = start;
            return None;
        }
        let Some((declared, msg_start)) = read_length(body, start) else {
            if !at_end && body.len() - start < LOOKAHEAD {
                return None;
            }
            return Some(self.skip_garbage(start));
        };
        let (end, issue) = locate_end(body, start, msg_start, declared, at_end)?;
        self.pos = end;
        let bytes = &body[msg_start..end];
        let header = match self.text_of(msg_start, end) {
            Some(text) => syslog::parse_header_text(bytes, text),
            None => syslog::parse_header(bytes),
        };
        let Some(frame) = header.map(to_frame) else {
            return Some(Step::Issue(FrameIssue {
                offset: start,
                kind: FrameIssueKind::BadHeader,
            }));
        };
        match issue {
            Some(issue) => {
                self.pending = Some(frame);
                Some(Step::Issue(issue))
            }
            None => Some(Step::Frame(frame)),
        }
    }

    /// `body[start..end]` as text if it is valid UTF-8 (`None` also when it is not known to be:
    /// the caller then checks the frame on its own).
    fn text_of(&mut self, start: usize, end: usize) -> Option<&'a str> {
        let covered = start >= self.valid_at && end <= self.valid_at + self.valid.len();
        if !covered {
            // Validate a run from this frame on, ending on a character boundary (or at the
            // first invalid byte: a body with bad bytes costs a second pass up to each).
            let body = self.body;
            let mut stop = body.len().min(start.saturating_add(VALID_RUN)).max(end);
            for _ in 0..3 {
                if stop > end && body.get(stop).is_some_and(|&b| (b as i8) < -64) {
                    stop -= 1; // a continuation byte: step back to the character's start
                }
            }
            let rest = body.get(start..stop)?;
            self.valid = match std::str::from_utf8(rest) {
                Ok(text) => text,
                Err(e) => std::str::from_utf8(rest.get(..e.valid_up_to())?).ok()?,
            };
            self.valid_at = start;
        }
        self.valid
            .get(start - self.valid_at..end.checked_sub(self.valid_at)?)
    }

    fn skip_garbage(&mut self, start: usize) -> Step<'a> {
        let next = next_plausible_frame(self.body, start + 1).unwrap_or(self.body.len());
        self.pos = next;
        Step::Issue(FrameIssue {
            offset: start,
            kind: FrameIssueKind::Garbage {
                skipped: next - start,
            },
        })
    }
}

fn to_frame(header: Header<'_>) -> Frame<'_> {
    Frame {
        priority: header.priority,
        timestamp: header.timestamp,
        source: header.source,
        process: header.process,
        drain_token: header.drain_token,
        message: header.message,
        text: header.text,
    }
}

/// Frames are concatenated, but stray newlines or spaces between them are tolerated.
fn skip_separators(body: &[u8], mut pos: usize) -> usize {
    while pos < body.len() && matches!(body[pos], b'\n' | b'\r' | b' ') {
        pos += 1;
    }
    pos
}

/// Reads `<digits><space>` at `pos`: the declared length and where the message starts.
fn read_length(body: &[u8], pos: usize) -> Option<(usize, usize)> {
    let mut value = 0usize;
    let mut i = pos;
    while i < body.len() && body[i].is_ascii_digit() {
        if i - pos == MAX_LENGTH_DIGITS {
            return None;
        }
        value = value * 10 + usize::from(body[i] - b'0');
        i += 1;
    }
    (i > pos && body.get(i) == Some(&b' ')).then_some((value, i + 1))
}

/// Whether a frame plausibly starts at `pos`: `<digits> <<digits>>`.
fn is_frame_start(body: &[u8], pos: usize) -> bool {
    let Some((_, msg)) = read_length(body, pos) else {
        return false;
    };
    if body.get(msg) != Some(&b'<') {
        return false;
    }
    let digits = body[msg + 1..]
        .iter()
        .take(4)
        .take_while(|b| b.is_ascii_digit())
        .count();
    (1..=3).contains(&digits) && body.get(msg + 1 + digits) == Some(&b'>')
}

/// Where the frame that starts at `start` ends, and the issue if it is not where its count says.
/// `None` means the caller should wait for more bytes.
fn locate_end(
    body: &[u8],
    start: usize,
    msg_start: usize,
    declared: usize,
    at_end: bool,
) -> Option<(usize, Option<FrameIssue>)> {
    let declared_end = msg_start.saturating_add(declared);
    if declared_end <= body.len() {
        let next = skip_separators(body, declared_end);
        // A count that ends exactly after a newline is believed even when junk follows: the
        // junk is reported on its own instead of being glued onto this message.
        let ends_line = declared_end > msg_start && body[declared_end - 1] == b'\n';
        if next == body.len() || ends_line || is_frame_start(body, next) {
            return Some((declared_end, None));
        }
        if !at_end && body.len() - next < LOOKAHEAD {
            return None;
        }
    } else if !at_end {
        return None;
    }
    let actual_end = next_plausible_frame(body, msg_start + 1);
    if actual_end.is_none() && !at_end {
        return None;
    }
    let end = actual_end.unwrap_or(body.len());
    let kind = if actual_end.is_none() && declared_end > body.len() {
        FrameIssueKind::Truncated {
            declared,
            available: body.len() - msg_start,
        }
    } else {
        FrameIssueKind::LengthMismatch {
            declared,
            actual: end - msg_start,
        }
    };
    Some((
        end,
        Some(FrameIssue {
            offset: start,
            kind,
        }),
    ))
}

/// The first position at or after `from` where a frame plausibly starts. Frames start after
/// a newline (the previous message's end) or right after the previous message's last byte, so
/// every `<` preceded by `digits + space` is a candidate.
fn next_plausible_frame(body: &[u8], from: usize) -> Option<usize> {
    let mut search = from;
    while let Some(found) = memchr::memchr(b'<', body.get(search..)?) {
        let lt = search + found;
        if lt >= 2 && body[lt - 1] == b' ' {
            let mut digits_start = lt - 1;
            while digits_start > from && body[digits_start - 1].is_ascii_digit() {
                digits_start -= 1;
            }
            if digits_start < lt - 1 && is_frame_start(body, digits_start) {
                return Some(digits_start);
            }
        }
        search = lt + 1;
    }
    None
}
