//! The router fast path: Heroku writes router keys in one fixed order, so each key is checked
//! with a single prefix comparison at the expected place instead of being searched for and
//! matched against every known name. Any surprise (another order, an unknown or repeated key,
//! stray spaces, junk after a quote) gives up and leaves the line to the generic parser, so
//! the result is always the one the generic parser would produce.

use super::RouterLine;
use crate::logfmt;
use crate::message::units;
use crate::scan;

/// The line in Heroku's order `at= [code=] [desc=] method= path= host= request_id= fwd= dyno=
/// connect= service= status= bytes= protocol= [tls_version=]`, or `None` if it is not exactly
/// that (including when `request_id=` or `protocol=` is missing, as in older lines). An empty
/// `at=` is also left to the generic parser, so a result here is always a request line.
#[inline(always)]
pub(super) fn parse(message: &str) -> Option<RouterLine<'_>> {
    let mut c = Cursor {
        text: message,
        bytes: message.as_bytes(),
        pos: 0,
    };
    let at = c.field(b"at=")?;
    let code = c.optional(b"code=")?;
    let desc = c.optional(b"desc=")?;
    let method = c.field(b"method=")?;
    let path = c.field(b"path=")?;
    let host = c.field(b"host=")?;
    let request_id = c.field(b"request_id=")?;
    let fwd = c.field(b"fwd=")?;
    let dyno = c.field(b"dyno=")?;
    let connect = c.field(b"connect=")?;
    let service = c.field(b"service=")?;
    let status = c.field(b"status=")?;
    let bytes = c.field(b"bytes=")?;
    let protocol = c.field(b"protocol=")?;
    let tls_version = c.optional(b"tls_version=")?;
    if c.pos != message.len() || at.is_empty() {
        return None;
    }
    Some(RouterLine {
        at: c.text(at)?,
        code: c.text(code)?,
        desc: c.text(desc)?,
        method: c.text(method)?,
        path: c.text(path)?,
        host: c.text(host)?,
        request_id: c.text(request_id)?,
        fwd: c.text(fwd)?,
        dyno: c.text(dyno)?,
        connect_ms: c.millis(connect)?,
        service_ms: c.millis(service)?,
        status: c.uint(status)?,
        bytes: c.uint(bytes)?,
        protocol: c.text(protocol)?,
        tls_version: c.text(tls_version)?,
        sock: None,
        cause: None,
        agent: None,
        queue: None,
        wait_ms: None,
        raw: message,
    })
}

/// Where a value lies in the message (quotes excluded); empty for an absent optional key.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

impl Span {
    fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// Reads `key=value` fields one after another, each followed by one space or the end.
struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// The value of `key` (which includes its `=`) if the next field is that key, `None` when
    /// the next field is not `key` or is not followed by a space or the end.
    #[inline(always)]
    fn field(&mut self, key: &[u8]) -> Option<Span> {
        let bytes = self.bytes;
        if !bytes.get(self.pos..)?.starts_with(key) {
            return None;
        }
        let start = self.pos + key.len();
        if bytes.get(start) == Some(&b'"') {
            let (close, next) = logfmt::closing_quote(bytes, start + 1);
            // One space (or the end) must follow: the generic parser would read anything else
            // glued to a closing quote as another key.
            self.pos = match bytes.get(next) {
                None => next,
                Some(b' ') => next + 1,
                Some(_) => return None,
            };
            return Some(Span {
                start: start + 1,
                end: close,
            });
        }
        // The space found is the separator, so the next field's position is known without
        // reading it again (that read would sit on the chain from one field to the next).
        let (end, next) = match scan::find(bytes, start, b' ') {
            Some(space) => (space, space + 1),
            None => (bytes.len(), bytes.len()),
        };
        self.pos = next;
        Some(Span { start, end })
    }

    /// Like [`Cursor::field`], but an absent key is fine (an empty span) and consumes nothing.
    #[inline(always)]
    fn optional(&mut self, key: &[u8]) -> Option<Span> {
        let present = self
            .bytes
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(key));
        if present {
            self.field(key)
        } else {
            Some(Span {
                start: self.pos,
                end: self.pos,
            })
        }
    }

    /// The value as text, `Some(None)` when empty (as the generic parser reports it). The outer
    /// `None` cannot happen (spans end at ASCII delimiters) but gives up rather than panic.
    #[inline(always)]
    fn text(&self, span: Span) -> Option<Option<&'a str>> {
        let value = self.text.get(..span.end)?.get(span.start..)?;
        Some((!value.is_empty()).then_some(value))
    }

    /// `units::millis` of the value; Heroku's own `18ms` (and the bare `18` of old lines) is
    /// read as one word without the general number scanner.
    #[inline(always)]
    fn millis(&self, span: Span) -> Option<Option<f64>> {
        let Span { start, end } = span;
        let digits_end = if self.bytes.get(start..end)?.ends_with(b"ms") {
            end - 2
        } else {
            end
        };
        if let Some(n) = scan::digits(self.bytes, start, digits_end - start) {
            return Some(Some(n as f64));
        }
        Some(self.text(span)?.and_then(units::millis))
    }

    /// An unsigned number as `str::parse` reads it (`status=`, `bytes=`).
    #[inline(always)]
    fn uint<T: TryFrom<u64> + std::str::FromStr>(&self, span: Span) -> Option<Option<T>> {
        let Span { start, end } = span;
        if let Some(n) = scan::digits(self.bytes, start, end - start) {
            return Some(T::try_from(n).ok());
        }
        Some(self.text(span)?.and_then(units::small_uint))
    }
}
