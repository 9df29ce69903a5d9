//! `analyze --json`: one JSON object per record (NDJSON) with stable keys and field names, keys
//! in alphabetical order. Written by hand into a byte buffer: no value tree, no per-field
//! allocation, numbers and escapes written directly.

use std::io::Write as _;

use dynopilot_core::names::split_dyno_name;
use dynopilot_logplex::Message;
use dynopilot_logplex::message::{ApiEvent, DynoEvent, MetricsLine, RouterLine, ScaleEvent};

use super::input::Entry;
use super::shapes;

/// Appends the JSON object (and a newline) for one entry and its parsed message.
pub fn push_entry(out: &mut Vec<u8>, entry: &Entry<'_>, message: &Message<'_>) {
    let mut o = Object::open(out);
    match message {
        Message::Router(r) => o.opt_str("dyno", r.dyno),
        _ if split_dyno_name(entry.process).is_some() => o.str("dyno", entry.process),
        _ => o.null("dyno"),
    }
    o.key("fields");
    fields(o.out, message);
    o.str("kind", message.kind());
    o.key("message");
    match entry
        .text
        .map(Ok)
        .unwrap_or_else(|| std::str::from_utf8(entry.message))
    {
        Ok(text) => push_string(o.out, text),
        Err(_) => push_string(o.out, &String::from_utf8_lossy(entry.message)),
    }
    o.str("process", entry.process);
    match entry.source {
        s @ ("heroku" | "app") => o.str("source", s),
        _ => o.null("source"),
    }
    o.str("timestamp", entry.timestamp);
    o.close();
    out.push(b'\n');
}

/// Appends the object for a line no layout could read: kind `unknown`, its text and shape.
pub fn push_unknown(out: &mut Vec<u8>, raw: &[u8]) {
    let text = String::from_utf8_lossy(raw);
    let mut o = Object::open(out);
    o.null("dyno");
    o.key("fields");
    let mut f = Object::open(o.out);
    f.str("shape", &shapes::shape(&text));
    f.close();
    o.str("kind", "unknown");
    o.str("message", &text);
    o.null("process");
    o.null("source");
    o.null("timestamp");
    o.close();
    out.push(b'\n');
}

fn fields(out: &mut Vec<u8>, message: &Message<'_>) {
    let mut f = Object::open(out);
    match message {
        Message::Router(r) => router(&mut f, r),
        Message::Memory(m) => {
            f.opt_str("dyno_id", m.dyno_id);
            f.num("memory_cache_mb", m.cache_mb);
            f.uint("memory_pgpgin_pages", m.pgpgin_pages);
            f.uint("memory_pgpgout_pages", m.pgpgout_pages);
            f.num("memory_quota_mb", m.quota_mb);
            let pct = m.quota_pct.map(|p| (p * 10.0).round() / 10.0);
            f.num("memory_quota_pct", pct);
            f.num("memory_rss_mb", m.rss_mb);
            f.num("memory_swap_mb", m.swap_mb);
            f.num("memory_total_mb", m.total_mb);
        }
        Message::Load(l) => {
            f.opt_str("dyno_id", l.dyno_id);
            f.num("load_avg_15m", l.avg_15m);
            f.num("load_avg_1m", l.avg_1m);
            f.num("load_avg_5m", l.avg_5m);
        }
        Message::Error(e) => {
            f.str("code", e.code);
            f.opt_str("desc", e.desc);
            f.opt_str("detail", e.detail);
        }
        Message::State(event) => state(&mut f, event),
        Message::Release(event) => release(&mut f, event),
        Message::Scale(scale) => {
            formation(&mut f, scale_entries(scale));
            f.opt_str("user", scale.user);
        }
        Message::L2met(line) => {
            metrics(&mut f, line);
            f.opt_str("source", line.source);
        }
        Message::Other(text) => f.str("shape", &shapes::shape(text)),
        Message::App(_) => {}
    }
    f.close();
}

fn router(f: &mut Object<'_>, r: &RouterLine<'_>) {
    f.opt_str("at", r.at);
    f.uint("bytes", r.bytes);
    f.opt_str("code", r.code);
    f.num("connect_ms", r.connect_ms);
    f.opt_str("desc", r.desc);
    f.opt_str("dyno", r.dyno);
    f.opt_str("fwd", r.fwd);
    f.opt_str("host", r.host);
    f.opt_str("method", r.method);
    f.opt_str("path", r.path);
    f.opt_str("protocol", r.protocol);
    f.uint("queue", r.queue);
    f.opt_str("request_id", r.request_id);
    f.num("service_ms", r.service_ms);
    f.uint("status", r.status.map(u64::from));
    f.opt_str("tls_version", r.tls_version);
    f.num("wait_ms", r.wait_ms);
}

fn state(f: &mut Object<'_>, event: &DynoEvent<'_>) {
    let (mut from, mut to, mut status, mut signal, mut command) = (None, None, None, None, None);
    match *event {
        DynoEvent::StateChanged { from: a, to: b } => (from, to) = (Some(a), Some(b)),
        DynoEvent::Exited { status: s } => status = s,
        DynoEvent::Stopping { signal: s, .. } => signal = Some(s),
        DynoEvent::Starting { command: c } => command = Some(c),
        _ => {}
    }
    f.opt_str("command", command);
    f.str("event", event.name());
    f.opt_str("from", from);
    f.opt_str("signal", signal);
    f.int("status", status.map(i64::from));
    f.opt_str("to", to);
}

fn release(f: &mut Object<'_>, event: &ApiEvent<'_>) {
    let (mut version, mut commit) = (None, None);
    match *event {
        ApiEvent::Release { version: v, .. } | ApiEvent::Rollback { version: v, .. } => {
            version = Some(v);
        }
        ApiEvent::Deploy { commit: c, .. } => commit = Some(c),
        ApiEvent::Audit { action, .. } => f.str("action", action),
        _ => {}
    }
    f.opt_str("commit", commit);
    if let ApiEvent::ConfigVars { names, .. } = *event {
        f.str("config_vars", names);
    }
    f.str("event", event.name());
    if let ApiEvent::ScaleTo { .. } = event {
        let entries = event
            .scale_quantities()
            .map(|(t, q)| (t, q, None))
            .collect();
        formation(f, entries);
    }
    f.opt_str("user", event.user());
    f.uint("version", version.map(u64::from));
}

type FormationEntry<'a> = (&'a str, u32, Option<&'a str>);

fn scale_entries<'a>(scale: &ScaleEvent<'a>) -> Vec<FormationEntry<'a>> {
    scale
        .entries()
        .map(|e| (e.process_type, e.quantity, Some(e.size)))
        .collect()
}

/// `"formation": {type: {"quantity", "size"}}`, types in order, the last of a repeated one.
fn formation(f: &mut Object<'_>, mut entries: Vec<FormationEntry<'_>>) {
    entries.reverse();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries.dedup_by(|a, b| a.0 == b.0);
    f.key("formation");
    let mut o = Object::open(f.out);
    for (process_type, quantity, size) in entries {
        o.key(process_type);
        let mut e = Object::open(o.out);
        e.uint("quantity", Some(u64::from(quantity)));
        e.opt_str("size", size);
        e.close();
    }
    o.close();
}

/// `"metrics": {name: {"type", "unit", "value"}}`, names in order, the last of a repeated one.
fn metrics(f: &mut Object<'_>, line: &MetricsLine<'_>) {
    let mut all: Vec<_> = line.metrics().collect();
    all.reverse();
    all.sort_by(|a, b| a.name.cmp(b.name));
    all.dedup_by(|a, b| a.name == b.name);
    f.key("metrics");
    let mut o = Object::open(f.out);
    for m in all {
        o.key(m.name);
        let mut e = Object::open(o.out);
        e.str("type", m.kind.name());
        e.str("unit", m.unit);
        match m.text {
            Some(text) => e.str("value", text),
            None => e.num("value", Some(m.value)),
        }
        e.close();
    }
    o.close();
}

/// One JSON object being written: keys are given in order and separated here.
struct Object<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Object<'o> {
    fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    fn close(self) {
        self.out.push(b'}');
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        push_string(self.out, key);
        self.out.push(b':');
    }

    fn null(&mut self, key: &str) {
        self.key(key);
        self.out.extend_from_slice(b"null");
    }

    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        push_string(self.out, value);
    }

    fn opt_str(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(v) => self.str(key, v),
            None => self.null(key),
        }
    }

    fn uint(&mut self, key: &str, value: Option<u64>) {
        self.key(key);
        match value {
            Some(v) => push_u64(self.out, v),
            None => self.out.extend_from_slice(b"null"),
        }
    }

    fn int(&mut self, key: &str, value: Option<i64>) {
        self.key(key);
        match value {
            Some(v) if v < 0 => {
                self.out.push(b'-');
                push_u64(self.out, v.unsigned_abs());
            }
            Some(v) => push_u64(self.out, v.unsigned_abs()),
            None => self.out.extend_from_slice(b"null"),
        }
    }

    fn num(&mut self, key: &str, value: Option<f64>) {
        self.key(key);
        match value {
            Some(v) => push_f64(self.out, v),
            None => self.out.extend_from_slice(b"null"),
        }
    }
}

fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// A number as JSON: always with a fraction or exponent (as serde_json writes floats), `null`
/// when not finite.
fn push_f64(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        if v < 0.0 {
            out.push(b'-');
        }
        push_u64(out, v.abs() as u64);
        out.extend_from_slice(b".0");
        return;
    }
    let start = out.len();
    let _ = write!(out, "{v}");
    if !out[start..].iter().any(|b| matches!(b, b'.' | b'e')) {
        out.extend_from_slice(b".0");
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Whether any of eight bytes needs escaping (below 0x20, `"` or `\`): one word test instead
/// of eight byte tests, for the long runs of plain text in messages.
fn word_needs_escape(word: u64) -> bool {
    let zero_in = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let below_space = word.wrapping_sub(LO * 0x20) & !word & HI;
    (below_space | zero_in(word ^ (LO * u64::from(b'"'))) | zero_in(word ^ (LO * u64::from(b'\\'))))
        != 0
}

/// Where the first byte needing an escape is at or after `from`, if any.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        if word_needs_escape(word) {
            break;
        }
        i += 8;
    }
    (i..bytes.len()).find(|&j| {
        let b = bytes[j];
        b < 0x20 || b == b'"' || b == b'\\'
    })
}

/// A JSON string: `"` and `\` escaped, control characters as `\n`, `\t`, … or `\u00XX`.
fn push_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(i) = next_escape(bytes, start) {
        let b = bytes[i];
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_numbers_read_back_with_serde() {
        for s in [
            "plain",
            "quote \" and \\ back",
            "ctl \u{1}\u{1f}\n\r\t\u{8}\u{c}",
            "é€😀",
            "",
            "1234567\"abcdefgh\\ijklmnopqrstuvw\u{1f}xyz0123456789\u{7f}",
        ] {
            let mut out = Vec::new();
            push_string(&mut out, s);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
            assert_eq!(
                out,
                serde_json::to_vec(s).unwrap(),
                "as serde_json writes it"
            );
        }
        for v in [
            0.0,
            1.0,
            -3.0,
            266.0,
            0.1,
            154.85,
            1e15,
            1e21,
            123_456.789,
            -0.25,
        ] {
            let mut out = Vec::new();
            push_f64(&mut out, v);
            let back: f64 = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, v, "{}", String::from_utf8_lossy(&out));
            assert!(out.iter().any(|b| matches!(b, b'.' | b'e')));
        }
        let mut out = Vec::new();
        push_f64(&mut out, f64::NAN);
        assert_eq!(out, b"null");
        for v in [0, 7, 10, 18_446_744_073_709_551_615] {
            let mut out = Vec::new();
            push_u64(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
        }
    }
}
