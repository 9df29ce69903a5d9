//! Connections a fault can drop: the simulator's listener wraps each accepted socket so that
//! a request handler can cut its own connection (reset, no answer at all), as a proxy or a
//! crashing router would.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The API's listener.
#[derive(Debug)]
pub struct FaultListener {
    inner: TcpListener,
}

impl FaultListener {
    pub fn new(inner: TcpListener) -> Self {
        FaultListener { inner }
    }
}

/// A socket that fails every read and write once its [`ConnKill`] is pulled, so the server
/// drops it; closing with a zero linger sends a TCP reset instead of a clean close.
#[derive(Debug)]
pub struct FaultStream {
    inner: TcpStream,
    killed: Arc<AtomicBool>,
}

/// The handle a request gets (as `ConnectInfo`) to drop its connection.
#[derive(Debug, Clone)]
pub struct ConnKill(Arc<AtomicBool>);

impl ConnKill {
    /// The connection fails at its next read or write, without an answer.
    pub fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Listener for FaultListener {
    type Io = FaultStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (FaultStream, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((inner, addr)) => {
                    let stream = FaultStream {
                        inner,
                        killed: Arc::new(AtomicBool::new(false)),
                    };
                    return (stream, addr);
                }
                Err(err) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %err, "simulator accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl Connected<IncomingStream<'_, FaultListener>> for ConnKill {
    fn connect_info(stream: IncomingStream<'_, FaultListener>) -> Self {
        ConnKill(Arc::clone(&stream.io().killed))
    }
}

impl FaultStream {
    fn check(&self) -> io::Result<()> {
        if !self.killed.load(Ordering::SeqCst) {
            return Ok(());
        }
        // Best effort: without it the peer sees a clean close, still without an answer.
        if let Err(err) = self.inner.set_zero_linger() {
            tracing::debug!(error = %err, "cannot set zero linger");
        }
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection dropped by an injected fault",
        ))
    }
}

impl AsyncRead for FaultStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
