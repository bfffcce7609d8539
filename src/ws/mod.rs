//! WebSocket plumbing both socket protocols share (GraphQL subscriptions on `/graphql`, the
//! join protocol on `/ws`): the cap on open sockets, the shutdown signal, keep-alive timing,
//! bounded writes, close frames and the authentication hook.
//!
//! It knows nothing of either protocol's messages; each protocol is a [`Session`] that
//! [`serve_socket`] runs until the session ends or the server shuts down. At shutdown a session
//! first delivers what its live streams already hold ([`Drain`]), then closes with 1001.

pub mod auth;
pub mod join;
mod rendered;
mod sockets;

use std::future::Future;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::{SinkExt, Stream, StreamExt};
use tokio::time::Instant;

pub use auth::{Admission, OpenAccess, SocketAuth};
pub use rendered::RenderedFrames;
pub use sockets::{
    DEFAULT_MAX_OPERATIONS, DEFAULT_MAX_SOCKETS, SocketSettings, SocketTicket, Sockets,
    too_many_operations,
};

/// Largest frame (and message) a socket accepts: 1 MiB, like request bodies. A larger one closes
/// the socket with 1009.
pub const MAX_FRAME_BYTES: usize = 1 << 20;

/// Starting read buffer and write batch of each socket: 2 KiB, which holds any usual client
/// message in one read. Live sockets are many and mostly idle, and tungstenite's default
/// (128 KiB, zero-filled before every read) costs each one about 148 KiB of memory against
/// 15 KiB with this (BENCHMARKS.md); a larger frame grows the buffer as it is read.
pub const SOCKET_BUFFER_BYTES: usize = 2 * 1024;

/// The `Retry-After` (seconds) of an upgrade refused because every socket is taken.
pub const RETRY_AFTER_SECS: u64 = 5;

/// How long closing waits for the peer: to take our close frame, then to answer it.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How long one write may wait for a peer that does not read before the socket is dropped, so
/// a stuck client cannot hold its place under the cap for ever.
const WRITE_STALL_LIMIT: Duration = Duration::from_secs(30);

/// How long a socket at shutdown waits for its streams' next item before it takes them to be
/// caught up. Events of requests that finished before are already waiting (or a loader's
/// batching delay away), so this only has to outlast a scheduling hiccup.
const DRAIN_QUIET: Duration = Duration::from_millis(200);

/// The longest a socket delivers at shutdown, however busy its streams stay.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// How many recent changes keep their rendered `/ws` frame for the next socket (see
/// [`RenderedFrames`]); all topics share it.
const JOIN_FRAMES_KEPT: usize = 1024;

/// A close frame's reason may hold at most 123 bytes (RFC 6455 section 5.5).
const MAX_CLOSE_REASON: usize = 123;

/// Close codes of RFC 6455 that both protocols use.
pub mod close {
    /// The session ended normally.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// The peer broke the WebSocket protocol.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text frame that is not UTF-8.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// A frame over [`super::MAX_FRAME_BYTES`].
    pub const MESSAGE_TOO_BIG: u16 = 1009;
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// Close the socket with this code and reason.
    Close(u16, String),
    /// The peer closed the socket or the connection broke: nothing more to say.
    Gone,
}

impl Exit {
    /// Close with `code` and `reason`.
    pub fn close(code: u16, reason: impl Into<String>) -> Self {
        Self::Close(code, reason.into())
    }

    /// Close with 1001: the server is shutting down.
    pub fn going_away() -> Self {
        Self::close(close::GOING_AWAY, "server shutting down")
    }
}

/// A socket's delivery at shutdown: the items its live streams already hold, taken while they
/// keep coming within [`DRAIN_QUIET`] of each other, for at most [`DRAIN_LIMIT`].
pub struct Drain {
    ends: Instant,
}

impl Drain {
    /// Starts the drain's clock.
    pub fn start() -> Self {
        Self {
            ends: Instant::now() + DRAIN_LIMIT,
        }
    }

    /// The next item of `items`, or `None` once they are quiet or the drain is over.
    pub async fn next<S: Stream + Unpin>(&self, items: &mut S) -> Option<S::Item> {
        let until = (Instant::now() + DRAIN_QUIET).min(self.ends);
        tokio::time::timeout_at(until, items.next())
            .await
            .ok()
            .flatten()
    }
}

/// One protocol spoken over a socket.
pub trait Session: Send {
    /// Speaks the protocol on `socket` until the session ends; returns how to end it. When
    /// [`Sockets::shutting_down`] resolves, it finishes the step it is in, delivers what its
    /// live streams hold ([`Drain`]) and returns [`Exit::going_away`].
    fn run<'a>(&'a mut self, socket: &'a mut WebSocket) -> impl Future<Output = Exit> + Send + 'a;
}

/// Runs `session` on `socket` until it ends, then closes the socket properly. A session still
/// busy twice [`DRAIN_LIMIT`] after shutdown began (stuck writing to a client that does not
/// read, say) is cut off with 1001. `ticket` is released when the socket is gone.
pub async fn serve_socket(mut socket: WebSocket, ticket: SocketTicket, mut session: impl Session) {
    let cut_off = async {
        ticket.shutdown.cancelled().await;
        tokio::time::sleep(DRAIN_LIMIT * 2).await;
    };
    let exit = tokio::select! {
        exit = session.run(&mut socket) => exit,
        () = cut_off => Exit::going_away(),
    };
    drop(session);
    finish(&mut socket, exit).await;
}

/// Sends the close frame (if any) and waits, bounded, for the peer's close so the closing
/// handshake completes and the peer reads our frame before the connection goes.
async fn finish(socket: &mut WebSocket, exit: Exit) {
    if let Exit::Close(code, reason) = exit {
        let frame = CloseFrame {
            code,
            reason: close_reason(&reason).into(),
        };
        let sent = tokio::time::timeout(CLOSE_GRACE, socket.send(Message::Close(Some(frame))));
        if !matches!(sent.await, Ok(Ok(()))) {
            return;
        }
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
}

/// The path where a WebSocket handshake opens a GraphQL subscription socket (any other request
/// there is GraphQL over HTTP).
pub const GRAPHQL_SOCKET_PATH: &str = "/graphql";

/// The path of the `/ws` join protocol's sockets.
pub const JOIN_SOCKET_PATH: &str = "/ws";

/// Whether `request` is a WebSocket opening handshake (RFC 6455 section 4.2.1) that the socket
/// handlers upgrade: `GET` over HTTP/1.1, `Connection` listing `upgrade`, `Upgrade: websocket`,
/// `Sec-WebSocket-Version: 13` and a `Sec-WebSocket-Key`.
///
/// The one definition of a real handshake: the edge lets only such a request on
/// [`GRAPHQL_SOCKET_PATH`] or [`JOIN_SOCKET_PATH`] through without a key, and the two socket
/// handlers upgrade exactly these (anything else on `/graphql` is a query, on `/ws` an error).
/// It is at least as strict as axum's `WebSocketUpgrade`, so whatever passes here either
/// becomes a socket or is refused with an error; it never reaches another handler.
pub fn is_websocket_handshake<B>(request: &axum::http::Request<B>) -> bool {
    use axum::http::{Method, Version, header};
    let headers = request.headers();
    let equals = |name: header::HeaderName, expected: &str| {
        headers
            .get(name)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(expected.as_bytes()))
    };
    let connection_upgrades = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    request.method() == Method::GET
        && request.version() == Version::HTTP_11
        && connection_upgrades
        && equals(header::UPGRADE, "websocket")
        && equals(header::SEC_WEBSOCKET_VERSION, "13")
        && headers.contains_key(header::SEC_WEBSOCKET_KEY)
}

/// `reason` cut to the 123 bytes a close frame can carry, on a character boundary.
pub fn close_reason(reason: &str) -> &str {
    if reason.len() <= MAX_CLOSE_REASON {
        return reason;
    }
    let mut end = MAX_CLOSE_REASON;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

/// Sends one message; a peer that has not taken it within [`WRITE_STALL_LIMIT`], or a broken
/// connection, ends the session.
pub async fn send(socket: &mut WebSocket, message: Message) -> Result<(), Exit> {
    within_stall_limit(socket.send(message)).await
}

/// Most frames a socket buffers before it flushes: results already waiting go out in one
/// write, without one client's burst delaying its flush for long.
pub const WRITE_BATCH: usize = 16;

/// Buffers one text frame for the next [`flush`] (the buffer writes out by itself when full);
/// fails like [`send`].
pub async fn feed_text(socket: &mut WebSocket, text: impl Into<Utf8Bytes>) -> Result<(), Exit> {
    within_stall_limit(socket.feed(Message::Text(text.into()))).await
}

/// Writes out what [`feed_text`] buffered; fails like [`send`].
pub async fn flush(socket: &mut WebSocket) -> Result<(), Exit> {
    within_stall_limit(SinkExt::flush(socket)).await
}

async fn within_stall_limit(
    write: impl Future<Output = Result<(), axum::Error>>,
) -> Result<(), Exit> {
    let mut write = std::pin::pin!(write);
    // Most writes finish at once; only one that waits for the peer needs a timer (arming one
    // for every frame of a broadcast to thousands of sockets costs more than the write).
    let written = match futures::poll!(write.as_mut()) {
        std::task::Poll::Ready(written) => Ok(written),
        std::task::Poll::Pending => tokio::time::timeout(WRITE_STALL_LIMIT, write).await,
    };
    match written {
        Ok(Ok(())) => Ok(()),
        _ => Err(Exit::Gone),
    }
}

/// Sends a text frame.
pub async fn send_text(socket: &mut WebSocket, text: impl Into<Utf8Bytes>) -> Result<(), Exit> {
    send(socket, Message::Text(text.into())).await
}

/// How a failed read ends the session: an oversized frame closes with 1009, a protocol
/// violation with 1002 or 1007; a broken connection has no one left to tell.
pub fn read_failure(error: axum::Error) -> Exit {
    let inner = error.into_inner();
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => {
            Exit::close(close::MESSAGE_TOO_BIG, "message too big")
        }
        Some(tungstenite::Error::Utf8(_)) => {
            Exit::close(close::INVALID_PAYLOAD, "text frame is not UTF-8")
        }
        Some(tungstenite::Error::Protocol(_)) => {
            Exit::close(close::PROTOCOL_ERROR, "WebSocket protocol error")
        }
        _ => Exit::Gone,
    }
}

/// Applies what every socket shares to an upgrade: the frame limits and small buffers.
pub fn configure_upgrade<F>(
    upgrade: axum::extract::WebSocketUpgrade<F>,
) -> axum::extract::WebSocketUpgrade<F> {
    upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_are_cut_to_123_bytes_on_a_character_boundary() {
        assert_eq!(close_reason("short"), "short");
        let long = "é".repeat(100);
        let cut = close_reason(&long);
        assert_eq!(cut.len(), 122);
        assert!(long.starts_with(cut));
    }

    fn handshake(method: &str, pairs: &[(&str, &str)]) -> axum::http::Request<()> {
        let mut request = axum::http::Request::builder().method(method).uri("/ws");
        for (name, value) in pairs {
            request = request.header(*name, *value);
        }
        request.body(()).expect("a valid request")
    }

    const HANDSHAKE: [(&str, &str); 4] = [
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "WebSocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn a_handshake_needs_get_and_every_handshake_header() {
        assert!(is_websocket_handshake(&handshake("GET", &HANDSHAKE)));
        for method in ["POST", "HEAD", "PUT", "DELETE", "CONNECT"] {
            assert!(
                !is_websocket_handshake(&handshake(method, &HANDSHAKE)),
                "{method}"
            );
        }
        for (missing, (name, _)) in HANDSHAKE.iter().enumerate() {
            let mut partial = HANDSHAKE.to_vec();
            partial.remove(missing);
            assert!(
                !is_websocket_handshake(&handshake("GET", &partial)),
                "without {name}"
            );
        }
        let mut wrong_version = HANDSHAKE.to_vec();
        wrong_version[2].1 = "8";
        assert!(!is_websocket_handshake(&handshake("GET", &wrong_version)));
        let mut not_a_token = HANDSHAKE.to_vec();
        not_a_token[0].1 = "upgraded";
        assert!(!is_websocket_handshake(&handshake("GET", &not_a_token)));
        let mut other_protocol = HANDSHAKE.to_vec();
        other_protocol[1].1 = "h2c";
        assert!(!is_websocket_handshake(&handshake("GET", &other_protocol)));
    }

    #[test]
    fn the_cap_admits_up_to_max_sockets_and_frees_a_place_on_drop() {
        let settings = SocketSettings {
            max_sockets: 2,
            ..SocketSettings::default()
        };
        let sockets = Sockets::new(settings, std::sync::Arc::new(OpenAccess));
        let first = sockets.admit("join").expect("first place");
        let _second = sockets.admit("join").expect("second place");
        assert!(sockets.admit("join").is_none());
        assert_eq!(sockets.open(), 2);
        drop(first);
        assert!(sockets.admit("join").is_some());
        sockets.shut_down();
        assert!(
            sockets.admit("join").is_none(),
            "no new sockets while stopping"
        );
    }
}
