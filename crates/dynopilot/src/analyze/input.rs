//! Streams log files of any size: detects drain bodies vs `heroku logs` text, splits them into
//! entries with bounded memory, and counts everything it had to skip.

use std::io::Read;

use dynopilot_logplex::frame::{FrameReader, Step};
use dynopilot_logplex::parse_line;

/// One log entry, borrowed from the read buffer.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub timestamp: &'a str,
    pub source: &'a str,
    pub process: &'a str,
    pub message: &'a [u8],
    /// The message as text when the frame parser already checked it is UTF-8.
    pub text: Option<&'a str>,
}

/// What the reader skipped or could not read; reported at the end of the summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct InputStats {
    pub bytes: u64,
    pub entries: u64,
    pub unparseable_lines: u64,
    pub oversized_lines: u64,
    pub frame_issues: u64,
    pub first_frame_issue: Option<String>,
    pub read_errors: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Drain,
    Lines,
}

const CHUNK: usize = 1 << 20;
/// Lines longer than this are skipped and counted; Heroku itself splits lines at 10 000 bytes.
pub const MAX_LINE: usize = 1 << 20;
/// A drain frame may not make the buffer grow past this before it is forced through.
const MAX_PENDING: usize = 4 << 20;

/// Guesses the format from the first bytes: drain bodies start with `<digits> <`.
pub fn detect(head: &[u8]) -> Format {
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let digits = head[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits > 0 && head[start + digits..].starts_with(b" <") {
        Format::Drain
    } else {
        Format::Lines
    }
}

/// Reads `input` to the end, calling `on_entry` for every entry. I/O errors end this input and
/// are recorded in the stats, never silently.
pub fn read_all(mut input: impl Read, stats: &mut InputStats, mut on_entry: impl FnMut(Entry<'_>)) {
    let mut buffer: Vec<u8> = Vec::with_capacity(CHUNK * 2);
    let mut format = None;
    let mut skipping_long_line = false;
    loop {
        let filled = buffer.len();
        buffer.resize(filled + CHUNK, 0);
        let read = match input.read(&mut buffer[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                buffer.truncate(filled);
                continue;
            }
            Err(e) => {
                stats.read_errors.push(e.to_string());
                0
            }
        };
        buffer.truncate(filled + read);
        stats.bytes += read as u64;
        let at_end = read == 0;
        let format = *format.get_or_insert_with(|| detect(&buffer));
        let used = match format {
            Format::Drain => drain_chunk(&buffer, at_end, stats, &mut on_entry),
            Format::Lines => lines_chunk(
                &buffer,
                at_end,
                &mut skipping_long_line,
                stats,
                &mut on_entry,
            ),
        };
        buffer.drain(..used);
        if at_end {
            return;
        }
    }
}

fn drain_chunk(
    buffer: &[u8],
    at_end: bool,
    stats: &mut InputStats,
    on_entry: &mut impl FnMut(Entry<'_>),
) -> usize {
    let force = at_end || buffer.len() > MAX_PENDING;
    let mut reader = FrameReader::new(buffer);
    while let Some(step) = reader.next_step(force) {
        match step {
            Step::Frame(f) => {
                stats.entries += 1;
                on_entry(Entry {
                    timestamp: f.timestamp,
                    source: f.source,
                    process: f.process,
                    message: f.message,
                    text: f.text,
                });
            }
            Step::Issue(issue) => {
                stats.frame_issues += 1;
                stats.first_frame_issue.get_or_insert_with(|| {
                    format!("at byte {} of its buffer: {issue}", issue.offset)
                });
            }
        }
    }
    reader.position()
}

fn lines_chunk(
    buffer: &[u8],
    at_end: bool,
    skipping: &mut bool,
    stats: &mut InputStats,
    on_entry: &mut impl FnMut(Entry<'_>),
) -> usize {
    let mut pos = 0;
    loop {
        let rest = &buffer[pos..];
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(n) => (&rest[..n], pos + n + 1),
            None if at_end && !rest.is_empty() => (rest, buffer.len()),
            None => {
                if rest.len() > MAX_LINE {
                    if !*skipping {
                        stats.oversized_lines += 1;
                    }
                    *skipping = true;
                    return buffer.len();
                }
                return pos;
            }
        };
        pos = next;
        if std::mem::take(skipping) {
            continue;
        }
        if line.len() > MAX_LINE {
            stats.oversized_lines += 1;
            continue;
        }
        match parse_line(line) {
            Some(l) => {
                stats.entries += 1;
                on_entry(Entry {
                    timestamp: l.timestamp,
                    source: l.source,
                    process: l.process,
                    message: l.message,
                    text: None,
                });
            }
            None if line.iter().all(u8::is_ascii_whitespace) => {}
            None => stats.unparseable_lines += 1,
        }
        if pos >= buffer.len() {
            return pos;
        }
    }
}
