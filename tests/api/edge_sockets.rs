//! API keys on both socket kinds, through a real server behind the real edge.

use std::time::Duration;

use chatgate::edge::Edge;
use chatgate::edge::api_keys::ApiKeys;
use chatgate::ws::SocketSettings;
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::{TestApp, spawn_app_with_edge_and_sockets};
use crate::ws_client::{Client, LEGACY_WS, TRANSPORT_WS};

const KEY: &str = "s3cret-key";

async fn keyed_app() -> TestApp {
    let settings = SocketSettings {
        init_timeout: Duration::from_millis(300),
        ..SocketSettings::default()
    };
    spawn_app_with_edge_and_sockets(
        Edge::default().with_api_keys(ApiKeys::new([KEY.to_owned()])),
        settings,
    )
    .await
}

#[tokio::test]
async fn graphql_sockets_are_acknowledged_only_with_a_valid_key_in_connection_init() {
    let app = keyed_app().await;
    for payload in [json!({"apiKey": KEY}), json!({"X-API-Key": KEY})] {
        let mut client = Client::open(&app, "/graphql", Some(TRANSPORT_WS)).await;
        client
            .send(json!({"type": "connection_init", "payload": payload}))
            .await;
        assert_eq!(client.next().await, json!({"type": "connection_ack"}));
    }
    for payload in [json!({"apiKey": "wrong"}), json!({})] {
        let mut client = Client::open(&app, "/graphql", Some(TRANSPORT_WS)).await;
        client
            .send(json!({"type": "connection_init", "payload": payload}))
            .await;
        assert_eq!(
            client.closed().await.0,
            4403,
            "never acknowledged: {payload}"
        );
    }
}

#[tokio::test]
async fn the_legacy_protocol_gets_connection_error_then_4403() {
    let app = keyed_app().await;
    let mut client = Client::open(&app, "/graphql", Some(LEGACY_WS)).await;
    client
        .send(json!({"type": "connection_init", "payload": {"apiKey": "wrong"}}))
        .await;
    let message = client.next().await;
    assert_eq!(message["type"], "connection_error", "{message}");
    assert_eq!(client.closed().await.0, 4403);
}

async fn upgrade_with_key(app: &TestApp, path: &str, key: &str) -> Result<u16, StatusCode> {
    let mut request = app.ws_url(path).into_client_request().expect("valid URL");
    request
        .headers_mut()
        .insert("x-api-key", HeaderValue::from_str(key).unwrap());
    if path == "/graphql" {
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static(TRANSPORT_WS),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((_, response)) => Ok(response.status().as_u16()),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(StatusCode::from_u16(response.status().as_u16()).unwrap())
        }
        Err(other) => panic!("upgrade failed: {other}"),
    }
}

#[tokio::test]
async fn an_upgrade_with_a_wrong_key_is_refused_with_401_and_a_right_one_opens() {
    let app = keyed_app().await;
    for path in ["/graphql", "/ws"] {
        assert_eq!(
            upgrade_with_key(&app, path, "wrong").await,
            Err(StatusCode::UNAUTHORIZED),
            "{path}"
        );
        assert_eq!(upgrade_with_key(&app, path, KEY).await, Ok(101), "{path}");
    }
}

#[tokio::test]
async fn ws_sockets_authenticate_with_their_first_frame() {
    let app = keyed_app().await;
    let mut client = Client::open(&app, "/ws", None).await;
    client.send(json!({"type": "auth", "apiKey": KEY})).await;
    assert_eq!(client.next().await, json!({"type": "authenticated"}));
    client.send(json!({"type": "ping"})).await;
    assert_eq!(client.next().await, json!({"type": "pong"}));
    client.send(json!({"type": "auth", "apiKey": KEY})).await;
    assert_eq!(client.next().await, json!({"type": "authenticated"}));

    let mut wrong = Client::open(&app, "/ws", None).await;
    wrong.send(json!({"type": "auth", "apiKey": "wrong"})).await;
    assert_eq!(wrong.closed().await.0, 4401);

    let mut other_first = Client::open(&app, "/ws", None).await;
    other_first.send(json!({"type": "ping"})).await;
    assert_eq!(other_first.closed().await.0, 4401);

    let mut silent = Client::open(&app, "/ws", None).await;
    assert_eq!(
        silent.closed().await.0,
        4401,
        "no frame within the auth window"
    );
}
