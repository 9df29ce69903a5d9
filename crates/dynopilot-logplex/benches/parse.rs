//! Parsing throughput over a generated, realistic drain corpus (mostly router lines, runtime
//! metrics every 20 s per dyno, some app output), against a bare `memchr` newline scan of the
//! same bytes. Prints MB/s, lines/s and the ratio. Run: `cargo bench -p dynopilot-logplex`.
//! Optional argument: corpus size in MB (default 128).

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
    println!(
        "full drain parse runs at {:.1}% of newline-scan speed ({:.1}x slower)",
        100.0 * scan / full,
        full / scan
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

fn weigh(message: &Message<'_>) -> usize {
    match message {
        Message::Router(r) => r.status.map_or(0, usize::from),
        Message::Memory(m) => m.total_mb.map_or(0, |v| v as usize),
        other => other.kind().len(),
    }
}

/// Seconds per run, best of `n` (the machine is shared; the best run is the least disturbed).
fn best_of(n: usize, mut f: impl FnMut() -> usize) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..n {
        // The wall clock is the thing measured here.
        #[expect(clippy::disallowed_methods)]
        let start = Instant::now();
        black_box(f());
        best = best.min(start.elapsed().as_secs_f64());
    }
    best
}

fn report(what: &str, bytes: usize, lines: usize, secs: f64) {
    println!(
        "{what:<44} {:>8.0} MB/s {:>12.0} lines/s",
        mb(bytes) / secs,
        lines as f64 / secs
    );
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1 << 20) as f64
}
