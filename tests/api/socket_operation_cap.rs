//! One socket runs at most `max_operations` operations at once (GraphQL operations, `/ws`
//! joins): one more is refused with an error for that operation alone, and the socket stays
//! open and usable.

use chatgate::events::Topic;
use chatgate::ws::SocketSettings;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with_sockets};
use crate::ws_client::{
    Client, LEGACY_WS, TRANSPORT_WS, graphql_socket, next_data, subscribe, wait_for_subscribers,
};

const WATCH_CHATS: &str = "subscription { chatChanged { kind chat { title } } }";

async fn capped_at_two() -> TestApp {
    spawn_app_with_sockets(SocketSettings {
        max_operations: 2,
        ..SocketSettings::default()
    })
    .await
}

fn refusal() -> Value {
    json!([{
        "message": "this socket already runs 2 operations, the most it may; end one first",
        "extensions": { "code": "RATE_LIMITED", "details": { "maxOperations": 2 } },
    }])
}

#[tokio::test]
async fn a_graphql_operation_beyond_the_cap_gets_an_error_and_the_socket_stays_open() {
    for protocol in [TRANSPORT_WS, LEGACY_WS] {
        let app = capped_at_two().await;
        let mut client = graphql_socket(&app, protocol).await;
        subscribe(&mut client, protocol, "a", WATCH_CHATS, json!({})).await;
        subscribe(&mut client, protocol, "b", WATCH_CHATS, json!({})).await;
        subscribe(&mut client, protocol, "c", WATCH_CHATS, json!({})).await;
        if protocol == TRANSPORT_WS {
            assert_eq!(
                client.next().await,
                json!({ "id": "c", "type": "error", "payload": refusal() })
            );
        } else {
            assert_eq!(
                client.next().await,
                json!({ "id": "c", "type": "data", "payload": { "errors": refusal() } })
            );
            assert_eq!(
                client.next().await,
                json!({ "id": "c", "type": "complete" })
            );
        }
        wait_for_subscribers(&app, Topic::AllChats, 2).await;

        // The two running operations still deliver (in either order); ending one makes room.
        app.create_chat("first").await;
        let mut delivered = vec![client.next().await, client.next().await];
        delivered.sort_by_key(|message| message["id"].to_string());
        let created = json!({ "data": { "chatChanged": { "kind": "CREATED", "chat": { "title": "first" } } } });
        let kind = if protocol == TRANSPORT_WS {
            "next"
        } else {
            "data"
        };
        assert_eq!(
            delivered,
            [
                json!({ "id": "a", "type": kind, "payload": created }),
                json!({ "id": "b", "type": kind, "payload": created }),
            ]
        );
        let stop = if protocol == TRANSPORT_WS {
            "complete"
        } else {
            "stop"
        };
        client.send(json!({ "type": stop, "id": "a" })).await;
        subscribe(&mut client, protocol, "c", "{ chats { total } }", json!({})).await;
        assert_eq!(
            next_data(&mut client, protocol, "c").await,
            json!({ "chats": { "total": 1 } })
        );
        assert_eq!(
            client.next().await,
            json!({ "id": "c", "type": "complete" })
        );
        app.create_chat("second").await;
        assert_eq!(
            next_data(&mut client, protocol, "b").await,
            json!({ "chatChanged": { "kind": "CREATED", "chat": { "title": "second" } } })
        );
    }
}

#[tokio::test]
async fn a_ws_join_beyond_the_cap_gets_an_error_frame_and_the_socket_stays_open() {
    let app = capped_at_two().await;
    let conversations = [
        app.create_conversation("u").await,
        app.create_conversation("u").await,
        app.create_conversation("u").await,
    ];
    let mut client = Client::open(&app, "/ws", None).await;
    for conversation in &conversations[..2] {
        client
            .send(json!({ "type": "join", "conversationId": conversation }))
            .await;
        assert_eq!(
            client.next().await,
            json!({ "type": "joined", "conversationId": conversation })
        );
    }
    let third = &conversations[2];
    client
        .send(json!({ "type": "join", "conversationId": third }))
        .await;
    assert_eq!(
        client.next().await,
        json!({
            "type": "error",
            "conversationId": third,
            "error": {
                "code": "RATE_LIMITED",
                "message": "this socket already runs 2 operations, the most it may; end one first",
                "details": { "maxOperations": 2 },
            },
        })
    );
    // Joining one already joined is still harmless at the cap.
    client
        .send(json!({ "type": "join", "conversationId": conversations[0] }))
        .await;
    assert_eq!(
        client.next().await,
        json!({ "type": "joined", "conversationId": conversations[0] })
    );
    // Leaving one makes room; the socket never closed.
    client
        .send(json!({ "type": "leave", "conversationId": conversations[0] }))
        .await;
    assert_eq!(
        client.next().await,
        json!({ "type": "left", "conversationId": conversations[0] })
    );
    client
        .send(json!({ "type": "join", "conversationId": third }))
        .await;
    assert_eq!(
        client.next().await,
        json!({ "type": "joined", "conversationId": third })
    );
    let sent = app.send_message(third, "hi").await;
    let pushed = client.next().await;
    assert_eq!(pushed["message"]["id"], sent["userMessage"]["id"]);
}
