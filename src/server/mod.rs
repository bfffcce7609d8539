//! The HTTP server under the router: the listening socket, one hyper connection per client
//! with its header and keep-alive timeouts, and the graceful drain of HTTP connections.
//!
//! It knows nothing of routes or WebSockets: an upgraded connection leaves it (and its drain)
//! the moment the upgrade completes.
//!
//! A head the HTTP parser cannot read never reaches the router, and hyper answers it itself
//! with an empty body before any path is known, so no API's error shape can be chosen: a
//! request line or header that is not HTTP/1 (400), more than [`PARSER_MAX_HEADERS`] headers
//! or a head over hyper's read buffer of about 400 KB (431), and a URI over 65,534 bytes (414).
//! Smaller heads that break the documented limits are refused by the edge in the API's shape.

mod connection;

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use connection::{Activity, ConnectionService, Watched};

/// Default of [`ServerSettings::header_read_timeout`], in seconds.
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
/// Default of [`ServerSettings::keep_alive_timeout`], in seconds.
pub const DEFAULT_KEEP_ALIVE_TIMEOUT_SECS: u64 = 60;

/// Most header lines the HTTP parser reads before it refuses a head itself (431, empty body).
/// Twice the edge's own limit ([`crate::edge::MAX_HEADERS`]), so a client a little over that
/// limit is told so in the API's error shape.
pub const PARSER_MAX_HEADERS: usize = 2 * crate::edge::MAX_HEADERS;

/// How long a connection may take over the parts of HTTP that happen before the router sees a
/// request, and after it answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerSettings {
    /// From accepting a connection, or from the first byte after an idle spell, until the
    /// request head (request line and headers) is complete; a connection that takes longer is
    /// closed. Slow-header clients cannot hold connections open.
    pub header_read_timeout: Duration,
    /// How long a keep-alive connection may sit idle after a response before it is closed.
    pub keep_alive_timeout: Duration,
    /// How long the server goes on accepting and answering once shutdown begins (with
    /// `/health/ready` already 503), so a load balancer notices before connections are refused.
    pub drain_delay: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(DEFAULT_HEADER_READ_TIMEOUT_SECS),
            keep_alive_timeout: Duration::from_secs(DEFAULT_KEEP_ALIVE_TIMEOUT_SECS),
            drain_delay: Duration::ZERO,
        }
    }
}

/// The listening socket, with the long listen backlog of [`crate::capacity::listen`]: every
/// way the server binds goes through here.
pub async fn bind(host: IpAddr, port: u16) -> io::Result<TcpListener> {
    crate::capacity::listen(std::net::SocketAddr::new(host, port))
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting, lets every
/// HTTP connection finish the request it is serving (idle ones close at once) and returns once
/// all are closed, or after `drain_limit`, closing whatever is left: `false` then. Handlers see
/// the peer as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()> + Send,
    drain_limit: Duration,
) -> bool {
    let draining = CancellationToken::new();
    let closing = CancellationToken::new();
    let connections = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let ending = Ending {
                    draining: draining.clone(),
                    closing: closing.clone(),
                };
                connections.spawn(serve_connection(
                    stream,
                    peer,
                    router.clone(),
                    settings,
                    ending,
                ));
            }
            Err(error) if is_connection_error(&error) => {}
            Err(error) => {
                // Out of file descriptors, say: wait for some to be freed rather than spin.
                tracing::error!(%error, "accept failed");
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
    drop(listener);
    draining.cancel();
    connections.close();
    let drained = tokio::time::timeout(drain_limit, connections.wait())
        .await
        .is_ok();
    if !drained {
        closing.cancel();
        connections.wait().await;
    }
    drained
}

/// How a connection learns that the server stops: first to finish its request and close
/// (`draining`), then, past the drain limit, to close at once (`closing`).
struct Ending {
    draining: CancellationToken,
    closing: CancellationToken,
}

/// Errors of one connection that was already gone when accepted; the next accept may succeed.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves one connection until the client closes it, a timeout closes it, an upgrade takes it
/// over, or the drain ends it after its current request.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    settings: ServerSettings,
    ending: Ending,
) {
    let activity = Activity::accepted();
    let io = TokioIo::new(Watched::new(stream, activity.clone()));
    let service = ConnectionService::new(router, peer, activity.clone());
    let mut http = hyper::server::conn::http1::Builder::new();
    // The connection's own clock ([`connection::expired`]) times heads and idle spells.
    http.header_read_timeout(None)
        .max_headers(PARSER_MAX_HEADERS);
    let connection = http.serve_connection(io, service).with_upgrades();
    tokio::pin!(connection);
    let expired = connection::expired(activity, settings);
    tokio::pin!(expired);
    let mut drain_started = false;
    loop {
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(error) = served {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            reason = &mut expired => {
                tracing::debug!(%peer, reason, "closing connection");
                return;
            }
            () = ending.draining.cancelled(), if !drain_started => {
                drain_started = true;
                connection.as_mut().graceful_shutdown();
            }
            () = ending.closing.cancelled() => return,
        }
    }
}
