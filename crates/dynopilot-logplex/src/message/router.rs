//! Router lines (`heroku[router]: at=info method=GET path="/" … status=200 bytes=13`).

use super::units;
use crate::logfmt::{self, Pair};

mod fixed;
mod legacy;

/// One router line. Empty values (`dyno=`, `connect=`) are `None`; unknown keys stay reachable
/// through [`RouterLine::pairs`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RouterLine<'a> {
    pub at: Option<&'a str>,
    pub code: Option<&'a str>,
    pub desc: Option<&'a str>,
    pub method: Option<&'a str>,
    pub path: Option<&'a str>,
    pub host: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub fwd: Option<&'a str>,
    pub dyno: Option<&'a str>,
    pub connect_ms: Option<f64>,
    pub service_ms: Option<f64>,
    pub status: Option<u16>,
    pub bytes: Option<u64>,
    pub protocol: Option<&'a str>,
    pub tls_version: Option<&'a str>,
    pub sock: Option<&'a str>,
    pub cause: Option<&'a str>,
    pub agent: Option<&'a str>,
    /// `queue=` of pre-2012 lines: requests waiting in the dyno's queue.
    pub queue: Option<u64>,
    /// `wait=` of pre-2012 lines: time the request waited in that queue.
    pub wait_ms: Option<f64>,
    /// The whole message, for keys this struct does not name.
    pub raw: &'a str,
}

impl<'a> RouterLine<'a> {
    /// Every key of the line, known or not, in order.
    pub fn pairs(&self) -> logfmt::Pairs<'a> {
        logfmt::pairs(self.raw)
    }

    /// The status class digit (2 for 2xx), if there is a status.
    pub fn status_class(&self) -> Option<u16> {
        self.status.map(|s| s / 100)
    }
}

/// Parses a router message; `None` when it has no `at=` key (not a request line).
#[inline]
pub fn parse(message: &str) -> Option<RouterLine<'_>> {
    // Returned as is, so the record is built once, in place.
    let fast = fixed::parse(message);
    if fast.is_some() {
        return fast;
    }
    let line = parse_generic(message);
    if line.at.is_some() {
        return Some(line);
    }
    legacy::parse(message)
}

/// [`parse`] as a [`Message`], built where the caller wants it: with the fast path inlined
/// here the record is written once instead of being copied out of an `Option`.
pub(super) fn classify(message: &str) -> super::Message<'_> {
    if let Some(line) = fixed::parse(message) {
        return super::Message::Router(line);
    }
    let line = parse_generic(message);
    if line.at.is_some() {
        return super::Message::Router(line);
    }
    match legacy::parse(message) {
        Some(line) => super::Message::Router(line),
        None => super::Message::Other(message),
    }
}

/// Any key order, unknown and repeated keys (the last one wins): the logfmt scanner.
#[inline(never)]
fn parse_generic(message: &str) -> RouterLine<'_> {
    let mut line = RouterLine {
        raw: message,
        ..RouterLine::default()
    };
    for pair in logfmt::pairs(message) {
        assign(&mut line, pair);
    }
    line
}

pub(super) fn assign<'a>(line: &mut RouterLine<'a>, pair: Pair<'a>) {
    let value = pair.value.filter(|v| !v.is_empty());
    match pair.key {
        "at" => line.at = value,
        "code" => line.code = value,
        "desc" => line.desc = value,
        "method" => line.method = value,
        "path" => line.path = value,
        "host" => line.host = value,
        "request_id" => line.request_id = value,
        "fwd" => line.fwd = value,
        "dyno" => line.dyno = value,
        "connect" => line.connect_ms = value.and_then(units::millis),
        "service" => line.service_ms = value.and_then(units::millis),
        "status" => line.status = value.and_then(units::small_uint),
        "bytes" => line.bytes = value.and_then(units::small_uint),
        "protocol" => line.protocol = value,
        "tls_version" => line.tls_version = value,
        "sock" => line.sock = value,
        "cause" => line.cause = value,
        "agent" => line.agent = value,
        "queue" => line.queue = value.and_then(units::small_uint),
        "wait" => line.wait_ms = value.and_then(units::millis),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
