//! Opening one subscribed socket as cheaply as a client can, so the load generator is not what
//! limits the connect rate: the upgrade request, `connection_init` and `subscribe` go out in
//! one write (the server reads them in order; the frames after the request head reach the
//! socket the upgrade makes), and the client does no handshake bookkeeping beyond checking the
//! `101`. The server's work per socket is what any client costs it.

use std::net::{Ipv4Addr, SocketAddr};

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use super::{SELECTION, Socket};

/// Source addresses hold this many client sockets each, so ephemeral ports do not run short.
const SOCKETS_PER_ADDRESS: usize = 10_000;

/// Opens socket `index` from its own source address, acknowledged and subscribed: in one
/// write, or (`stepwise`) as a graphql-ws client does, each step after the server's answer.
pub async fn open(server: SocketAddr, index: usize, conversation: &str, stepwise: bool) -> Socket {
    // A run of its own (by process id) in 127.0.0.0/8: the last run's connections may still
    // be in TIME_WAIT on the server's side.
    let run = 1 + (std::process::id() % 250) as u8;
    let source = Ipv4Addr::new(127, run, 0, 2 + (index / SOCKETS_PER_ADDRESS) as u8);
    let tcp = tokio::net::TcpSocket::new_v4().expect("a socket");
    tcp.bind(SocketAddr::from((source, 0)))
        .expect("a source port");
    let stream = tcp.connect(server).await.expect("the server accepts");
    stream.set_nodelay(true).expect("nodelay");
    let subscribe = json!({"type": "subscribe", "id": format!("s{index}"),
        "payload": {"query": SELECTION, "variables": {"c": conversation}}})
    .to_string();
    let mut socket = if stepwise {
        handshake(server, stream).await
    } else {
        pipelined(server, stream, &subscribe).await
    };
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.contains("connection_ack") => break,
            Some(Ok(_)) => {}
            other => panic!("no connection_ack: {other:?}"),
        }
    }
    if stepwise {
        socket
            .send(Message::Text(subscribe.into()))
            .await
            .expect("the socket takes a message");
    }
    socket
}

/// The upgrade through tungstenite's client handshake, then `connection_init`.
async fn handshake(server: SocketAddr, stream: TcpStream) -> Socket {
    let mut request = format!("ws://{server}/graphql")
        .into_client_request()
        .expect("a valid URL");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (mut socket, _) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config))
            .await
            .expect("the upgrade succeeds");
    let init = json!({"type": "connection_init"}).to_string();
    socket
        .send(Message::Text(init.into()))
        .await
        .expect("the socket takes a message");
    socket
}

/// The upgrade request, `connection_init` and `subscribe` in one write; the `101` checked.
async fn pipelined(server: SocketAddr, mut stream: TcpStream, subscribe: &str) -> Socket {
    let mut out = format!(
        "GET /graphql HTTP/1.1\r\nHost: {server}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
    )
    .into_bytes();
    text_frame(&mut out, &json!({"type": "connection_init"}).to_string());
    text_frame(&mut out, subscribe);
    stream.write_all(&out).await.expect("the request is sent");

    let mut head = Vec::with_capacity(512);
    let end = loop {
        let mut chunk = [0u8; 512];
        let read = stream.read(&mut chunk).await.expect("an answer");
        assert!(read > 0, "the server closed before answering the upgrade");
        head.extend_from_slice(&chunk[..read]);
        if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "the upgrade succeeds: {}",
        String::from_utf8_lossy(&head[..end])
    );
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let rest = head.split_off(end);
    Socket::from_partially_read(stream, rest, Role::Client, Some(config)).await
}

/// Appends a client's text frame carrying `text`: masked, as clients must, with a zero key so
/// the payload goes out as it is.
fn text_frame(out: &mut Vec<u8>, text: &str) {
    out.push(0x81);
    match text.len() {
        len @ 0..=125 => out.push(0x80 | len as u8),
        len @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(text.as_bytes());
}
