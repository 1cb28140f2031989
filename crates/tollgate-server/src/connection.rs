//! One accepted connection, with the timeouts that keep a client from holding it (and shutdown)
//! forever (docs/security.md, "Connections"):
//!
//! - **header read**: a request head must arrive in full within `header` of its first byte (or of
//!   the accept, for a connection that sends nothing);
//! - **body read**: a request body must be received in full within `body` of its head;
//! - **idle**: a keep-alive connection with no request in flight is closed after `idle` of silence.
//!
//! hyper's own `header_read_timeout` also runs while a keep-alive connection waits for its next
//! request, which would make the idle timeout no longer than the header one; so both are kept here,
//! from the connection's I/O and the requests in flight. On shutdown a connection with nothing in
//! flight is closed at once; one with requests in flight finishes them.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http::Request;
use http_body::Frame;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// The three timeouts (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header: Duration,
    pub body: Duration,
    pub idle: Duration,
}

const NONE: u64 = u64::MAX;

/// What the connection did, in milliseconds since it was accepted.
struct Activity {
    accepted: Instant,
    last_io: AtomicU64,
    /// When the bytes of a request head started arriving (or the accept); `NONE` between requests.
    head_since: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            accepted: Instant::now(),
            last_io: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn read(&self) {
        let now = self.now();
        self.last_io.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            let _ = self.head_since.compare_exchange(NONE, now, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    fn wrote(&self) {
        self.last_io.store(self.now(), Ordering::Relaxed);
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_since.store(NONE, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Why the connection should be closed now, if it should.
    fn expired(&self, t: &Timeouts) -> Option<&'static str> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let now = self.now();
        let head = self.head_since.load(Ordering::Relaxed);
        if head != NONE && now.saturating_sub(head) > millis(t.header) {
            return Some("header read timeout");
        }
        (now.saturating_sub(self.last_io.load(Ordering::Relaxed)) > millis(t.idle)).then_some("idle timeout")
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A request in flight, until its response body is dropped.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.wrote();
    }
}

/// The socket, reporting its reads and writes to [`Activity`].
struct Tracked {
    tcp: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.tcp).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.wrote();
        }
        polled
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.wrote();
        }
        polled
    }
    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// A request body that fails once its deadline passes before it was received in full.
struct TimedBody {
    inner: hyper::body::Incoming,
    /// When the body must be complete; the timer is armed only if the body has to be waited for.
    due: tokio::time::Instant,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    limit: Duration,
    done: bool,
}

/// The error a late request body ends with.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received within {0} s (--body-read-timeout-secs)")]
pub struct BodyTimeout(u64);

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.done {
            return Pin::new(&mut this.inner).poll_frame(cx).map_err(Into::into);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(frame)) => Poll::Ready(Some(frame.map_err(Into::into))),
            Poll::Pending => match this
                .deadline
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(this.due)))
                .as_mut()
                .poll(cx)
            {
                Poll::Ready(()) => {
                    this.done = true;
                    Poll::Ready(Some(Err(Box::new(BodyTimeout(this.limit.as_secs())))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

use std::future::Future as _;

/// A response body that keeps its request counted as in flight until it is dropped.
struct Counted {
    inner: Body,
    _in_flight: InFlight,
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Serves one connection until it ends, a timeout closes it, or `stop` (then: at once when nothing
/// is in flight, else after the requests in flight are answered).
pub async fn serve(tcp: TcpStream, peer: SocketAddr, app: Router, timeouts: Timeouts, stop: CancellationToken) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked { tcp, activity: activity.clone() });
    let service = hyper::service::service_fn({
        let activity = activity.clone();
        move |req: Request<hyper::body::Incoming>| {
            let in_flight = activity.request_started();
            let due = tokio::time::Instant::now() + timeouts.body;
            let mut req = req.map(|inner| {
                if http_body::Body::is_end_stream(&inner) {
                    Body::new(inner) // no body to wait for
                } else {
                    Body::new(TimedBody { inner, due, deadline: None, limit: timeouts.body, done: false })
                }
            });
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                let Ok(response) = app.oneshot(req).await;
                Ok::<_, Infallible>(response.map(|inner| Body::new(Counted { inner, _in_flight: in_flight })))
            }
        }
    });
    // HTTP/1.1 only, as the providers' SDKs speak it: no HTTP/2 (h2c) server to expose or keep
    // patched, and no protocol sniffing on each connection (docs/security.md).
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    let every = (timeouts.header.min(timeouts.idle) / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut tick = tokio::time::interval(every);
    let mut stopping = false;
    loop {
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = tick.tick() => {
                if let Some(why) = activity.expired(&timeouts) {
                    tracing::debug!(%peer, why, "closing connection");
                    return;
                }
            }
            () = stop.cancelled(), if !stopping => {
                if activity.in_flight.load(Ordering::Relaxed) == 0 {
                    return;
                }
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
