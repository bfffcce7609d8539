//! HTTP connections through the real server: a client that never finishes its request head is
//! disconnected after the header timeout, an idle keep-alive connection after the keep-alive
//! timeout, and neither clock touches a request in flight or an upgraded WebSocket.

use std::time::Duration;

use chatgate::server::ServerSettings;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{TestApp, spawn_app_with_server};

/// How long a test waits for the server to close a connection it should close.
const GUARD: Duration = Duration::from_secs(10);

const SHORT: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(60);

async fn app(header_read_timeout: Duration, keep_alive_timeout: Duration) -> TestApp {
    spawn_app_with_server(ServerSettings {
        header_read_timeout,
        keep_alive_timeout,
        ..ServerSettings::default()
    })
    .await
}

/// Reads until the server closes the connection; what it sent before closing.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    timeout(GUARD, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server closes the connection");
    received
}

/// Sends one complete keep-alive request and reads its whole (small) answer.
async fn health_check(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .expect("request written");
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    timeout(GUARD, async {
        while !ends_a_json_answer(&answer) {
            let n = stream.read(&mut buf).await.expect("answer readable");
            assert!(
                n > 0,
                "the connection closed before the answer was complete"
            );
            answer.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("the server answers");
    String::from_utf8(answer).expect("UTF-8 answer")
}

fn ends_a_json_answer(answer: &[u8]) -> bool {
    answer.ends_with(b"}")
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_disconnected_after_the_header_timeout() {
    let app = app(SHORT, LONG).await;
    let mut stream = TcpStream::connect(app.address).await.expect("connect");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\n")
        .await
        .expect("partial head written");
    // One more header byte every 100 ms: bytes alone never extend the deadline.
    let trickle = async {
        for byte in
            b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter()
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if stream.write_all(&[*byte]).await.is_err() {
                return;
            }
        }
    };
    timeout(GUARD, trickle).await.expect("trickling ends");
    let received = until_closed(&mut stream).await;
    assert!(received.is_empty(), "no answer to an unfinished head");
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let app = app(SHORT, LONG).await;
    let mut stream = TcpStream::connect(app.address).await.expect("connect");
    assert!(until_closed(&mut stream).await.is_empty());
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout() {
    let app = app(LONG, SHORT).await;
    let mut stream = TcpStream::connect(app.address).await.expect("connect");
    let answer = health_check(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(until_closed(&mut stream).await.is_empty());
}

#[tokio::test]
async fn an_idle_keep_alive_connection_outlives_the_header_timeout() {
    let app = app(SHORT, LONG).await;
    let mut stream = TcpStream::connect(app.address).await.expect("connect");
    assert!(
        health_check(&mut stream)
            .await
            .starts_with("HTTP/1.1 200 OK")
    );
    tokio::time::sleep(SHORT * 3).await;
    let again = health_check(&mut stream).await;
    assert!(again.starts_with("HTTP/1.1 200 OK"), "{again}");
}

#[tokio::test]
async fn a_slow_request_is_not_cut_by_either_timeout() {
    let app = app(SHORT, SHORT).await;
    let mut stream = TcpStream::connect(app.address).await.expect("connect");
    let body = br#"{"title":"slow body"}"#;
    let head = format!(
        "POST /chats HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    // The body comes after both timeouts: the request timeout governs bodies, not these.
    tokio::time::sleep(SHORT * 3).await;
    stream.write_all(body).await.expect("body");
    let mut answer = vec![0u8; 4096];
    let n = timeout(GUARD, stream.read(&mut answer))
        .await
        .expect("answered")
        .expect("readable");
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 201 Created"), "{answer}");
}

#[tokio::test]
async fn an_upgraded_websocket_outlives_both_timeouts() {
    let app = app(SHORT, SHORT).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(app.ws_url("/ws"))
        .await
        .expect("upgrade");
    tokio::time::sleep(SHORT * 4).await;
    socket
        .send(Message::text(r#"{"type":"ping"}"#))
        .await
        .expect("socket still open");
    let reply = timeout(GUARD, socket.next())
        .await
        .expect("a reply")
        .expect("a frame")
        .expect("readable");
    assert_eq!(reply, Message::text(r#"{"type":"pong"}"#));
}
