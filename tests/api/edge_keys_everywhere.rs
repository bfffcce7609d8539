//! With API keys on, no handler is reached without a key, whatever headers a request carries:
//! every route and method, with and without WebSocket upgrade headers. The one way in without
//! a key is a real WebSocket handshake (`GET` on `/graphql` or `/ws`), which then
//! authenticates inside the socket (tests/api/edge_sockets.rs).

use std::time::Duration;

use chatgate::edge::Edge;
use chatgate::edge::api_keys::ApiKeys;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, spawn_app_with_edge};

const KEY: &str = "s3cret";

const HANDSHAKE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The headers a request carries about upgrading, from none to a complete handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upgrade {
    None,
    /// `Upgrade: websocket` and `Connection: Upgrade` alone (what a curl user adds by hand).
    Headers,
    /// A complete WebSocket handshake.
    Handshake,
}

impl Upgrade {
    const ALL: [Self; 3] = [Self::None, Self::Headers, Self::Handshake];

    fn headers(self) -> String {
        match self {
            Self::None => "Connection: close\r\n".into(),
            Self::Headers => "Connection: Upgrade\r\nUpgrade: websocket\r\n".into(),
            Self::Handshake => format!(
                "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
                 Sec-WebSocket-Key: {HANDSHAKE_KEY}\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n"
            ),
        }
    }
}

/// The status and JSON body (`Null` when there is none) of one answer.
async fn send(app: &TestApp, method: &str, path: &str, extra: &str, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(app.address).await.expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: chatgate\r\n{extra}Content-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tokio::time::timeout(Duration::from_secs(10), async {
        stream.write_all(request.as_bytes()).await.expect("sent");
        let mut received = Vec::new();
        let head_end = loop {
            if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 4096];
            let read = stream.read(&mut chunk).await.expect("readable");
            assert!(
                read > 0,
                "{method} {path}: connection closed before an answer"
            );
            received.extend_from_slice(&chunk[..read]);
        };
        let head = String::from_utf8_lossy(&received[..head_end]).to_string();
        let status: u16 = head[9..12].parse().expect("a status code");
        let length: usize = head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, value)| value.trim().parse().expect("a length"));
        if status == 101 || method == "HEAD" || length == 0 {
            return (status, Value::Null);
        }
        let mut body = received[head_end..].to_vec();
        while body.len() < length {
            let mut chunk = [0u8; 4096];
            let read = stream.read(&mut chunk).await.expect("readable");
            assert!(read > 0, "{method} {path}: body cut short");
            body.extend_from_slice(&chunk[..read]);
        }
        (status, serde_json::from_slice(&body).expect("a JSON body"))
    })
    .await
    .expect("answered within 10 s")
}

/// Everything the keyed app stores, read with the key: any write shows up here.
async fn stored(app: &TestApp, conversation: &str) -> Value {
    let mut all = Vec::new();
    for path in [
        "/chats?limit=100".to_owned(),
        "/api/conversations?userId=owner&limit=100".to_owned(),
        format!("/api/conversations/{conversation}/messages?limit=100"),
    ] {
        let response = app
            .client
            .get(app.url(&path))
            .header("x-api-key", KEY)
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 200, "{path}");
        all.push(response.json::<Value>().await.expect("JSON"));
    }
    Value::Array(all)
}

async fn keyed_post(app: &TestApp, path: &str, body: Value) -> Value {
    let response = app
        .client
        .post(app.url(path))
        .header("x-api-key", KEY)
        .json(&body)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 201, "{path}");
    response.json().await.expect("JSON")
}

/// A body that would write something if a handler took it.
fn body_for(path: &str) -> String {
    let body = if path.starts_with("/graphql") {
        json!({"query": "mutation { createChat(input: {title: \"intruder\", userId: \"owner\"}) { id } }"})
    } else if path.ends_with("/messages") {
        json!({"content": "intruder"})
    } else if path.contains("conversations") {
        json!({"userId": "owner"})
    } else {
        json!({"title": "intruder", "userId": "owner", "active": false})
    };
    body.to_string()
}

#[tokio::test]
async fn without_a_key_no_route_or_method_is_reached_whatever_the_upgrade_headers() {
    let app =
        spawn_app_with_edge(Edge::default().with_api_keys(ApiKeys::new([KEY.to_owned()]))).await;
    let chat = keyed_post(&app, "/chats", json!({"title": "kept", "userId": "owner"})).await;
    let chat = chat["id"].as_str().expect("an id").to_owned();
    let conversation = keyed_post(&app, "/api/conversations", json!({"userId": "owner"})).await;
    let conversation = conversation["id"].as_str().expect("an id").to_owned();
    let sent = keyed_post(
        &app,
        &format!("/api/conversations/{conversation}/messages"),
        json!({"content": "hello"}),
    )
    .await;
    let message = sent["userMessage"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let before = stored(&app, &conversation).await;

    let mut paths = vec![
        "/graphql".to_owned(),
        "/graphql?query=%7B%20chats%20%7B%20total%20%7D%20%7D".to_owned(),
        "/ws".to_owned(),
        "/chats".to_owned(),
        format!("/chats/{chat}"),
        format!("/chats/{chat}/toggle"),
        "/no/such/route".to_owned(),
        "/metrics".to_owned(),
    ];
    for prefix in ["/api", "/api/v1"] {
        paths.push(format!("{prefix}/conversations?userId=owner"));
        paths.push(format!("{prefix}/conversations"));
        paths.push(format!("{prefix}/conversations/{conversation}"));
        paths.push(format!("{prefix}/conversations/{conversation}/messages"));
        paths.push(format!("{prefix}/messages/{message}"));
        paths.push(format!("{prefix}/messages/{message}/reply"));
    }
    let methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    let keys = [
        "",
        "X-API-Key: wrong\r\n",
        "Authorization: Bearer wrong\r\n",
    ];

    let mut wrong = Vec::new();
    let mut sockets = 0;
    for path in &paths {
        for method in methods {
            for upgrade in Upgrade::ALL {
                for key in keys {
                    let body = match method {
                        "POST" | "PUT" | "PATCH" => body_for(path),
                        _ => String::new(),
                    };
                    let extra = format!("{}{key}", upgrade.headers());
                    let (status, answer) = send(&app, method, path, &extra, &body).await;
                    let socket_path = path.starts_with("/graphql") || path == "/ws";
                    let real_handshake =
                        method == "GET" && socket_path && upgrade == Upgrade::Handshake;
                    let expected = if real_handshake && key.is_empty() {
                        sockets += 1;
                        101
                    } else if method == "OPTIONS" {
                        // The CORS layer answers every OPTIONS itself, empty, before any handler.
                        200
                    } else {
                        401
                    };
                    let enveloped = match status {
                        101 => true,
                        200 => answer.is_null(),
                        _ => {
                            method == "HEAD"
                                || answer["error"]
                                    == json!({
                                        "code": "UNAUTHORIZED",
                                        "message": answer["error"]["message"],
                                        "details": {},
                                    })
                                || answer["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"
                        }
                    };
                    if status != expected || !enveloped {
                        wrong.push(format!(
                            "{method} {path} {upgrade:?} key={key:?}: {status} {answer}"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "reached without a key:\n{}",
        wrong.join("\n")
    );
    assert_eq!(sockets, 3, "only the two socket paths open a socket");
    assert_eq!(
        stored(&app, &conversation).await,
        before,
        "nothing was written"
    );
}

#[tokio::test]
async fn with_a_key_upgrade_headers_without_a_handshake_change_nothing() {
    let app =
        spawn_app_with_edge(Edge::default().with_api_keys(ApiKeys::new([KEY.to_owned()]))).await;
    let extra = format!("{}X-API-Key: {KEY}\r\n", Upgrade::Headers.headers());
    let query = "/graphql?query=%7B%20chats%20%7B%20total%20%7D%20%7D";
    let (status, answer) = send(&app, "GET", query, &extra, "").await;
    assert_eq!(
        (status, answer),
        (200, json!({"data": {"chats": {"total": 0}}})),
        "an ordinary query"
    );
    let (status, answer) = send(&app, "GET", "/ws", &extra, "").await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["code"], "VALIDATION_ERROR");
    let (status, _) = send(&app, "POST", "/chats", &extra, &body_for("/chats")).await;
    assert_eq!(status, 201, "a keyed write goes through as usual");
}
