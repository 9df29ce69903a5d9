//! The rendezvous endpoint for one-off dynos on loopback: TLS as on Heroku (a connection that
//! opens with a TLS handshake), or plain TCP. A client writes the secret and `\r\n`, the
//! server answers `rendezvous\r\n`, then (once the dyno has started) its output, then closes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::shell::Segment;

/// Between the banner and the output: the dyno starts once the client is attached. Clients
/// (the official CLI among them) drop the first chunk they read as the banner, so the output
/// must not share it.
const START_DELAY: Duration = Duration::from_millis(50);

/// Longest wait for the client's end of input once the output is sent.
const LINGER: Duration = Duration::from_secs(1);

/// Longest secret line accepted.
const MAX_SECRET_BYTES: u64 = 512;

/// Called when a client has received a one-off dyno's output (the dyno then completes).
pub type OnAttached = Arc<dyn Fn(&str) + Send + Sync>;

/// Pending one-off outputs by secret.
#[derive(Default)]
pub struct Rendezvous {
    waiting: Mutex<HashMap<String, Waiting>>,
    /// Stop signals of registered dynos, by dyno id, until their connection ends.
    running: Mutex<HashMap<String, CancellationToken>>,
}

struct Waiting {
    dyno_id: String,
    output: Vec<Segment>,
    /// Fires when the dyno is stopped: the connection closes mid-output.
    stopped: CancellationToken,
}

impl std::fmt::Debug for Rendezvous {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rendezvous(..)")
    }
}

impl Rendezvous {
    /// Registers a dyno's output under a fresh secret and returns the secret.
    pub fn register(&self, dyno_id: &str, output: Vec<Segment>) -> String {
        let secret = uuid::Uuid::new_v4().simple().to_string();
        let stopped = CancellationToken::new();
        self.running().insert(dyno_id.to_string(), stopped.clone());
        self.lock().insert(
            secret.clone(),
            Waiting {
                dyno_id: dyno_id.to_string(),
                output,
                stopped,
            },
        );
        secret
    }

    /// Forgets a dyno's secret (it ended before anyone attached) and closes its connection
    /// if a client is attached (the dyno was stopped or restarted).
    pub fn forget_dyno(&self, dyno_id: &str) {
        self.lock().retain(|_, w| w.dyno_id != dyno_id);
        if let Some(stopped) = self.running().remove(dyno_id) {
            stopped.cancel();
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn claim(&self, secret: &str) -> Option<Waiting> {
        self.lock().remove(secret)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiting>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Binds `127.0.0.1:0` and serves connections until `cancel` fires.
pub async fn start(
    rendezvous: Arc<Rendezvous>,
    on_attached: OnAttached,
    cancel: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let tls = crate::rendezvous_tls::acceptor().map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = cancel.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((stream, _)) = accepted else { continue };
            let rendezvous = Arc::clone(&rendezvous);
            let on_attached = Arc::clone(&on_attached);
            let tls = tls.clone();
            tokio::spawn(async move {
                if let Err(err) = accept(stream, &tls, &rendezvous, &on_attached).await {
                    tracing::debug!(error = %err, "rendezvous connection failed");
                }
            });
        }
    });
    Ok(addr)
}

/// Serves one connection, over TLS when it opens with a handshake.
async fn accept(
    stream: TcpStream,
    tls: &tokio_rustls::TlsAcceptor,
    rendezvous: &Rendezvous,
    on_attached: &OnAttached,
) -> std::io::Result<()> {
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await? == 1 && first[0] == crate::rendezvous_tls::HANDSHAKE_BYTE {
        let stream = tls.accept(stream).await?;
        return serve(stream, rendezvous, on_attached).await;
    }
    serve(stream, rendezvous, on_attached).await
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    rendezvous: &Rendezvous,
    on_attached: &OnAttached,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    (&mut reader)
        .take(MAX_SECRET_BYTES)
        .read_until(b'\n', &mut line)
        .await?;
    let secret = String::from_utf8_lossy(&line);
    let secret = secret.trim_end_matches(['\r', '\n']);
    // An unknown secret gets the connection closed without a banner, as a dead dyno would.
    let Some(waiting) = rendezvous.claim(secret) else {
        return Ok(());
    };
    let mut stream = reader.into_inner();
    stream.write_all(b"rendezvous\r\n").await?;
    stream.flush().await?;
    tokio::time::sleep(START_DELAY).await;
    let stopped = waiting.stopped.clone();
    let ran = tokio::select! {
        ran = write_output(&mut stream, &waiting.output) => ran,
        () = stopped.cancelled() => return stream.shutdown().await,
    };
    ran?;
    await_end_of_input(&mut stream).await;
    stream.shutdown().await?;
    rendezvous.running().remove(&waiting.dyno_id);
    on_attached(&waiting.dyno_id);
    Ok(())
}

/// Writes the output segments, sleeping where the command slept.
async fn write_output<S: AsyncWrite + Unpin>(
    stream: &mut S,
    output: &[Segment],
) -> std::io::Result<()> {
    for segment in output {
        match segment {
            Segment::Output(bytes) => {
                stream.write_all(bytes).await?;
                stream.flush().await?;
            }
            Segment::Sleep(d) => tokio::time::sleep(*d).await,
        }
    }
    Ok(())
}

/// Waits (at most [`LINGER`]) for the client's end of input, Ctrl-D (`0x04`) or a close, before
/// the connection ends: the official CLI sends its stdin's end and fails if the dyno has hung
/// up first; a client that sends nothing just waits a little longer for the close.
async fn await_end_of_input<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut buf = [0u8; 256];
    let _ = tokio::time::timeout(LINGER, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) if buf[..n].contains(&0x04) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn handshake_then_output_then_close_and_secret_is_single_use() {
        let rendezvous = Arc::new(Rendezvous::default());
        let attached = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&attached);
        let on: OnAttached = Arc::new(move |id| seen.lock().unwrap().push(id.to_string()));
        let cancel = CancellationToken::new();
        let addr = start(Arc::clone(&rendezvous), on, cancel.clone())
            .await
            .unwrap();
        let secret = rendezvous.register("dyno-1", vec![Segment::Output(b"out\n".to_vec())]);

        let mut conn = TcpStream::connect(addr).await.unwrap();
        conn.write_all(format!("{secret}\r\n").as_bytes())
            .await
            .unwrap();
        let mut all = Vec::new();
        conn.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"rendezvous\r\nout\n");
        assert_eq!(*attached.lock().unwrap(), ["dyno-1"]);

        let mut again = TcpStream::connect(addr).await.unwrap();
        again
            .write_all(format!("{secret}\r\n").as_bytes())
            .await
            .unwrap();
        let mut rest = Vec::new();
        again.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        cancel.cancel();
    }
}
