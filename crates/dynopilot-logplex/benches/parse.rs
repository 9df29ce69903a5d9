//! Parsing throughput over a generated, realistic drain corpus (mostly router lines, runtime
//! metrics every 20 s per dyno, some app output), against a bare `memchr` newline scan of the
//! same bytes. Prints MB/s, lines/s and the ratio. Run: `cargo bench -p dynopilot-logplex`.
//! Optional argument: corpus size in MB (default 128).
//!
//! Each figure is the best of five runs by the wall clock. Where Linux exposes it, the best
//! on-CPU time of the thread is printed too: on a shared machine the wall clock also counts the
//! time other processes held the core, which on-CPU time leaves out (cache and frequency effects
//! of the neighbours remain in both).

use std::hint::black_box;
use std::time::Instant;

use dynopilot_logplex::corpus::{self, Corpus, CorpusConfig};
use dynopilot_logplex::frame::{FrameReader, Step};
use dynopilot_logplex::{Message, parse_body, parse_message_bytes};

fn main() {
    let megabytes: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(128);
    let (drain, lines) = build(megabytes << 20);
    let frames = parse_body(&drain).frames.len();
    println!(
        "corpus: {:.1} MB drain body, {frames} frames; {:.1} MB heroku logs text",
        mb(drain.len()),
        mb(lines.len())
    );
    let scan = best_of(5, || memchr::memchr_iter(b'\n', &drain).count());
    let frames_only = best_of(5, || frames_only(&drain));
    let full = best_of(5, || parse_drain(&drain));
    let text = best_of(5, || parse_text(&lines));
    let any_layout = best_of(5, || read_text(&lines));
    report(
        "memchr newline scan (drain bytes)",
        drain.len(),
        frames,
        scan,
    );
    report(
        "framing only: drain frames",
        drain.len(),
        frames,
        frames_only,
    );
    report(
        "full parse: drain frames + messages",
        drain.len(),
        frames,
        full,
    );
    report(
        "full parse: heroku logs lines + messages",
        lines.len(),
        frames,
        text,
    );
    report(
        "full parse: text lines, any layout (read_line)",
        lines.len(),
        frames,
        any_layout,
    );
    println!(
        "full drain parse runs at {:.1}% of newline-scan speed ({:.1}x slower)",
        100.0 * scan.wall / full.wall,
        full.wall / scan.wall
    );
}

fn build(target: usize) -> (Vec<u8>, Vec<u8>) {
    let mut generator = Corpus::new(CorpusConfig {
        web_dynos: 10,
        worker_dynos: 4,
        requests_per_second: 400,
        ..CorpusConfig::default()
    });
    let (mut drain, mut lines) = (Vec::with_capacity(target + (1 << 20)), String::new());
    while drain.len() < target {
        let entries = generator.next_second();
        corpus::write_drain(&entries, &mut drain);
        corpus::write_lines(&entries, &mut lines);
    }
    (drain, lines.into_bytes())
}

/// Parses every frame and classifies every message, streaming as `analyze` and the drain
/// endpoint do; returns a checksum so nothing is elided.
fn parse_drain(body: &[u8]) -> usize {
    let mut reader = FrameReader::new(body);
    let mut sum = 0;
    while let Some(step) = reader.next_step(true) {
        if let Step::Frame(f) = step {
            sum += weigh(&f.parse_message());
        }
    }
    sum
}

fn frames_only(body: &[u8]) -> usize {
    let mut reader = FrameReader::new(body);
    let mut sum = 0;
    while let Some(step) = reader.next_step(true) {
        if let Step::Frame(f) = step {
            sum += f.message.len();
        }
    }
    sum
}

fn parse_text(text: &[u8]) -> usize {
    let mut sum = 0;
    for line in text.split(|&b| b == b'\n') {
        if let Some(l) = dynopilot_logplex::parse_line(line) {
            sum += weigh(&parse_message_bytes(l.source, l.process, l.message));
        }
    }
    sum
}

/// `analyze`'s reader: any text layout, one record per line (unknown lines included).
fn read_text(text: &[u8]) -> usize {
    let mut sum = 0;
    let mut scratch = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        match dynopilot_logplex::read_line(line, &mut scratch) {
            dynopilot_logplex::TextLine::Log(l) => {
                sum += weigh(&parse_message_bytes(l.source, l.process, l.message));
            }
            dynopilot_logplex::TextLine::Unknown(raw) => sum += raw.len(),
        }
    }
    sum
}

fn weigh(message: &Message<'_>) -> usize {
    match message {
        Message::Router(r) => r.status.map_or(0, usize::from),
        Message::Memory(m) => m.total_mb.map_or(0, |v| v as usize),
        other => other.kind().len(),
    }
}

/// Seconds per run, best of `n` by the wall clock (the machine is shared; the best run is the
/// least disturbed), and the best on-CPU seconds when the platform reports them.
fn best_of(n: usize, mut f: impl FnMut() -> usize) -> Timing {
    let mut best = Timing {
        wall: f64::MAX,
        cpu: None,
    };
    for _ in 0..n {
        let cpu_start = thread_cpu_ns();
        // The wall clock is the thing measured here.
        #[expect(clippy::disallowed_methods)]
        let start = Instant::now();
        black_box(f());
        best.wall = best.wall.min(start.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (cpu_start, thread_cpu_ns()) {
            let secs = b.saturating_sub(a) as f64 / 1e9;
            best.cpu = Some(best.cpu.map_or(secs, |c: f64| c.min(secs)));
        }
    }
    best
}

#[derive(Clone, Copy)]
struct Timing {
    wall: f64,
    cpu: Option<f64>,
}

/// Nanoseconds this thread has run on a CPU (Linux `schedstat`), if available.
fn thread_cpu_ns() -> Option<u64> {
    // The kernel brings the running thread's total up to date only at scheduler events (a
    // tick apart); yielding is one, so the figure read next is current.
    std::thread::yield_now();
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn report(what: &str, bytes: usize, lines: usize, t: Timing) {
    let cpu = t.cpu.map_or_else(String::new, |c| {
        format!("  ({:.0} MB/s on-CPU)", mb(bytes) / c)
    });
    println!(
        "{what:<44} {:>8.0} MB/s {:>12.0} lines/s{cpu}",
        mb(bytes) / t.wall,
        lines as f64 / t.wall
    );
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1 << 20) as f64
}
