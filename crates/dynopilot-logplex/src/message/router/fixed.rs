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
/// that (including when `request_id=` or `protocol=` is missing, as in older lines).
pub(super) fn parse(message: &str) -> Option<RouterLine<'_>> {
    let mut c = Cursor {
        text: message,
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
    if c.pos != message.len() {
        return None;
    }
    Some(RouterLine {
        at,
        code,
        desc,
        method,
        path,
        host,
        request_id,
        fwd,
        dyno,
        connect_ms: connect.and_then(units::millis),
        service_ms: service.and_then(units::millis),
        status: status.and_then(units::small_uint),
        bytes: bytes.and_then(units::small_uint),
        protocol,
        tls_version,
        sock: None,
        cause: None,
        agent: None,
        raw: message,
    })
}

/// Reads `key=value` fields one after another, each followed by one space or the end.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// The value of `key` (which includes its `=`) if the next field is that key; `Some(None)`
    /// for an empty value, as the generic parser gives. `None` when the next field is not `key`
    /// or is malformed.
    #[inline(always)]
    fn field(&mut self, key: &[u8]) -> Option<Option<&'a str>> {
        let bytes = self.text.as_bytes();
        if !bytes.get(self.pos..)?.starts_with(key) {
            return None;
        }
        let start = self.pos + key.len();
        let (value, end) = if bytes.get(start) == Some(&b'"') {
            let (close, next) = logfmt::closing_quote(bytes, start + 1);
            (self.text.get(start + 1..close)?, next)
        } else {
            let end = scan::find(bytes, start, b' ').unwrap_or(bytes.len());
            (self.text.get(start..end)?, end)
        };
        // One space (or the end) must follow: the generic parser would read anything else
        // glued to a closing quote as another key.
        self.pos = match bytes.get(end) {
            None => end,
            Some(b' ') => end + 1,
            Some(_) => return None,
        };
        Some((!value.is_empty()).then_some(value))
    }

    /// Like [`Cursor::field`], but an absent key is fine (`Some(None)`) and consumes nothing.
    #[inline(always)]
    fn optional(&mut self, key: &[u8]) -> Option<Option<&'a str>> {
        let present = self
            .text
            .as_bytes()
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(key));
        if present { self.field(key) } else { Some(None) }
    }
}
