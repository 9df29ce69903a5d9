//! Days before an https endpoint's certificate expires: the `notAfter` of the leaf certificate
//! the server presented (reqwest's TLS info hands over its DER bytes), minus now. Only the path
//! to `validity` is read; a certificate this cannot read yields no value, never an error.

use dynopilot_core::Timestamp;

const SEQUENCE: u8 = 0x30;
const VERSION: u8 = 0xA0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// Days left (fractional; negative once expired) of the DER certificate `der` at `now`.
pub fn days_left(der: &[u8], now: Timestamp) -> Option<f64> {
    let expires = not_after(der)?;
    Some((expires - now.as_millis() / 1000) as f64 / 86_400.0)
}

/// `Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber,
/// signature, issuer, validity SEQUENCE { notBefore, notAfter }, … }, … }` (RFC 5280 §4.1).
fn not_after(der: &[u8]) -> Option<i64> {
    let (SEQUENCE, cert, _) = tlv(der)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = tlv(cert)? else {
        return None;
    };
    let mut rest = tbs;
    if let (VERSION, _, after) = tlv(rest)? {
        rest = after;
    }
    for _ in ["serialNumber", "signature", "issuer"] {
        rest = tlv(rest)?.2;
    }
    let (SEQUENCE, validity, _) = tlv(rest)? else {
        return None;
    };
    let not_before_rest = tlv(validity)?.2;
    let (tag, time, _) = tlv(not_before_rest)?;
    unix_seconds(tag, std::str::from_utf8(time).ok()?)
}

/// One DER element: tag, contents, what follows.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    Some((tag, b.get(header..end)?, b.get(end..)?))
}

/// `YYMMDDHHMMSSZ` (UTCTime, years 1950–2049) or `YYYYMMDDHHMMSSZ` (GeneralizedTime).
fn unix_seconds(tag: u8, s: &str) -> Option<i64> {
    let digits = s.strip_suffix('Z')?;
    let (year, rest) = match tag {
        UTC_TIME => {
            let yy: i16 = digits.get(..2)?.parse().ok()?;
            (
                if yy < 50 { 2000 + yy } else { 1900 + yy },
                digits.get(2..)?,
            )
        }
        GENERALIZED_TIME => (digits.get(..4)?.parse().ok()?, digits.get(4..)?),
        _ => return None,
    };
    let field = |i: usize| -> Option<i8> { rest.get(i..i + 2)?.parse().ok() };
    let at = jiff::civil::DateTime::new(
        year,
        field(0)?,
        field(2)?,
        field(4)?,
        field(6)?,
        field(8)?,
        0,
    )
    .ok()?
    .to_zoned(jiff::tz::TimeZone::UTC)
    .ok()?;
    Some(at.timestamp().as_second())
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    /// A self-signed P-256 certificate made with `openssl req -x509 … -days 30`:
    /// notBefore 2026-12-05 16:55:48 UTC, notAfter 2027-01-04 16:55:48 UTC.
    const CERT: &str = "MIIBfjCCASWgAwIBAgIUPio9oNGi9XLipEugjimFOFYnlowwCgYIKoZIzj0EAwIwFTETMBEGA1UEAwwKcHJvYmUudGVzdDAeFw0yNjEyMDUxNjU1NDhaFw0yNzAxMDQxNjU1NDhaMBUxEzARBgNVBAMMCnByb2JlLnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATkXzpPOQABmNH5Tzx+86zFiyKOXEJ7o4nLUnA9Wv0lXshV6keCdrRFRq/sHGmnpHPNNPQxlEpk9icFBBUh4dQIo1MwUTAdBgNVHQ4EFgQUuaSz5sob8Kfdq82NSqnXfHrHBi8wHwYDVR0jBBgwFoAUuaSz5sob8Kfdq82NSqnXfHrHBi8wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiAul1JPliRJ46SkqhCOhqSHw/x32aFnEHc2SBgMcsx3sQIgQLb+qRO5GX6tFGTMHIiqaf12Ns5G6RWFwTnw81QXdM4=";

    #[test]
    fn days_left_come_from_the_certificate_not_after() {
        let der = base64::engine::general_purpose::STANDARD
            .decode(CERT)
            .unwrap();
        // 2026-12-25 16:55:48 UTC: ten days before notAfter.
        let now = Timestamp::from_secs(1_798_217_748);
        let days = days_left(&der, now).unwrap();
        assert!((days - 10.0).abs() < 1e-9, "{days}");
        assert_eq!(
            days_left(&der[..40], now),
            None,
            "a cut certificate yields nothing"
        );
        assert_eq!(days_left(b"not a certificate", now), None);
    }
}
