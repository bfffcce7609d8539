//! API keys never reach the logs: the real binary, with keys configured and debug logging,
//! receives right and wrong keys over HTTP headers, GraphQL `connection_init` and `/ws` auth
//! frames, and none of them appears in anything it writes.

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::binary::{next_line, send, start};

const GOOD: &str = "good-key-7f3a9c";
const WRONG: &str = "wrong-key-b51e02";
const OTHER: &str = "other-key-19d2c4";

async fn socket_exchange(
    address: &str,
    path: &str,
    protocol: Option<&str>,
    frame: serde_json::Value,
) {
    let mut request = format!("ws://{address}{path}")
        .into_client_request()
        .expect("valid URL");
    if let Some(protocol) = protocol {
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(protocol).unwrap(),
        );
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the upgrade without a key is let through");
    socket
        .send(Message::text(frame.to_string()))
        .await
        .expect("frame sent");
    // One answer (ack, authenticated, or a close) is enough to know the server handled it.
    let answered = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next()).await;
    assert!(answered.is_ok(), "the server answers the frame on {path}");
}

#[tokio::test]
async fn keys_sent_any_way_never_appear_in_the_logs() {
    let keys = format!("{GOOD},{OTHER}");
    let mut server = start(&[("API_KEYS", &keys), ("RUST_LOG", "debug")]).await;
    let client = reqwest::Client::new();
    for key in [GOOD, WRONG] {
        let graphql = client
            .post(format!("http://{}/graphql", server.address))
            .header("x-api-key", key)
            .json(&json!({"query": "{ chats { total } }"}))
            .send()
            .await
            .expect("answered");
        assert!(graphql.status().as_u16() == 200 || graphql.status().as_u16() == 401);
        client
            .get(format!("http://{}/chats", server.address))
            .bearer_auth(key)
            .send()
            .await
            .expect("answered");
        for protocol in ["graphql-transport-ws", "graphql-ws"] {
            let init = json!({"type": "connection_init", "payload": {"apiKey": key}});
            socket_exchange(&server.address, "/graphql", Some(protocol), init).await;
        }
        let auth = json!({"type": "auth", "apiKey": key});
        socket_exchange(&server.address, "/ws", None, auth).await;
    }
    send("TERM", &server.child);
    let mut written = String::new();
    while let Some(line) = next_line(&mut server.stdout).await {
        written.push_str(&line);
        written.push('\n');
    }
    server
        .child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut written)
        .await
        .expect("stderr is readable");
    assert!(
        written.contains("/graphql"),
        "requests are logged:\n{written}"
    );
    for key in [GOOD, WRONG, OTHER] {
        assert!(
            !written.contains(key),
            "{key} appears in the logs:\n{written}"
        );
    }
}
