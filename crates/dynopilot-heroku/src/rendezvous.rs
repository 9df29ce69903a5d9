//! Attaching to a one-off dyno through Heroku's rendezvous protocol.
//!
//! A dyno created with `attach: true` has an `attach_url` such as
//! `rendezvous://rendezvous.runtime.heroku.com:5000/<secret>`. The client connects, writes the
//! secret (the URL path without its leading `/`, plus any query) and `\r\n`, reads and discards
//! one banner line, and from then on the socket carries the dyno's output (and takes its stdin).
//!
//! Heroku's real endpoint speaks TLS; [`handshake`] works over any stream so callers can wrap
//! one, and [`attach_plain`] connects over plain TCP (the simulator's endpoint).

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::error::HerokuError;

/// Longest banner line accepted before the output starts.
const MAX_BANNER_BYTES: u64 = 1024;

/// A parsed `attach_url`. `Debug` hides the secret, which grants access to the dyno.
#[derive(Clone, PartialEq, Eq)]
pub struct AttachUrl {
    pub host: String,
    pub port: u16,
    secret: String,
}

impl std::fmt::Debug for AttachUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AttachUrl({}:{}, secret: ***)", self.host, self.port)
    }
}

impl AttachUrl {
    /// Parses `rendezvous://host:port/secret[?query]`.
    pub fn parse(url: &str) -> Result<Self, HerokuError> {
        // Errors name only the problem, never the URL, which contains the secret.
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| HerokuError::invalid(format!("bad attach URL: {e}")))?;
        if parsed.scheme() != "rendezvous" {
            return Err(HerokuError::invalid(format!(
                "attach URL scheme {:?} is not supported (only rendezvous://)",
                parsed.scheme()
            )));
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| HerokuError::invalid("attach URL has no host"))?;
        let port = parsed
            .port()
            .ok_or_else(|| HerokuError::invalid("attach URL has no port"))?;
        let mut secret = parsed.path().trim_start_matches('/').to_string();
        if let Some(query) = parsed.query() {
            secret.push('?');
            secret.push_str(query);
        }
        if secret.is_empty() {
            return Err(HerokuError::invalid("attach URL has no secret"));
        }
        Ok(AttachUrl {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            secret,
        })
    }

    /// The handshake secret (path without the leading `/`, plus query).
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

/// Sends the secret and swallows the banner line. The returned reader yields dyno output and
/// still accepts writes (stdin for the dyno).
pub async fn handshake<S>(mut stream: S, secret: &str) -> Result<BufReader<S>, HerokuError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let hello = format!("{secret}\r\n");
    stream.write_all(hello.as_bytes()).await.map_err(io_error)?;
    stream.flush().await.map_err(io_error)?;
    let mut reader = BufReader::new(stream);
    let mut banner = Vec::new();
    (&mut reader)
        .take(MAX_BANNER_BYTES)
        .read_until(b'\n', &mut banner)
        .await
        .map_err(io_error)?;
    if banner.last() != Some(&b'\n') {
        return Err(HerokuError::decode(
            "rendezvous closed or sent no banner line before output",
        ));
    }
    Ok(reader)
}

/// Connects over plain TCP, performs the handshake and copies all output into `out` until
/// the dyno closes the connection. Returns the number of output bytes.
pub async fn attach_plain<W>(attach_url: &str, out: &mut W) -> Result<u64, HerokuError>
where
    W: AsyncWrite + Unpin,
{
    let url = AttachUrl::parse(attach_url)?;
    let stream = TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(io_error)?;
    let mut reader = handshake(stream, url.secret()).await?;
    let copied = tokio::io::copy(&mut reader, out).await.map_err(io_error)?;
    out.flush().await.map_err(io_error)?;
    Ok(copied)
}

fn io_error(err: std::io::Error) -> HerokuError {
    HerokuError::Transport {
        message: format!("rendezvous: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_and_secret_with_query() {
        let url =
            AttachUrl::parse("rendezvous://rendezvous.runtime.heroku.com:5000/abc123?x=1").unwrap();
        assert_eq!(url.host, "rendezvous.runtime.heroku.com");
        assert_eq!(url.port, 5000);
        assert_eq!(url.secret(), "abc123?x=1");
        assert!(!format!("{url:?}").contains("abc123"));
    }

    #[test]
    fn rejects_other_schemes_and_missing_parts_without_leaking_the_secret() {
        let err = AttachUrl::parse("https://example.com:5000/topsecret").unwrap_err();
        assert!(!err.to_string().contains("topsecret"));
        assert!(AttachUrl::parse("rendezvous://host/secret").is_err());
        assert!(AttachUrl::parse("rendezvous://host:5000/").is_err());
        assert!(AttachUrl::parse("not a url").is_err());
    }

    #[tokio::test]
    async fn handshake_discards_banner_and_keeps_output_that_followed_it() {
        let (client, mut server) = tokio::io::duplex(256);
        let server_task = tokio::spawn(async move {
            let mut got = [0u8; 8];
            server.read_exact(&mut got).await.unwrap();
            server.write_all(b"rendezvous\r\nhello\n").await.unwrap();
            got
        });
        let mut reader = handshake(client, "sekret").await.unwrap();
        assert_eq!(&server_task.await.unwrap(), b"sekret\r\n");
        let mut rest = String::new();
        reader.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "hello\n");
    }

    #[tokio::test]
    async fn handshake_fails_cleanly_when_the_server_hangs_up() {
        let (client, server) = tokio::io::duplex(64);
        drop(server);
        assert!(handshake(client, "s").await.is_err());
    }
}
