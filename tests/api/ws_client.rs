//! WebSocket clients for the tests: both GraphQL subprotocols and the `/ws` join protocol,
//! over a real socket. Every read has a timeout, so a broken server fails a test instead of
//! hanging it.
#![allow(dead_code)] // Shared helpers: not every feature file uses every one.

use std::time::Duration;

use chatgate::events::Topic;
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderMap, HeaderValue};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::TestApp;

/// How long any single read may take before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

pub const TRANSPORT_WS: &str = "graphql-transport-ws";
pub const LEGACY_WS: &str = "graphql-ws";

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One WebSocket client, protocol-agnostic: JSON text out, JSON text or a close frame in.
pub struct Client {
    stream: Stream,
}

/// What the server sent next.
#[derive(Debug, PartialEq)]
pub enum Received {
    Json(Value),
    /// A close frame: code and reason.
    Closed(u16, String),
    /// A WebSocket-level ping.
    Ping,
}

impl Client {
    /// Opens a socket on `path`, offering `protocol` when given.
    pub async fn open(app: &TestApp, path: &str, protocol: Option<&str>) -> Self {
        match Self::try_open(app, path, protocol).await {
            Ok(client) => client,
            Err(refusal) => panic!("upgrade refused: {refusal:?}"),
        }
    }

    /// Opens a socket, or returns the HTTP answer that refused the upgrade.
    pub async fn try_open(
        app: &TestApp,
        path: &str,
        protocol: Option<&str>,
    ) -> Result<Self, Refusal> {
        Self::try_open_with(app, path, protocol, None).await
    }

    /// Opens a socket whose TCP receive buffer is about `bytes`, so that a client that does not
    /// read backs up to the server quickly.
    pub async fn open_with_small_buffer(
        app: &TestApp,
        path: &str,
        protocol: Option<&str>,
        bytes: u32,
    ) -> Self {
        match Self::try_open_with(app, path, protocol, Some(bytes)).await {
            Ok(client) => client,
            Err(refusal) => panic!("upgrade refused: {refusal:?}"),
        }
    }

    async fn try_open_with(
        app: &TestApp,
        path: &str,
        protocol: Option<&str>,
        receive_buffer: Option<u32>,
    ) -> Result<Self, Refusal> {
        let (client, chosen) = Self::connect(app, path, protocol, receive_buffer).await?;
        if let Some(protocol) = protocol {
            assert_eq!(
                chosen.as_deref(),
                Some(protocol),
                "the server picks the offered subprotocol"
            );
        }
        Ok(client)
    }

    /// Opens a socket on `/graphql` offering `offered` (say `"graphql-ws, graphql-transport-ws"`,
    /// as one header); returns it with the subprotocol the server chose.
    pub async fn open_offering(app: &TestApp, offered: &str) -> (Self, Option<String>) {
        match Self::connect(app, "/graphql", Some(offered), None).await {
            Ok(opened) => opened,
            Err(refusal) => panic!("upgrade refused: {refusal:?}"),
        }
    }

    /// Connects, offering `protocol` (the `Sec-WebSocket-Protocol` header as given); returns the
    /// socket and the subprotocol the server chose, or the HTTP answer that refused the upgrade.
    async fn connect(
        app: &TestApp,
        path: &str,
        protocol: Option<&str>,
        receive_buffer: Option<u32>,
    ) -> Result<(Self, Option<String>), Refusal> {
        let mut request = app
            .ws_url(path)
            .into_client_request()
            .expect("valid WebSocket URL");
        if let Some(protocol) = protocol {
            request.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_str(protocol).expect("ASCII protocol"),
            );
        }
        let socket = TcpSocket::new_v4().expect("a TCP socket");
        if let Some(bytes) = receive_buffer {
            socket
                .set_recv_buffer_size(bytes)
                .expect("the receive buffer can be set");
        }
        let tcp = socket.connect(app.address).await.expect("connects");
        let connecting = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(tcp));
        match tokio::time::timeout(READ_TIMEOUT, connecting).await {
            Err(_) => panic!("the upgrade was not answered in time"),
            Ok(Ok((stream, response))) => {
                let chosen = response
                    .headers()
                    .get("sec-websocket-protocol")
                    .map(|v| v.to_str().expect("ASCII protocol").to_owned());
                Ok((Self { stream }, chosen))
            }
            Ok(Err(WsError::Http(response))) => {
                let body = response.body().clone().unwrap_or_default();
                let mut json = serde_json::from_slice(&body).unwrap_or_else(|_| {
                    panic!("refusal body is JSON: {}", String::from_utf8_lossy(&body))
                });
                let request_id = response
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok());
                let status = response.status().as_u16();
                crate::helpers::quotes::set_aside_request_id(status, request_id, &mut json);
                Err(Refusal {
                    status: StatusCode::from_u16(status).expect("status"),
                    headers: response.headers().clone(),
                    body: json,
                })
            }
            Ok(Err(other)) => panic!("upgrade failed: {other}"),
        }
    }

    pub async fn send(&mut self, message: Value) {
        self.send_text(&message.to_string()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.stream
            .send(Message::text(text))
            .await
            .expect("the socket takes the message");
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.stream
            .send(Message::binary(bytes))
            .await
            .expect("the socket takes the message");
    }

    /// The next frame the server sent (pongs to our own pings skipped), within [`READ_TIMEOUT`].
    async fn read(&mut self) -> Option<Result<Message, WsError>> {
        loop {
            let next = tokio::time::timeout(READ_TIMEOUT, self.stream.next())
                .await
                .expect("the server sent something in time");
            if !matches!(next, Some(Ok(Message::Pong(_)))) {
                return next;
            }
        }
    }

    /// The next thing the server sent (pongs to our own pings skipped).
    pub async fn receive(&mut self) -> Received {
        match self.read().await {
            Some(Ok(Message::Text(text))) => Received::Json(
                serde_json::from_str(text.as_str()).expect("server messages are JSON"),
            ),
            Some(Ok(Message::Close(frame))) => {
                let frame = frame.expect("the close frame has a code");
                Received::Closed(frame.code.into(), frame.reason.to_string())
            }
            Some(Ok(Message::Ping(_))) => Received::Ping,
            other => panic!("unexpected read: {other:?}"),
        }
    }

    /// The next text message exactly as sent (WebSocket-level pings skipped), for checks a
    /// parsed value cannot make, such as the order of keys.
    pub async fn next_text(&mut self) -> String {
        loop {
            match self.read().await {
                Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
                Some(Ok(Message::Ping(_))) => continue,
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    /// The next JSON message, skipping WebSocket-level pings.
    pub async fn next(&mut self) -> Value {
        loop {
            match self.receive().await {
                Received::Json(value) => return value,
                Received::Ping => continue,
                closed => panic!("expected a message, got {closed:?}"),
            }
        }
    }

    /// The close frame that comes next (code, reason); a message before it fails the test.
    /// Reads on until the connection ends, which sends our side of the closing handshake.
    pub async fn closed(&mut self) -> (u16, String) {
        let closed = loop {
            match self.receive().await {
                Received::Closed(code, reason) => break (code, reason),
                Received::Ping => continue,
                message => panic!("expected a close, got {message:?}"),
            }
        };
        let ended = tokio::time::timeout(READ_TIMEOUT, async {
            while let Some(Ok(_)) = self.stream.next().await {}
        });
        ended.await.expect("the connection ends after the close");
        closed
    }
}

/// An upgrade the server refused over HTTP.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

/// A GraphQL socket on `/graphql` speaking `protocol`, acknowledged.
pub async fn graphql_socket(app: &TestApp, protocol: &str) -> Client {
    let mut client = Client::open(app, "/graphql", Some(protocol)).await;
    client.send(json!({"type": "connection_init"})).await;
    assert_eq!(client.next().await, json!({"type": "connection_ack"}));
    if protocol == LEGACY_WS {
        assert_eq!(client.next().await, json!({"type": "ka"}));
    }
    client
}

/// Starts operation `id` (`subscribe`, legacy `start`).
pub async fn subscribe(client: &mut Client, protocol: &str, id: &str, query: &str, vars: Value) {
    let kind = if protocol == LEGACY_WS {
        "start"
    } else {
        "subscribe"
    };
    client
        .send(json!({"type": kind, "id": id, "payload": {"query": query, "variables": vars}}))
        .await;
}

/// The type of a result message in `protocol` (`next`, legacy `data`).
pub fn next_type(protocol: &str) -> &'static str {
    if protocol == LEGACY_WS {
        "data"
    } else {
        "next"
    }
}

/// The next message, asserted to be a result of operation `id`; returns its `payload.data`.
pub async fn next_data(client: &mut Client, protocol: &str, id: &str) -> Value {
    let message = client.next().await;
    assert_eq!(message["type"], next_type(protocol), "in {message}");
    assert_eq!(message["id"], id, "in {message}");
    assert!(message["payload"].get("errors").is_none(), "in {message}");
    message["payload"]["data"].clone()
}

/// Waits (bounded) until `topic` has at least `count` established live streams: subscribed
/// and with their starting point read, so every change published from now on reaches them
/// (on a database-backed store, that read takes a moment after the receiver exists).
pub async fn wait_for_subscribers(app: &TestApp, topic: Topic, count: usize) {
    wait_until(
        || app.service.established_streams(topic) >= count,
        "the subscription to be established",
    )
    .await;
}

/// Polls `condition` until it holds; fails the test after [`READ_TIMEOUT`].
pub async fn wait_until(condition: impl Fn() -> bool, what: &str) {
    let deadline = tokio::time::Instant::now() + READ_TIMEOUT;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The message's id parsed as a conversation topic.
pub fn conversation_topic(id: &str) -> Topic {
    Topic::Conversation(id.parse().expect("a UUID"))
}

/// A ping padded to exactly 1 MiB is answered `pong`; one byte more closes the socket with 1009.
/// Both socket kinds answer `{"type":"ping"}` with `{"type":"pong"}`.
pub async fn assert_frames_are_limited_to_1_mib(client: &mut Client) {
    let padding = " ".repeat((1 << 20) - r#"{"type":"ping"}"#.len());
    client
        .send_text(&format!(r#"{{"type":"ping"}}{padding}"#))
        .await;
    assert_eq!(
        client.next().await,
        json!({"type": "pong"}),
        "exactly 1 MiB is fine"
    );
    client
        .send_text(&format!(r#"{{"type":"ping"}} {padding}"#))
        .await;
    assert_eq!(client.closed().await, (1009, "message too big".into()));
}

/// The `messageAdded { id conversationId role content }` data of a `sendMessage` payload's two
/// messages, in stored order.
pub fn expected_pair(conversation: &str, sent: &Value) -> [Value; 2] {
    ["userMessage", "assistantMessage"].map(|key| {
        json!({"messageAdded": {
            "id": sent[key]["id"],
            "conversationId": conversation,
            "role": sent[key]["role"],
            "content": sent[key]["content"],
        }})
    })
}
