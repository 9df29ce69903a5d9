//! Streams log files of any size: detects drain bodies vs text lines, splits them into records
//! with bounded memory, and counts everything it had to skip. Text is read in large chunks; the
//! complete lines of a chunk are handed to two threads (two halves, split at a newline) and the
//! later half's results are joined after the earlier one's, so the outcome is the sequential one.

use std::io::Read;

use dynopilot_logplex::frame::{FrameReader, Step};
use dynopilot_logplex::{TextLine, read_line};

/// One log entry, borrowed from the read buffer.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub timestamp: &'a str,
    pub source: &'a str,
    pub process: &'a str,
    pub message: &'a [u8],
    /// The message as text when the reader already checked it is UTF-8.
    pub text: Option<&'a str>,
}

/// One input line or frame: a log entry, or a line no layout could read, kept whole.
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    Log(Entry<'a>),
    Unknown(&'a [u8]),
}

/// Where records go. `fork` makes an empty sink for a later part of the input, and `join` adds
/// such a part's results after this one's, as if they had been recorded here in order.
pub trait Sink: Send {
    fn record(&mut self, record: Record<'_>);
    fn fork(&self) -> Self;
    fn join(&mut self, later: Self);
}

/// What the reader skipped or could not read; reported at the end of the summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct InputStats {
    pub bytes: u64,
    pub entries: u64,
    /// Lines no layout could read; they are records of kind `unknown`, not dropped.
    pub unknown_lines: u64,
    pub oversized_lines: u64,
    pub frame_issues: u64,
    pub first_frame_issue: Option<String>,
    pub read_errors: Vec<String>,
}

impl InputStats {
    fn add(&mut self, other: &Counts) {
        self.entries += other.entries;
        self.unknown_lines += other.unknown_lines;
        self.oversized_lines += other.oversized_lines;
    }
}

/// Per-thread line counts, added to [`InputStats`] after each chunk.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    entries: u64,
    unknown_lines: u64,
    oversized_lines: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Drain,
    Lines,
}

/// Bytes read at once: large reads keep the system-call count low, and give each of the two
/// threads a 2 MB half.
const CHUNK: usize = 4 << 20;
/// Lines longer than this are skipped and counted; Heroku itself splits lines at 10 000 bytes.
pub const MAX_LINE: usize = 1 << 20;
/// A drain frame may not make the buffer grow past this before it is forced through.
const MAX_PENDING: usize = 4 << 20;
/// Below this many bytes of complete lines a second thread costs more than it saves.
const PARALLEL_MIN: usize = 256 << 10;
/// Text is checked for UTF-8 in runs of about this size (ending at a newline): one check per
/// run instead of one per message, on bytes still in cache when their lines are parsed.
const UTF8_RUN: usize = 64 << 10;

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

/// Reads `input` to the end, giving every record to `sink`. I/O errors end this input and are
/// recorded in the stats, never silently. `chunk_done` is called after every chunk (to write out
/// what the sink holds); its error ends the run.
pub fn read_all<S: Sink>(
    mut input: impl Read,
    stats: &mut InputStats,
    two_threads: bool,
    sink: &mut S,
    mut chunk_done: impl FnMut(&mut S) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut buffer: Vec<u8> = Vec::with_capacity(CHUNK * 2);
    let mut format = None;
    let mut skipping_long_line = false;
    loop {
        let filled = buffer.len();
        buffer.resize(filled + CHUNK, 0);
        let read = fill(&mut input, &mut buffer[filled..], stats);
        buffer.truncate(filled + read);
        stats.bytes += read as u64;
        let at_end = read == 0;
        let format = *format.get_or_insert_with(|| detect(&buffer));
        let used = match format {
            Format::Drain => drain_chunk(&buffer, at_end, stats, sink),
            Format::Lines => {
                let state = LinesState {
                    at_end,
                    two_threads,
                    skipping: &mut skipping_long_line,
                };
                lines_chunk(&buffer, state, stats, sink)
            }
        };
        buffer.drain(..used);
        chunk_done(sink)?;
        if at_end {
            return Ok(());
        }
    }
}

/// Reads until `buf` is full or the input ends (0 means the end, or an error recorded).
fn fill(input: &mut impl Read, buf: &mut [u8], stats: &mut InputStats) -> usize {
    let mut total = 0;
    while total < buf.len() {
        match input.read(&mut buf[total..]) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                stats.read_errors.push(e.to_string());
                break;
            }
        }
    }
    total
}

fn drain_chunk(buffer: &[u8], at_end: bool, stats: &mut InputStats, sink: &mut impl Sink) -> usize {
    let force = at_end || buffer.len() > MAX_PENDING;
    let mut reader = FrameReader::new(buffer);
    while let Some(step) = reader.next_step(force) {
        match step {
            Step::Frame(f) => {
                stats.entries += 1;
                sink.record(Record::Log(Entry {
                    timestamp: f.timestamp,
                    source: f.source,
                    process: f.process,
                    message: f.message,
                    text: f.text,
                }));
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

/// How a text chunk is to be read.
struct LinesState<'s> {
    at_end: bool,
    two_threads: bool,
    /// A line too long to keep is being skipped up to its newline.
    skipping: &'s mut bool,
}

/// Handles the complete lines of `buffer` and returns how many bytes were used; a final line
/// without its newline waits for more input (unless this is the end).
fn lines_chunk(
    buffer: &[u8],
    state: LinesState<'_>,
    stats: &mut InputStats,
    sink: &mut impl Sink,
) -> usize {
    let LinesState {
        at_end,
        two_threads,
        skipping,
    } = state;
    let end = if at_end {
        buffer.len()
    } else {
        match memchr::memrchr(b'\n', buffer) {
            Some(n) => n + 1,
            None if buffer.len() > MAX_LINE => {
                // A line too long to keep: skip it up to its newline, whenever that comes.
                if !*skipping {
                    stats.oversized_lines += 1;
                }
                *skipping = true;
                return buffer.len();
            }
            None => return 0,
        }
    };
    let mut lines = &buffer[..end];
    if std::mem::take(skipping) {
        lines = memchr::memchr(b'\n', lines).map_or(&[][..], |n| &lines[n + 1..]);
    }
    let mut counts = Counts::default();
    match split_in_two(lines).filter(|_| two_threads) {
        Some((first, second)) => {
            let mut later = sink.fork();
            let later_counts = std::thread::scope(|scope| {
                let worker = scope.spawn(|| {
                    let mut counts = Counts::default();
                    lines_run(second, &mut counts, &mut later);
                    counts
                });
                lines_run(first, &mut counts, sink);
                worker.join()
            });
            match later_counts {
                Ok(c) => {
                    sink.join(later);
                    counts.entries += c.entries;
                    counts.unknown_lines += c.unknown_lines;
                    counts.oversized_lines += c.oversized_lines;
                }
                // The parsers never panic; if one did, its half is read again here so that
                // nothing is lost (its partial results were in `later`, now dropped).
                Err(_) => lines_run(second, &mut counts, sink),
            }
        }
        None => lines_run(lines, &mut counts, sink),
    }
    stats.add(&counts);
    end
}

/// Two halves of `lines` split after a newline near the middle, when worth a second thread.
fn split_in_two(lines: &[u8]) -> Option<(&[u8], &[u8])> {
    if lines.len() < PARALLEL_MIN {
        return None;
    }
    let middle = lines.len() / 2;
    let cut = middle + memchr::memchr(b'\n', &lines[middle..])? + 1;
    Some(lines.split_at(cut))
}

/// Reads every line of `lines` (the last may lack its newline), checking UTF-8 a run at a time.
fn lines_run(lines: &[u8], counts: &mut Counts, sink: &mut impl Sink) {
    let mut scratch = Vec::new();
    let mut pos = 0;
    while pos < lines.len() {
        let mut end = (pos + UTF8_RUN).min(lines.len());
        if end < lines.len() {
            end = memchr::memchr(b'\n', &lines[end..]).map_or(lines.len(), |n| end + n + 1);
        }
        let run = &lines[pos..end];
        match std::str::from_utf8(run) {
            Ok(text) => each_line(run, Some(text), counts, sink, &mut scratch),
            Err(_) => each_line(run, None, counts, sink, &mut scratch),
        }
        pos = end;
    }
}

/// Hands out the lines of `run` (`text` is `run` when it is known to be UTF-8).
fn each_line(
    run: &[u8],
    text: Option<&str>,
    counts: &mut Counts,
    sink: &mut impl Sink,
    scratch: &mut Vec<u8>,
) {
    let mut pos = 0;
    while pos < run.len() {
        let (end, next) = match memchr::memchr(b'\n', &run[pos..]) {
            Some(n) => (pos + n, pos + n + 1),
            None => (run.len(), run.len()),
        };
        let line = &run[pos..end];
        let line_text = text.and_then(|t| t.get(pos..end));
        pos = next;
        if line.len() > MAX_LINE {
            counts.oversized_lines += 1;
            continue;
        }
        match read_line(line, scratch) {
            TextLine::Log(l) => {
                counts.entries += 1;
                sink.record(Record::Log(Entry {
                    timestamp: l.timestamp,
                    source: l.source,
                    process: l.process,
                    message: l.message,
                    text: line_text.and_then(|t| message_text(line, t, l.message)),
                }));
            }
            TextLine::Unknown(raw) if raw.iter().all(u8::is_ascii_whitespace) => {}
            TextLine::Unknown(raw) => {
                counts.unknown_lines += 1;
                sink.record(Record::Unknown(raw));
            }
        }
    }
}

/// The message as text when it is the tail of the line (it is, unless colour codes were taken
/// out): the same bytes, cut from the line's checked text.
fn message_text<'a>(line: &[u8], text: &'a str, message: &[u8]) -> Option<&'a str> {
    let line_end = line.as_ptr_range().end;
    let message_end = message.as_ptr_range().end;
    // The reader drops a trailing `\r`, so the message ends at the line's end or one before.
    let trimmed = line.len() - usize::from(!std::ptr::eq(line_end, message_end));
    if !std::ptr::eq(line[..trimmed].as_ptr_range().end, message_end) {
        return None;
    }
    text.get(trimmed.checked_sub(message.len())?..trimmed)
}
