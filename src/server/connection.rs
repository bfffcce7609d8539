//! One HTTP connection's clock: how long it may take to send a request head, and how long it
//! may sit idle between requests.
//!
//! hyper's own `header_read_timeout` starts whenever a connection waits for a head, idle
//! keep-alive connections included, so it cannot tell "slow headers" from "idle between
//! requests". This module watches the connection instead: the socket wrapper ([`Watched`])
//! notes the first bytes of a head, the service ([`ConnectionService`]) notes when a request
//! reaches the router and when its response has been written, and [`expired`] resolves when
//! the phase the connection is in has lasted too long. A connection upgraded to a WebSocket
//! leaves hyper, and with it this clock: the socket's own keep-alive rules apply from then on.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;
use tower::ServiceExt;

use super::ServerSettings;

/// Where a connection stands, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (the rest of) a request head: a fresh connection, or bytes arrived after idling.
    Head(Instant),
    /// Requests reached the router and their responses are not fully written yet.
    Busy(usize),
    /// The last response was written; nothing of the next request has arrived.
    Idle(Instant),
}

/// The connection's phase, shared by its socket, its service and its watchdog.
#[derive(Debug)]
pub struct Activity {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Activity {
    /// A connection just accepted: its first head is due within the header timeout.
    pub fn accepted() -> Arc<Self> {
        Arc::new(Self {
            phase: Mutex::new(Phase::Head(Instant::now())),
            changed: Notify::new(),
        })
    }

    fn update(&self, next: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock();
        let updated = next(*phase);
        if updated != *phase {
            *phase = updated;
            drop(phase);
            // A busy connection has no deadline: the watchdog finds that out when its current
            // sleep ends, so only a new deadline needs to wake it. One watchdog per connection:
            // a stored permit wakes it even if it is not waiting yet.
            if !matches!(updated, Phase::Busy(_)) {
                self.changed.notify_one();
            }
        }
    }

    /// Bytes arrived: after idling they start the next head's clock.
    fn bytes_read(&self) {
        self.update(|phase| match phase {
            Phase::Idle(_) => Phase::Head(Instant::now()),
            other => other,
        });
    }

    /// A request head is complete and the request reaches the router; the returned guard marks
    /// its response written when dropped.
    fn request_started(self: &Arc<Self>) -> ResponseInFlight {
        self.update(|phase| match phase {
            Phase::Busy(n) => Phase::Busy(n + 1),
            Phase::Head(_) | Phase::Idle(_) => Phase::Busy(1),
        });
        ResponseInFlight(self.clone())
    }

    /// The response of a request has been written (or abandoned).
    fn request_finished(&self) {
        self.update(|phase| match phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        });
    }

    /// When the current phase runs out, if it can.
    fn deadline(&self, settings: &ServerSettings) -> Option<Instant> {
        match *self.phase.lock() {
            Phase::Head(since) => Some(since + settings.header_read_timeout),
            Phase::Idle(since) => Some(since + settings.keep_alive_timeout),
            Phase::Busy(_) => None,
        }
    }
}

/// Resolves once the connection has spent too long in one phase: a head that did not arrive
/// within the header timeout, or an idle spell longer than the keep-alive timeout. Never
/// resolves while a request is being served.
pub async fn expired(activity: Arc<Activity>, settings: ServerSettings) -> &'static str {
    loop {
        let changed = activity.changed.notified();
        tokio::pin!(changed);
        // Registered before the phase is read, so no change between the two is missed.
        changed.as_mut().enable();
        match activity.deadline(&settings) {
            None => changed.await,
            Some(deadline) => {
                tokio::select! {
                    () = &mut changed => {}
                    () = tokio::time::sleep_until(deadline) => {
                        if activity.deadline(&settings).is_some_and(|d| d <= Instant::now()) {
                            return match *activity.phase.lock() {
                                Phase::Idle(_) => "idle longer than the keep-alive timeout",
                                _ => "request head not received within the header timeout",
                            };
                        }
                    }
                }
            }
        }
    }
}

/// Marks its request's response as written when dropped: hyper drops a response body once
/// it has written all of it, or when the connection ends.
struct ResponseInFlight(Arc<Activity>);

impl Drop for ResponseInFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A response body that holds its request's [`ResponseInFlight`] until it is dropped.
struct TrackedBody {
    inner: Body,
    _in_flight: ResponseInFlight,
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The router as one connection's hyper service: each request carries the peer's address
/// (for [`ConnectInfo`]) and moves the connection's clock.
#[derive(Clone)]
pub struct ConnectionService {
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl ConnectionService {
    /// The service for one connection from `peer`, moving `activity`.
    pub fn new(router: Router, peer: SocketAddr, activity: Arc<Activity>) -> Self {
        Self {
            router,
            peer,
            activity,
        }
    }
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.request_started();
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let response = self.router.clone().oneshot(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|inner| {
                Body::new(TrackedBody {
                    inner,
                    _in_flight: in_flight,
                })
            }))
        })
    }
}

/// A socket that tells its connection's [`Activity`] when bytes arrive.
pub struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    /// `inner`, reporting arriving bytes to `activity`.
    pub fn new(inner: S, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SETTINGS: ServerSettings = ServerSettings {
        header_read_timeout: Duration::from_secs(10),
        keep_alive_timeout: Duration::from_secs(60),
        drain_delay: Duration::ZERO,
    };

    fn since(activity: &Activity) -> Instant {
        match *activity.phase.lock() {
            Phase::Head(since) | Phase::Idle(since) => since,
            Phase::Busy(_) => panic!("busy has no start"),
        }
    }

    #[test]
    fn a_head_is_due_within_the_header_timeout_and_an_idle_spell_within_the_keep_alive_timeout() {
        let activity = Activity::accepted();
        let accepted = since(&activity);
        assert_eq!(
            activity.deadline(&SETTINGS),
            Some(accepted + SETTINGS.header_read_timeout)
        );
        activity.bytes_read();
        assert_eq!(
            since(&activity),
            accepted,
            "bytes of a head do not reset its clock"
        );

        let in_flight = activity.request_started();
        assert_eq!(
            activity.deadline(&SETTINGS),
            None,
            "a request in flight has no deadline"
        );
        drop(in_flight);
        let idle = since(&activity);
        assert!(matches!(*activity.phase.lock(), Phase::Idle(_)));
        assert_eq!(
            activity.deadline(&SETTINGS),
            Some(idle + SETTINGS.keep_alive_timeout)
        );

        activity.bytes_read();
        assert!(matches!(*activity.phase.lock(), Phase::Head(_)));
        assert_eq!(
            activity.deadline(&SETTINGS),
            Some(since(&activity) + SETTINGS.header_read_timeout),
            "the next head's clock starts with its first byte"
        );
    }

    #[test]
    fn overlapping_requests_keep_the_connection_busy_until_the_last_response() {
        let activity = Activity::accepted();
        let first = activity.request_started();
        let second = activity.request_started();
        drop(first);
        assert_eq!(activity.deadline(&SETTINGS), None);
        drop(second);
        assert!(matches!(*activity.phase.lock(), Phase::Idle(_)));
    }
}
