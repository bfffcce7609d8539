//! One GraphQL WebSocket connection: the socket loop that owns the protocol's rules (init
//! timeout, authentication, ids, pings, errors) and multiplexes the running operations.
//!
//! Backpressure is the lag rule's other half: results are taken from an operation only when
//! the previous frame was written, so a client that does not read lets its subscriptions fall
//! behind at the change feed, which tells them (`SUBSCRIPTION_LAGGED`) rather than buffering
//! here.

use std::pin::Pin;

use axum::extract::ws::{Message, WebSocket};
use axum::http::HeaderMap;
use futures::{FutureExt, Stream, StreamExt};
use tokio::time::Interval;
use tokio_stream::StreamMap;

use super::protocol::{self, ClientMessage, Subprotocol};
use super::shared::{Outcome, SharedExecutions};
use crate::ws::{self, Admission, Drain, Exit, Session, Sockets};

/// graphql-transport-ws close codes
/// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md); the legacy protocol uses
/// the same ones.
pub mod close {
    /// A message the protocol does not define, or of the wrong shape.
    pub const BAD_REQUEST: u16 = 4400;
    /// `subscribe` before `connection_ack`.
    pub const UNAUTHORIZED: u16 = 4401;
    /// The authentication hook refused `connection_init`.
    pub const FORBIDDEN: u16 = 4403;
    /// No `connection_init` within the init timeout.
    pub const INIT_TIMEOUT: u16 = 4408;
    /// `subscribe` with the id of an operation still running.
    pub const SUBSCRIBER_EXISTS: u16 = 4409;
    /// A second `connection_init`.
    pub const TOO_MANY_INITS: u16 = 4429;
}

/// An operation's results, then `None` when it completed.
type Operation = Pin<Box<dyn Stream<Item = Option<Outcome>> + Send>>;

/// The state of one GraphQL WebSocket connection.
pub struct GraphqlSession {
    protocol: Subprotocol,
    executions: SharedExecutions,
    sockets: Sockets,
    /// The upgrade request's headers until `connection_init` has been checked; empty after.
    headers: HeaderMap,
    init_received: bool,
    acknowledged: bool,
    operations: StreamMap<String, Operation>,
}

/// What woke the loop.
enum Wake {
    Frame(Option<Result<Message, axum::Error>>),
    InitTimeout,
    Keepalive,
    Result(String, Option<Outcome>),
    Shutdown,
}

impl Session for GraphqlSession {
    fn run<'a>(
        &'a mut self,
        socket: &'a mut WebSocket,
    ) -> impl std::future::Future<Output = Exit> + Send + 'a {
        self.serve(socket)
    }
}

impl GraphqlSession {
    /// A session speaking `protocol`; `headers` are the upgrade request's, for the auth hook.
    pub fn new(
        protocol: Subprotocol,
        executions: SharedExecutions,
        sockets: Sockets,
        headers: HeaderMap,
    ) -> Self {
        Self {
            protocol,
            executions,
            sockets,
            headers,
            init_received: false,
            acknowledged: false,
            operations: StreamMap::new(),
        }
    }

    async fn serve(&mut self, socket: &mut WebSocket) -> Exit {
        let init_deadline = tokio::time::sleep(self.sockets.settings().init_timeout);
        tokio::pin!(init_deadline);
        let mut keepalive = self.sockets.keepalive();
        let sockets = self.sockets.clone();
        // Pinned once: a fresh one each turn would register with the shutdown signal again.
        let shutdown = sockets.shutting_down();
        tokio::pin!(shutdown);
        loop {
            let wake = tokio::select! {
                () = &mut shutdown => Wake::Shutdown,
                frame = socket.recv() => Wake::Frame(frame),
                () = &mut init_deadline, if !self.init_received => Wake::InitTimeout,
                _ = keepalive.tick(), if self.acknowledged => Wake::Keepalive,
                Some((id, result)) = self.operations.next(), if !self.operations.is_empty() => {
                    Wake::Result(id, result)
                }
            };
            let step = match wake {
                Wake::Frame(frame) => self.on_frame(socket, frame, &mut keepalive).await,
                Wake::InitTimeout => Err(Exit::close(
                    close::INIT_TIMEOUT,
                    "Connection initialisation timeout",
                )),
                Wake::Keepalive => ws::send_text(socket, protocol::keepalive(self.protocol)).await,
                Wake::Result(id, result) => self.on_results(socket, id, result).await,
                Wake::Shutdown => Err(self.drain(socket).await),
            };
            if let Err(exit) = step {
                return exit;
            }
        }
    }

    /// At shutdown: delivers the results the running operations still hold (events of
    /// requests that finished before), then ends with 1001.
    async fn drain(&mut self, socket: &mut WebSocket) -> Exit {
        let drain = Drain::start();
        while let Some((id, result)) = drain.next(&mut self.operations).await {
            if let Err(exit) = self.on_results(socket, id, result).await {
                return exit;
            }
        }
        Exit::going_away()
    }

    async fn on_frame(
        &mut self,
        socket: &mut WebSocket,
        frame: Option<Result<Message, axum::Error>>,
        keepalive: &mut Interval,
    ) -> Result<(), Exit> {
        match frame {
            None | Some(Ok(Message::Close(_))) => Err(Exit::Gone),
            Some(Err(error)) => Err(ws::read_failure(error)),
            Some(Ok(Message::Text(text))) => {
                self.on_message(socket, text.as_bytes(), keepalive).await
            }
            Some(Ok(Message::Binary(bytes))) => self.on_message(socket, &bytes, keepalive).await,
            // WebSocket-level pings are answered by the WebSocket layer itself.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
        }
    }

    async fn on_message(
        &mut self,
        socket: &mut WebSocket,
        frame: &[u8],
        keepalive: &mut Interval,
    ) -> Result<(), Exit> {
        let message = protocol::parse(self.protocol, frame)
            .map_err(|reason| Exit::close(close::BAD_REQUEST, reason))?;
        match message {
            ClientMessage::ConnectionInit(payload) => {
                if self.init_received {
                    return Err(Exit::close(
                        close::TOO_MANY_INITS,
                        "Too many initialisation requests",
                    ));
                }
                self.init_received = true;
                let auth = self.sockets.auth().clone();
                // Needed for this one check only: header values share the buffer the request
                // was read into, kilobytes an idle socket would hold for nothing.
                let headers = std::mem::take(&mut self.headers);
                match auth.on_connection_init(&headers, &payload).await {
                    Admission::Accept => {
                        ws::send_text(socket, protocol::connection_ack()).await?;
                        if self.protocol == Subprotocol::LegacyWs {
                            // The legacy client starts its keep-alive check at the first `ka`.
                            ws::send_text(socket, protocol::keepalive(self.protocol)).await?;
                        }
                        self.acknowledged = true;
                        keepalive.reset();
                        Ok(())
                    }
                    Admission::Refuse => {
                        if self.protocol == Subprotocol::LegacyWs {
                            ws::send_text(socket, protocol::connection_error("Forbidden")).await?;
                        }
                        Err(Exit::close(close::FORBIDDEN, "Forbidden"))
                    }
                }
            }
            ClientMessage::Ping(payload) => ws::send_text(socket, protocol::pong(payload)).await,
            ClientMessage::Pong => Ok(()),
            ClientMessage::Subscribe { id, request } => {
                if !self.acknowledged {
                    return Err(Exit::close(close::UNAUTHORIZED, "Unauthorized"));
                }
                if self.operations.contains_key(&id) {
                    return Err(Exit::close(
                        close::SUBSCRIBER_EXISTS,
                        format!("Subscriber for {id} already exists"),
                    ));
                }
                let max = self.sockets.settings().max_operations;
                if self.operations.len() >= max {
                    let err = ws::too_many_operations(max);
                    for frame in protocol::refusal(self.protocol, &id, &err) {
                        ws::send_text(socket, frame).await?;
                    }
                    return Ok(());
                }
                let results = self.executions.operation(*request);
                self.operations.insert(id, results);
                Ok(())
            }
            ClientMessage::Complete { id } => {
                // Unknown ids are ignored: the operation may have just completed on its own.
                self.operations.remove(&id);
                Ok(())
            }
            ClientMessage::Terminate => Err(Exit::close(ws::close::NORMAL, "terminated")),
        }
    }

    /// Writes `result` and whatever results are already waiting (at most
    /// [`ws::WRITE_BATCH`]), then flushes once: a broadcast's events that arrive together (a
    /// message and its reply) cost each socket one write, not one each.
    async fn on_results(
        &mut self,
        socket: &mut WebSocket,
        id: String,
        result: Option<Outcome>,
    ) -> Result<(), Exit> {
        self.on_result(socket, id, result).await?;
        for _ in 1..ws::WRITE_BATCH {
            let Some(Some((id, result))) = self.operations.next().now_or_never() else {
                break;
            };
            self.on_result(socket, id, result).await?;
        }
        ws::flush(socket).await
    }

    /// Buffers the frame of one result; the caller flushes.
    async fn on_result(
        &mut self,
        socket: &mut WebSocket,
        id: String,
        result: Option<Outcome>,
    ) -> Result<(), Exit> {
        let response = match result {
            Some(Outcome::Response(response)) => response,
            Some(Outcome::Payload(payload)) => {
                let frame = protocol::shared_result(self.protocol, &id, &payload);
                return ws::feed_text(socket, frame).await;
            }
            None => {
                // Removed now, not when the map next polls the ended stream: the id is free
                // again the moment the client reads `complete`.
                self.operations.remove(&id);
                return ws::feed_text(socket, protocol::complete(&id)).await;
            }
        };
        let outgoing = protocol::result(self.protocol, &id, response);
        if outgoing.ends_operation {
            self.operations.remove(&id);
        }
        ws::feed_text(socket, outgoing.frame).await
    }
}
