//! The accept loop. Every TCP connection counts against one cap (kept
//! below the process's open-file limit) from accept to close, upgraded or
//! not, and must send a whole request head within a deadline, also between
//! keep-alive requests: a crowd of sockets that send nothing, or trickle a
//! byte a second, cannot exhaust the host's file descriptors and starve
//! `/healthz` and the owner's connection.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Extension;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// File descriptors kept free for everything that is not a client socket
/// (journal, agent pipes, logs, the listener itself).
const RESERVED_FDS: u64 = 64;

/// Open files kept for each session the host may run.
const SESSION_FDS: u64 = 12;
/// After an accept error (out of descriptors, say), wait this long rather
/// than spin and flood the log.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

#[derive(Clone)]
pub struct SocketLimits {
    /// Time a client has to send a whole request head; also how long an
    /// idle keep-alive connection stays open.
    pub header_read: Duration,
    /// Accepted sockets open at once; more are closed as they arrive.
    pub max_sockets: usize,
    /// TLS of its own (`wss://`), when configured (swapped when its
    /// files change).
    pub tls: Option<super::tls::SharedAcceptor>,
}

/// Raises the soft open-file limit to the hard one and returns how many
/// client sockets fit below it, leaving room for `sessions` sessions (at
/// most half of the limit), so that sockets cannot starve them.
pub fn socket_budget(sessions: usize) -> usize {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 1024;
    };
    let limit = if hard > soft && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        hard
    } else {
        soft
    };
    let for_sessions = (sessions as u64).saturating_mul(SESSION_FDS).min(limit / 2);
    usize::try_from(limit.saturating_sub(RESERVED_FDS + for_sessions).max(16)).unwrap_or(usize::MAX)
}

/// Serves `app` on `listener` until `stop` turns true; then accepts no more
/// and lets open HTTP exchanges finish (upgraded connections are the
/// session's to close).
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: SocketLimits,
    mut stop: watch::Receiver<bool>,
) {
    let open = Arc::new(AtomicUsize::new(0));
    let mut refused_since_log = 0u64;
    let mut failed_since_log = 0u64;
    loop {
        let accepted = tokio::select! {
            () = stopped(&mut stop) => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of files, say: back off, and say so without a line
                // every 100 ms.
                failed_since_log += 1;
                if failed_since_log.is_power_of_two() {
                    tracing::warn!("accept failed ({failed_since_log} times in a row): {e}");
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        failed_since_log = 0;
        let (stream, peer) = stream;
        let Some(stream) = CountedStream::admit(stream, &open, limits.max_sockets) else {
            refused_since_log += 1;
            if refused_since_log.is_power_of_two() {
                tracing::warn!(
                    "{refused_since_log} connections refused: {} sockets are open (the limit)",
                    limits.max_sockets
                );
            }
            continue;
        };
        refused_since_log = 0;
        // Frames are small and latency matters: no Nagle delay.
        let _ = stream.inner.set_nodelay(true);
        // Handlers learn the peer's address (to count failed logins).
        let app = app.clone().layer(Extension(ConnectInfo(peer)));
        let (header_read, stop) = (limits.header_read, stop.clone());
        let tls = limits
            .tls
            .as_ref()
            .map(|shared| shared.read().unwrap_or_else(|e| e.into_inner()).clone());
        match tls {
            None => {
                tokio::spawn(serve_connection(stream, app, header_read, stop));
            }
            // The handshake has the request head's deadline too.
            Some(tls) => {
                tokio::spawn(async move {
                    match tokio::time::timeout(header_read, tls.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(stream, app, header_read, stop).await,
                        Ok(Err(e)) => tracing::debug!("TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!("TLS handshake took too long"),
                    }
                });
            }
        }
    }
}

async fn serve_connection<S>(
    stream: S,
    app: axum::Router,
    header_read: Duration,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read)
        .keep_alive(true);
    let connection = builder
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!("HTTP connection ended: {e}");
            }
        }
        () = stopped(&mut stop) => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Resolves once the host stops (or the stop signal is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// A TCP stream that holds one place of the socket cap until it is
/// dropped, wherever it ends up (an upgraded WebSocket keeps it).
struct CountedStream {
    inner: TcpStream,
    open: Arc<AtomicUsize>,
}

impl CountedStream {
    fn admit(inner: TcpStream, open: &Arc<AtomicUsize>, max: usize) -> Option<Self> {
        let before = open.fetch_add(1, Ordering::AcqRel);
        let stream = CountedStream {
            inner,
            open: open.clone(),
        };
        // Dropping `stream` gives the place back and closes the socket.
        (before < max).then_some(stream)
    }
}

impl Drop for CountedStream {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl AsyncRead for CountedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
