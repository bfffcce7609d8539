//! `GET /ws`: the join protocol of docs/api.md ("The /ws join protocol"). A socket joins
//! conversations and gets each new message there in the REST message shape, until it leaves, the
//! conversation is deleted, or it falls more than the feed's backlog behind (an error frame
//! with `SUBSCRIPTION_LAGGED`, then `left`). Each joined conversation is one live stream from
//! the service, which this module only renders. Client mistakes answer an error frame and keep
//! the socket open.

mod frames;

use axum::extract::ws::{Message, WebSocket};
use axum::extract::{FromRequestParts, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::{FutureExt, StreamExt};
use tokio_stream::StreamMap;
use uuid::Uuid;

use self::frames::ClientFrame;
use super::{Admission, Drain, Exit, RETRY_AFTER_SECS, Session, Sockets};
use crate::domain::parse_id;
use crate::error::{AppError, ErrorCode};
use crate::events::{Change, LiveItem, LiveStream};
use crate::service::ChatService;

/// `/ws` close code for a socket that must authenticate and did not.
pub const UNAUTHORIZED: u16 = 4401;

/// `GET /ws`: upgrades a WebSocket handshake ([`super::is_websocket_handshake`]) to the join
/// protocol; any other request is a `VALIDATION_ERROR`.
pub async fn join_socket(
    State(service): State<ChatService>,
    State(sockets): State<Sockets>,
    request: Request,
) -> Response {
    let not_a_socket = |detail: &dyn std::fmt::Display| {
        let message = format!("expected a WebSocket upgrade: {detail}");
        AppError::new(ErrorCode::ValidationError, message).into_response()
    };
    if !super::is_websocket_handshake(&request) {
        return not_a_socket(&"send a GET WebSocket handshake");
    }
    let (mut parts, _body) = request.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return not_a_socket(&rejection),
    };
    let headers = parts.headers;
    let Some(ticket) = sockets.admit("join") else {
        let err = AppError::new(
            ErrorCode::ServiceUnavailable,
            "too many open WebSockets; retry later",
        );
        let mut response = err.into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        return response;
    };
    let session = JoinSession::new(service, sockets, headers);
    super::configure_upgrade(upgrade)
        .on_upgrade(move |socket| super::serve_socket(socket, ticket, session))
}

/// One `/ws` connection.
pub struct JoinSession {
    service: ChatService,
    sockets: Sockets,
    /// The upgrade request's headers until the auth frame has been checked; empty after.
    headers: HeaderMap,
    authenticated: bool,
    joined: StreamMap<Uuid, LiveStream>,
}

enum Wake {
    Frame(Option<Result<Message, axum::Error>>),
    AuthTimeout,
    Keepalive,
    Push(Uuid, LiveItem),
    Shutdown,
}

impl Session for JoinSession {
    fn run<'a>(
        &'a mut self,
        socket: &'a mut WebSocket,
    ) -> impl std::future::Future<Output = Exit> + Send + 'a {
        self.serve(socket)
    }
}

impl JoinSession {
    /// A session for a socket opened with `headers` (the auth hook sees them).
    pub fn new(service: ChatService, sockets: Sockets, headers: HeaderMap) -> Self {
        let authenticated = !sockets.auth().ws_needs_auth_frame(&headers);
        Self {
            service,
            sockets,
            // Kept only for the auth frame: header values share the buffer the request was
            // read into, kilobytes an idle socket would hold for nothing.
            headers: if authenticated {
                HeaderMap::new()
            } else {
                headers
            },
            authenticated,
            joined: StreamMap::new(),
        }
    }

    async fn serve(&mut self, socket: &mut WebSocket) -> Exit {
        let auth_deadline = tokio::time::sleep(self.sockets.settings().init_timeout);
        tokio::pin!(auth_deadline);
        let mut keepalive = self.sockets.keepalive();
        let sockets = self.sockets.clone();
        // Pinned once: a fresh one each turn would register with the shutdown signal again.
        let shutdown = sockets.shutting_down();
        tokio::pin!(shutdown);
        loop {
            let wake = tokio::select! {
                () = &mut shutdown => Wake::Shutdown,
                frame = socket.recv() => Wake::Frame(frame),
                () = &mut auth_deadline, if !self.authenticated => Wake::AuthTimeout,
                _ = keepalive.tick() => Wake::Keepalive,
                Some((id, push)) = self.joined.next(), if !self.joined.is_empty() => {
                    Wake::Push(id, push)
                }
            };
            let step = match wake {
                Wake::Frame(frame) => self.on_frame(socket, frame).await,
                Wake::AuthTimeout => Err(Exit::close(UNAUTHORIZED, "Unauthorized")),
                // A WebSocket ping: browsers answer it themselves, and idle proxies see traffic.
                Wake::Keepalive => super::send(socket, Message::Ping(Default::default())).await,
                Wake::Push(id, push) => self.on_pushes(socket, id, push).await,
                Wake::Shutdown => Err(self.drain(socket).await),
            };
            if let Err(exit) = step {
                return exit;
            }
        }
    }

    /// At shutdown: delivers what the joined conversations still hold (messages of requests
    /// that finished before), then ends with 1001.
    async fn drain(&mut self, socket: &mut WebSocket) -> Exit {
        let drain = Drain::start();
        while let Some((id, push)) = drain.next(&mut self.joined).await {
            if let Err(exit) = self.on_pushes(socket, id, push).await {
                return exit;
            }
        }
        Exit::going_away()
    }

    async fn on_frame(
        &mut self,
        socket: &mut WebSocket,
        frame: Option<Result<Message, axum::Error>>,
    ) -> Result<(), Exit> {
        match frame {
            None | Some(Ok(Message::Close(_))) => Err(Exit::Gone),
            Some(Err(error)) => Err(super::read_failure(error)),
            Some(Ok(Message::Text(text))) => self.on_text(socket, text.as_str()).await,
            Some(Ok(Message::Binary(_))) if !self.authenticated => {
                Err(Exit::close(UNAUTHORIZED, "Unauthorized"))
            }
            Some(Ok(Message::Binary(_))) => {
                send(socket, self.error_frame(&frames::binary_refused(), None)).await
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
        }
    }

    /// The error frame for `err`, counted by its code like every other error answered.
    fn error_frame(&self, err: &AppError, conversation_id: Option<&str>) -> String {
        self.sockets.metrics().error(err.code());
        frames::error(err, conversation_id)
    }

    async fn on_text(&mut self, socket: &mut WebSocket, text: &str) -> Result<(), Exit> {
        let frame = frames::parse(text);
        if !self.authenticated {
            // The first frame must authenticate; anything else closes the socket.
            let Ok(ClientFrame::Auth(key)) = frame else {
                return Err(Exit::close(UNAUTHORIZED, "Unauthorized"));
            };
            let auth = self.sockets.auth().clone();
            let headers = std::mem::take(&mut self.headers);
            return match auth.on_auth_frame(&headers, key.as_deref()).await {
                Admission::Accept => {
                    self.authenticated = true;
                    send(socket, frames::authenticated()).await
                }
                Admission::Refuse => Err(Exit::close(UNAUTHORIZED, "Unauthorized")),
            };
        }
        match frame {
            Err(err) => send(socket, self.error_frame(&err, None)).await,
            Ok(ClientFrame::Auth(_)) => send(socket, frames::authenticated()).await,
            Ok(ClientFrame::Ping) => send(socket, frames::pong()).await,
            Ok(ClientFrame::Join {
                conversation_id,
                after,
            }) => self.join(socket, &conversation_id, after.as_deref()).await,
            Ok(ClientFrame::Leave(raw)) => {
                let id = match parse_id(&raw) {
                    Some(id) => {
                        self.joined.remove(&id);
                        id.to_string()
                    }
                    None => raw,
                };
                send(socket, frames::left(&id)).await
            }
        }
    }

    /// Subscribes first, then checks the conversation exists, then answers `joined`: no
    /// message stored after `joined` can be missed. With `after`, the messages stored after it
    /// follow `joined` first (a join that resumes replaces the conversation's stream); without,
    /// joining a joined conversation again changes nothing. Beyond the socket's operation cap a
    /// new conversation gets an error frame instead.
    async fn join(
        &mut self,
        socket: &mut WebSocket,
        raw: &str,
        after: Option<&str>,
    ) -> Result<(), Exit> {
        let already = parse_id(raw).filter(|id| self.joined.contains_key(id));
        if let (Some(id), None) = (already, after) {
            return send(socket, frames::joined(&id.to_string())).await;
        }
        let max = self.sockets.settings().max_operations;
        if already.is_none() && self.joined.len() >= max {
            let err = super::too_many_operations(max);
            return send(socket, self.error_frame(&err, Some(raw))).await;
        }
        match self.service.watch_conversation(raw, after).await {
            Ok((id, live)) => {
                self.joined.insert(id, live);
                send(socket, frames::joined(&id.to_string())).await
            }
            Err(err) => send(socket, self.error_frame(&err, Some(raw))).await,
        }
    }

    /// Writes `item` and whatever pushes are already waiting (at most
    /// [`super::WRITE_BATCH`]), then flushes once.
    async fn on_pushes(
        &mut self,
        socket: &mut WebSocket,
        id: Uuid,
        item: LiveItem,
    ) -> Result<(), Exit> {
        self.on_push(socket, id, item).await?;
        for _ in 1..super::WRITE_BATCH {
            let Some(Some((id, item))) = self.joined.next().now_or_never() else {
                break;
            };
            self.on_push(socket, id, item).await?;
        }
        super::flush(socket).await
    }

    /// Buffers the frames of one push; the caller flushes.
    async fn on_push(
        &mut self,
        socket: &mut WebSocket,
        id: Uuid,
        item: LiveItem,
    ) -> Result<(), Exit> {
        let id_text = id.to_string();
        match item {
            LiveItem::Event(change) => {
                if matches!(*change, Change::ConversationDeleted(_)) {
                    self.joined.remove(&id);
                }
                // Rendered by the first socket that sends it; every other one shares the bytes.
                match self.sockets.join_frames().frame(&change, frames::change) {
                    Some(frame) => super::feed_text(socket, frame).await,
                    None => Ok(()),
                }
            }
            LiveItem::Lagged => {
                self.joined.remove(&id);
                let err = AppError::new(
                    ErrorCode::SubscriptionLagged,
                    "fell too far behind and missed messages; join again with `after` to resume",
                );
                super::feed_text(socket, self.error_frame(&err, Some(&id_text))).await?;
                super::feed_text(socket, frames::left(&id_text)).await
            }
            // The conversation ended without a deletion (the server is stopping).
            LiveItem::Ended => {
                self.joined.remove(&id);
                super::feed_text(socket, frames::left(&id_text)).await
            }
        }
    }
}

async fn send(socket: &mut WebSocket, frame: String) -> Result<(), Exit> {
    super::send_text(socket, frame).await
}
