//! One service behind both faces: a message posted over REST reaches GraphQL subscribers (both
//! subprotocols) and `/ws` listeners, user and assistant messages alike, in stored order.

use serde_json::json;

use crate::helpers::spawn_app;
use crate::ws_client::{
    Client, LEGACY_WS, TRANSPORT_WS, conversation_topic, graphql_socket, next_data, subscribe,
    wait_for_subscribers,
};

const MESSAGE_ADDED: &str = "subscription($c: ID!) { messageAdded(conversationId: $c) \
                             { id conversationId role content } }";

#[tokio::test]
async fn a_message_posted_over_rest_reaches_graphql_subscribers_and_ws_listeners() {
    let app = spawn_app().await;
    let conversation = app.rest_create_conversation("u-live").await;
    let id = conversation["id"].as_str().unwrap().to_owned();

    let mut modern = graphql_socket(&app, TRANSPORT_WS).await;
    subscribe(
        &mut modern,
        TRANSPORT_WS,
        "m",
        MESSAGE_ADDED,
        json!({"c": id}),
    )
    .await;
    let mut legacy = graphql_socket(&app, LEGACY_WS).await;
    subscribe(&mut legacy, LEGACY_WS, "l", MESSAGE_ADDED, json!({"c": id})).await;
    let mut joined = Client::open(&app, "/ws", None).await;
    joined
        .send(json!({"type": "join", "conversationId": id}))
        .await;
    assert_eq!(
        joined.next().await,
        json!({"type": "joined", "conversationId": id})
    );
    wait_for_subscribers(&app, conversation_topic(&id), 3).await;

    let sent = app.rest_send_message(&id, "Hello from REST").await;
    for message in [&sent["userMessage"], &sent["assistantMessage"]] {
        let expected = json!({
            "id": message["id"],
            "conversationId": id,
            "role": message["role"].as_str().unwrap().to_uppercase(),
            "content": message["content"],
        });
        let pushed = next_data(&mut modern, TRANSPORT_WS, "m").await;
        assert_eq!(pushed["messageAdded"], expected);
        let pushed = next_data(&mut legacy, LEGACY_WS, "l").await;
        assert_eq!(pushed["messageAdded"], expected);
        // The reply's pieces come first on /ws, adding up to it.
        let mut pieces = String::new();
        let pushed = loop {
            let frame = joined.next().await;
            if frame["type"] != "delta" {
                break frame;
            }
            assert_eq!(frame["messageId"], message["id"]);
            pieces.push_str(frame["delta"].as_str().unwrap());
        };
        assert_eq!(pushed, json!({"type": "message", "message": message}));
        if message["role"] == "assistant" {
            assert_eq!(pieces, message["content"].as_str().unwrap());
        } else {
            assert_eq!(pieces, "", "a user's message comes whole");
        }
    }
}

crate::helpers::postgres::again_on_postgres!(
    a_message_posted_over_rest_reaches_graphql_subscribers_and_ws_listeners,
);
