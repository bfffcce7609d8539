//! GraphQL subscriptions over a real WebSocket, in both subprotocols: what arrives, in what
//! order, and how errors and completion look.

use chatgate::events::Topic;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::ws_client::{
    Client, LEGACY_WS, TRANSPORT_WS, conversation_topic, expected_pair, graphql_socket, next_data,
    next_type, subscribe, wait_for_subscribers,
};

const MESSAGE_ADDED: &str = "subscription($c: ID!) { messageAdded(conversationId: $c) \
                             { id conversationId role content } }";

const CHAT_CHANGED: &str = "subscription($id: ID) { chatChanged(id: $id) \
                            { kind chat { id title active } } }";

/// Subscribes to `messageAdded` as operation `id` and waits until the feed has it.
async fn watch_messages(app: &TestApp, protocol: &str, conversation: &str) -> Client {
    let mut client = graphql_socket(app, protocol).await;
    subscribe(
        &mut client,
        protocol,
        "m",
        MESSAGE_ADDED,
        json!({"c": conversation}),
    )
    .await;
    wait_for_subscribers(app, conversation_topic(conversation), 1).await;
    client
}

#[tokio::test]
async fn message_added_delivers_both_messages_of_each_send_in_stored_order_in_both_protocols() {
    let app = spawn_app().await;
    for protocol in [TRANSPORT_WS, LEGACY_WS] {
        let conversation = app.create_conversation("ada").await;
        let mut client = watch_messages(&app, protocol, &conversation).await;
        let mut expected = Vec::new();
        for text in ["hello", "what time is it?", "thanks"] {
            let sent = app.send_message(&conversation, text).await;
            expected.extend(expected_pair(&conversation, &sent));
        }
        for want in expected {
            assert_eq!(next_data(&mut client, protocol, "m").await, want);
        }
    }
}

#[tokio::test]
async fn messages_from_concurrent_senders_arrive_once_each_in_stored_order() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let mut client = watch_messages(&app, TRANSPORT_WS, &conversation).await;
    let senders: Vec<_> = (0..4)
        .map(|sender| {
            let (app_client, url, conversation) = (
                app.client.clone(),
                app.url("/graphql"),
                conversation.clone(),
            );
            tokio::spawn(async move {
                for n in 0..10 {
                    let body = json!({
                        "query": "mutation($c: ID!, $t: String!) \
                                  { sendMessage(input: {conversationId: $c, content: $t}) \
                                  { userMessage { id } } }",
                        "variables": {"c": conversation, "t": format!("sender {sender} #{n}")},
                    });
                    let reply = app_client.post(&url).json(&body).send().await.unwrap();
                    assert!(reply.status().is_success());
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.expect("sender finished");
    }
    let mut received = Vec::new();
    for _ in 0..80 {
        received
            .push(next_data(&mut client, TRANSPORT_WS, "m").await["messageAdded"]["id"].clone());
    }
    let stored = app
        .graphql(
            "query($c: ID!) { messages(conversationId: $c, limit: 100) { messages { id } } }",
            json!({"c": conversation}),
        )
        .await;
    let stored: Vec<Value> = stored.data()["messages"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(received, stored);
}

#[tokio::test]
async fn chat_changed_sees_create_update_toggle_and_delete_and_one_chat_completes_after_delete() {
    let app = spawn_app().await;
    let mut all = graphql_socket(&app, TRANSPORT_WS).await;
    subscribe(&mut all, TRANSPORT_WS, "all", CHAT_CHANGED, json!({})).await;
    wait_for_subscribers(&app, Topic::AllChats, 1).await;

    let chat = app.create_chat("Weekly sync").await;
    let id = chat["id"].as_str().unwrap().to_owned();
    let mut one = graphql_socket(&app, LEGACY_WS).await;
    subscribe(&mut one, LEGACY_WS, "one", CHAT_CHANGED, json!({"id": id})).await;
    wait_for_subscribers(&app, Topic::Chat(id.parse().unwrap()), 1).await;

    let update = "mutation($id: ID!) { updateChat(id: $id, input: {title: \"Renamed\"}) { id } }";
    app.graphql(update, json!({"id": id})).await.data();
    let toggle = "mutation($id: ID!) { toggleChat(id: $id) { id } }";
    app.graphql(toggle, json!({"id": id})).await.data();
    let delete = "mutation($id: ID!) { deleteChat(id: $id) }";
    app.graphql(delete, json!({"id": id})).await.data();

    let event = |kind: &str, title: &str, active: bool| json!({"chatChanged": {"kind": kind, "chat": {"id": id, "title": title, "active": active}}});
    assert_eq!(
        next_data(&mut all, TRANSPORT_WS, "all").await,
        event("CREATED", "Weekly sync", true)
    );
    let changes = [
        event("UPDATED", "Renamed", true),
        event("UPDATED", "Renamed", false),
        event("DELETED", "Renamed", false),
    ];
    for change in &changes {
        assert_eq!(&next_data(&mut all, TRANSPORT_WS, "all").await, change);
        assert_eq!(&next_data(&mut one, LEGACY_WS, "one").await, change);
    }
    assert_eq!(one.next().await, json!({"id": "one", "type": "complete"}));
}

#[tokio::test]
async fn message_added_completes_when_its_conversation_is_deleted() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let mut client = watch_messages(&app, TRANSPORT_WS, &conversation).await;
    let delete = "mutation($id: ID!) { deleteConversation(id: $id) }";
    app.graphql(delete, json!({"id": conversation}))
        .await
        .data();
    assert_eq!(client.next().await, json!({"id": "m", "type": "complete"}));
}

#[tokio::test]
async fn unknown_ids_fail_with_not_found_as_a_result_then_complete() {
    let app = spawn_app().await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let cases = [
        (
            MESSAGE_ADDED,
            json!({"c": unknown}),
            "messageAdded",
            "conversation not found",
        ),
        (
            MESSAGE_ADDED,
            json!({"c": "not-an-id"}),
            "messageAdded",
            "conversation not found",
        ),
        (
            CHAT_CHANGED,
            json!({"id": unknown}),
            "chatChanged",
            "chat not found",
        ),
        (
            CHAT_CHANGED,
            json!({"id": "42"}),
            "chatChanged",
            "chat not found",
        ),
    ];
    for protocol in [TRANSPORT_WS, LEGACY_WS] {
        let mut client = graphql_socket(&app, protocol).await;
        for (query, vars, field, message) in &cases {
            subscribe(&mut client, protocol, "x", query, vars.clone()).await;
            assert_eq!(
                client.next().await,
                json!({"id": "x", "type": next_type(protocol), "payload": {
                    "data": null,
                    "errors": [{
                        "message": message,
                        "locations": [{"line": 1, "column": query.find(field).unwrap() + 1}],
                        "path": [field],
                        "extensions": {"code": "NOT_FOUND"},
                    }],
                }})
            );
            assert_eq!(client.next().await, json!({"id": "x", "type": "complete"}));
        }
    }
}

#[tokio::test]
async fn invalid_operations_get_an_error_message_with_codes_and_no_complete() {
    let app = spawn_app().await;
    let mut client = graphql_socket(&app, TRANSPORT_WS).await;
    subscribe(&mut client, TRANSPORT_WS, "p", "subscription {", json!({})).await;
    let parse = client.next().await;
    assert_eq!(
        (&parse["id"], &parse["type"]),
        (&json!("p"), &json!("error"))
    );
    assert_eq!(
        parse["payload"][0]["extensions"],
        json!({"code": "GRAPHQL_PARSE_FAILED"})
    );

    subscribe(
        &mut client,
        TRANSPORT_WS,
        "v",
        "subscription { nope }",
        json!({}),
    )
    .await;
    let validation = client.next().await;
    assert_eq!(
        validation,
        json!({"id": "v", "type": "error", "payload": [{
            "message": "Unknown field \"nope\" on type \"Subscription\".",
            "locations": [{"line": 1, "column": 16}],
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
        }]})
    );
    // Nothing else belongs to those operations: the next message answers our ping.
    client.send(json!({"type": "ping"})).await;
    assert_eq!(client.next().await, json!({"type": "pong"}));
    // And their ids are free again.
    subscribe(
        &mut client,
        TRANSPORT_WS,
        "p",
        "{ chats { total } }",
        json!({}),
    )
    .await;
    assert_eq!(
        next_data(&mut client, TRANSPORT_WS, "p").await,
        json!({"chats": {"total": 0}})
    );
    assert_eq!(client.next().await, json!({"id": "p", "type": "complete"}));
}

#[tokio::test]
async fn the_legacy_protocol_reports_invalid_operations_as_data_without_data_then_complete() {
    let app = spawn_app().await;
    let mut client = graphql_socket(&app, LEGACY_WS).await;
    subscribe(
        &mut client,
        LEGACY_WS,
        "1",
        "subscription { nope }",
        json!({}),
    )
    .await;
    assert_eq!(
        client.next().await,
        json!({"id": "1", "type": "data", "payload": {"errors": [{
            "message": "Unknown field \"nope\" on type \"Subscription\".",
            "locations": [{"line": 1, "column": 16}],
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
        }]}})
    );
    assert_eq!(client.next().await, json!({"id": "1", "type": "complete"}));
}

#[tokio::test]
async fn a_client_complete_stops_the_subscription_and_frees_its_id() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let topic = conversation_topic(&conversation);
    let mut client = watch_messages(&app, TRANSPORT_WS, &conversation).await;
    client.send(json!({"type": "complete", "id": "m"})).await;
    crate::ws_client::wait_until(
        || app.service.feed().receiver_count(topic) == 0,
        "the subscription to end",
    )
    .await;
    subscribe(
        &mut client,
        TRANSPORT_WS,
        "m",
        MESSAGE_ADDED,
        json!({"c": conversation}),
    )
    .await;
    wait_for_subscribers(&app, topic, 1).await;
    let sent = app.send_message(&conversation, "again").await;
    let [user, _] = expected_pair(&conversation, &sent);
    assert_eq!(next_data(&mut client, TRANSPORT_WS, "m").await, user);
}

crate::helpers::postgres::again_on_postgres!(
    message_added_delivers_both_messages_of_each_send_in_stored_order_in_both_protocols,
    messages_from_concurrent_senders_arrive_once_each_in_stored_order,
    chat_changed_sees_create_update_toggle_and_delete_and_one_chat_completes_after_delete,
    message_added_completes_when_its_conversation_is_deleted,
    unknown_ids_fail_with_not_found_as_a_result_then_complete,
);
