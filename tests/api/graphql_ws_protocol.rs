//! The GraphQL WebSocket protocol's rules on a real socket: close codes, pings, the upgrade's
//! refusals, the socket cap and shutdown.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::HeaderMap;
use chatgate::ws::{Admission, SocketAuth, SocketSettings};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use crate::helpers::{spawn_app, spawn_app_with_socket_auth, spawn_app_with_sockets};
use crate::ws_client::{
    Client, LEGACY_WS, TRANSPORT_WS, assert_frames_are_limited_to_1_mib, graphql_socket, next_data,
    subscribe, wait_until,
};

async fn open(app: &crate::helpers::TestApp, protocol: &str) -> Client {
    Client::open(app, "/graphql", Some(protocol)).await
}

#[tokio::test]
async fn a_message_the_protocol_does_not_define_closes_with_4400() {
    let app = spawn_app().await;
    for (protocol, bad) in [
        (TRANSPORT_WS, "not json"),
        (
            TRANSPORT_WS,
            r#"{"type":"start","id":"1","payload":{"query":"{ a }"}}"#,
        ),
        (
            TRANSPORT_WS,
            r#"{"type":"subscribe","id":"","payload":{"query":"{ a }"}}"#,
        ),
        (LEGACY_WS, r#"{"type":"ping"}"#),
    ] {
        let mut client = open(&app, protocol).await;
        client.send_text(bad).await;
        let (code, _) = client.closed().await;
        assert_eq!(code, 4400, "{protocol}: {bad}");
    }
}

#[tokio::test]
async fn subscribe_before_the_connection_is_acknowledged_closes_with_4401() {
    let app = spawn_app().await;
    for protocol in [TRANSPORT_WS, LEGACY_WS] {
        let mut client = open(&app, protocol).await;
        subscribe(&mut client, protocol, "1", "{ chats { total } }", json!({})).await;
        assert_eq!(client.closed().await, (4401, "Unauthorized".into()));
    }
}

#[tokio::test]
async fn no_connection_init_in_time_closes_with_4408() {
    let app = spawn_app_with_sockets(SocketSettings {
        init_timeout: Duration::from_millis(50),
        ..SocketSettings::default()
    })
    .await;
    let mut client = open(&app, TRANSPORT_WS).await;
    assert_eq!(
        client.closed().await,
        (4408, "Connection initialisation timeout".into())
    );
}

#[tokio::test]
async fn a_second_subscribe_with_an_active_id_closes_with_4409() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let query = "subscription($c: ID!) { messageAdded(conversationId: $c) { id } }";
    for protocol in [TRANSPORT_WS, LEGACY_WS] {
        let mut client = graphql_socket(&app, protocol).await;
        subscribe(
            &mut client,
            protocol,
            "dup",
            query,
            json!({"c": conversation}),
        )
        .await;
        subscribe(
            &mut client,
            protocol,
            "dup",
            query,
            json!({"c": conversation}),
        )
        .await;
        assert_eq!(
            client.closed().await,
            (4409, "Subscriber for dup already exists".into())
        );
    }
}

#[tokio::test]
async fn close_reasons_fit_in_a_close_frame_even_for_long_ids() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let query = "subscription($c: ID!) { messageAdded(conversationId: $c) { id } }";
    let long_id = "x".repeat(500);
    let mut client = graphql_socket(&app, TRANSPORT_WS).await;
    subscribe(
        &mut client,
        TRANSPORT_WS,
        &long_id,
        query,
        json!({"c": conversation}),
    )
    .await;
    subscribe(
        &mut client,
        TRANSPORT_WS,
        &long_id,
        query,
        json!({"c": conversation}),
    )
    .await;
    let (code, reason) = client.closed().await;
    assert_eq!(code, 4409);
    assert_eq!(reason.len(), 123);
    assert!(reason.starts_with("Subscriber for xxx"));
}

#[tokio::test]
async fn a_repeated_connection_init_closes_with_4429() {
    let app = spawn_app().await;
    for protocol in [TRANSPORT_WS, LEGACY_WS] {
        let mut client = graphql_socket(&app, protocol).await;
        client.send(json!({"type": "connection_init"})).await;
        assert_eq!(
            client.closed().await,
            (4429, "Too many initialisation requests".into())
        );
    }
}

/// Accepts only `connection_init` payloads and `auth` frames carrying the key `right`.
pub struct KeyInPayload;

#[async_trait]
impl SocketAuth for KeyInPayload {
    async fn on_connection_init(&self, _: &HeaderMap, payload: &Map<String, Value>) -> Admission {
        if payload.get("apiKey") == Some(&json!("right")) {
            Admission::Accept
        } else {
            Admission::Refuse
        }
    }

    fn ws_needs_auth_frame(&self, _: &HeaderMap) -> bool {
        true
    }

    async fn on_auth_frame(&self, _: &HeaderMap, key: Option<&str>) -> Admission {
        if key == Some("right") {
            Admission::Accept
        } else {
            Admission::Refuse
        }
    }
}

#[tokio::test]
async fn a_connection_init_the_auth_hook_refuses_closes_with_4403_never_acknowledged() {
    let app = spawn_app_with_socket_auth(Arc::new(KeyInPayload), SocketSettings::default()).await;

    let mut client = open(&app, TRANSPORT_WS).await;
    client
        .send(json!({"type": "connection_init", "payload": {"apiKey": "wrong"}}))
        .await;
    assert_eq!(client.closed().await, (4403, "Forbidden".into()));

    let mut legacy = open(&app, LEGACY_WS).await;
    legacy
        .send(json!({"type": "connection_init", "payload": {}}))
        .await;
    assert_eq!(
        legacy.next().await,
        json!({"type": "connection_error", "payload": {"message": "Forbidden"}})
    );
    assert_eq!(legacy.closed().await, (4403, "Forbidden".into()));

    let mut accepted = open(&app, TRANSPORT_WS).await;
    accepted
        .send(json!({"type": "connection_init", "payload": {"apiKey": "right"}}))
        .await;
    assert_eq!(accepted.next().await, json!({"type": "connection_ack"}));
}

#[tokio::test]
async fn a_client_ping_is_answered_with_a_pong_echoing_its_payload_even_before_init() {
    let app = spawn_app().await;
    let mut client = open(&app, TRANSPORT_WS).await;
    client
        .send(json!({"type": "ping", "payload": {"at": 1}}))
        .await;
    assert_eq!(
        client.next().await,
        json!({"type": "pong", "payload": {"at": 1}})
    );
    client.send(json!({"type": "pong"})).await;
    client.send(json!({"type": "ping"})).await;
    assert_eq!(client.next().await, json!({"type": "pong"}));
}

#[tokio::test]
async fn the_server_pings_acknowledged_sockets_at_the_configured_interval() {
    let app = spawn_app_with_sockets(SocketSettings {
        ping_interval: Duration::from_millis(20),
        ..SocketSettings::default()
    })
    .await;
    let mut client = graphql_socket(&app, TRANSPORT_WS).await;
    for _ in 0..2 {
        assert_eq!(client.next().await, json!({"type": "ping"}));
    }
    client.send(json!({"type": "pong"})).await;
    let mut legacy = graphql_socket(&app, LEGACY_WS).await;
    for _ in 0..2 {
        assert_eq!(legacy.next().await, json!({"type": "ka"}));
    }
}

#[tokio::test]
async fn an_upgrade_without_a_supported_subprotocol_is_refused_with_a_graphql_error() {
    let app = spawn_app().await;
    for offered in [None, Some("graphql-sse"), Some("GRAPHQL-WS")] {
        let refusal = Client::try_open(&app, "/graphql", offered)
            .await
            .err()
            .unwrap_or_else(|| panic!("{offered:?} is refused"));
        assert_eq!(refusal.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            refusal.body,
            json!({"errors": [{
                "message": "Sec-WebSocket-Protocol must offer graphql-transport-ws or graphql-ws",
                "extensions": {"code": "VALIDATION_ERROR"},
            }]})
        );
    }
}

#[tokio::test]
async fn a_client_offering_both_subprotocols_gets_the_one_it_lists_first() {
    let app = spawn_app().await;
    for (offered, preferred) in [
        ("graphql-ws, graphql-transport-ws", LEGACY_WS),
        ("graphql-transport-ws, graphql-ws", TRANSPORT_WS),
        ("graphql-sse, graphql-ws, graphql-transport-ws", LEGACY_WS),
    ] {
        let (mut client, chosen) = Client::open_offering(&app, offered).await;
        assert_eq!(chosen.as_deref(), Some(preferred), "offering {offered}");
        // The socket speaks the protocol it announced.
        client.send(json!({"type": "connection_init"})).await;
        assert_eq!(client.next().await, json!({"type": "connection_ack"}));
        if preferred == LEGACY_WS {
            assert_eq!(client.next().await, json!({"type": "ka"}));
        }
        subscribe(
            &mut client,
            preferred,
            "1",
            "{ chats { total } }",
            json!({}),
        )
        .await;
        assert_eq!(
            next_data(&mut client, preferred, "1").await,
            json!({"chats": {"total": 0}}),
            "offering {offered}"
        );
    }
}

#[tokio::test]
async fn get_without_upgrade_stays_graphql_over_http() {
    let app = spawn_app().await;
    let reply = app
        .graphql_request(
            app.client
                .get(app.url("/graphql"))
                .query(&[("query", "{ chats { total } }")]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"data": {"chats": {"total": 0}}}));
}

#[tokio::test]
async fn queries_and_mutations_also_run_over_the_socket() {
    let app = spawn_app().await;
    let mut client = graphql_socket(&app, TRANSPORT_WS).await;
    let create = "mutation { createChat(input: {title: \"By socket\"}) { title } }";
    subscribe(&mut client, TRANSPORT_WS, "c", create, json!({})).await;
    assert_eq!(
        next_data(&mut client, TRANSPORT_WS, "c").await,
        json!({"createChat": {"title": "By socket"}})
    );
    assert_eq!(client.next().await, json!({"id": "c", "type": "complete"}));
}

#[tokio::test]
async fn beyond_the_socket_cap_an_upgrade_gets_503_with_retry_after_until_a_socket_closes() {
    let app = spawn_app_with_sockets(SocketSettings {
        max_sockets: 1,
        ..SocketSettings::default()
    })
    .await;
    let first = graphql_socket(&app, TRANSPORT_WS).await;

    let refusal = Client::try_open(&app, "/graphql", Some(TRANSPORT_WS))
        .await
        .err()
        .expect("the second socket is refused");
    assert_eq!(refusal.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refusal.headers["retry-after"], "5");
    assert_eq!(
        refusal.body,
        json!({"errors": [{
            "message": "too many open WebSockets; retry later",
            "extensions": {"code": "SERVICE_UNAVAILABLE"},
        }]})
    );
    let refusal = Client::try_open(&app, "/ws", None)
        .await
        .err()
        .expect("/ws shares the cap");
    assert_eq!(refusal.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refusal.headers["retry-after"], "5");
    assert_eq!(
        refusal.body,
        json!({"error": {
            "code": "SERVICE_UNAVAILABLE",
            "message": "too many open WebSockets; retry later",
            "details": {},
        }})
    );

    drop(first);
    wait_until(|| app.sockets.open() == 0, "the first socket to close").await;
    graphql_socket(&app, TRANSPORT_WS).await;
}

#[tokio::test]
async fn a_frame_over_1_mib_closes_with_1009() {
    let app = spawn_app().await;
    let mut client = graphql_socket(&app, TRANSPORT_WS).await;
    assert_frames_are_limited_to_1_mib(&mut client).await;
}

#[tokio::test]
async fn shutdown_closes_every_socket_with_1001() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let mut transport = graphql_socket(&app, TRANSPORT_WS).await;
    let query = "subscription($c: ID!) { messageAdded(conversationId: $c) { id } }";
    subscribe(
        &mut transport,
        TRANSPORT_WS,
        "m",
        query,
        json!({"c": conversation}),
    )
    .await;
    let legacy = graphql_socket(&app, LEGACY_WS).await;
    let uninitialised = open(&app, TRANSPORT_WS).await;
    let mut join = Client::open(&app, "/ws", None).await;
    join.send(json!({"type": "join", "conversationId": conversation}))
        .await;
    join.next().await;

    let mut clients = [transport, legacy, uninitialised, join];
    let closing = tokio::spawn(async move {
        let mut codes = Vec::new();
        for client in &mut clients {
            codes.push(client.closed().await);
        }
        codes
    });
    app.shutdown().await;
    let codes = closing.await.expect("clients read their close frames");
    assert_eq!(codes, vec![(1001, "server shutting down".to_owned()); 4]);
}
