//! Conversations and messages over GraphQL: `conversations`, `conversation`, `messages`,
//! `message`, `createConversation`, `deleteConversation`, `sendMessage`, the nested
//! `Message.conversation` and `Conversation.messages`, with the built-in assistant's exact
//! replies under a manual clock.

use serde_json::{Value, json};

use crate::helpers::{
    CONVERSATION_FIELDS, MESSAGE_FIELDS, START, TestApp, at, spawn_app_with_clock,
};

const UNKNOWN_ID: &str = "0b6f1d2c-3e4a-4f5b-8c6d-7e8f9a0b1c2d";

fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("id is a string").to_owned()
}

async fn create_conversation_with(app: &TestApp, user_id: &str, metadata: Value) -> Value {
    let reply = app
        .graphql(
            &format!(
                "mutation($u: String!, $m: JSON) {{ createConversation(input: {{userId: $u, metadata: $m}}) \
                 {{ {CONVERSATION_FIELDS} }} }}"
            ),
            json!({ "u": user_id, "m": metadata }),
        )
        .await;
    reply.data()["createConversation"].clone()
}

fn message(id: &str, conversation_id: &str, role: &str, content: &str, created_at: &str) -> Value {
    json!({
        "id": id,
        "conversationId": conversation_id,
        "role": role,
        "content": content,
        "metadata": {},
        "createdAt": created_at,
    })
}

#[tokio::test]
async fn create_conversation_starts_empty_with_empty_metadata() {
    let app = spawn_app_with_clock().await;
    let created = create_conversation_with(&app, "user-1", Value::Null).await;
    assert_eq!(
        created,
        json!({
            "id": id_of(&created),
            "userId": "user-1",
            "metadata": {},
            "createdAt": START,
            "updatedAt": START,
            "messageCount": 0,
        })
    );
}

#[tokio::test]
async fn metadata_round_trips_exactly_on_conversations_and_messages() {
    let app = spawn_app_with_clock().await;
    let metadata = json!({
        "source": "web",
        "nested": { "list": [1, 2.5, -3, true, null, "ünïcödé 🙂"], "empty": {} },
        "nothing": null,
    });
    let created = create_conversation_with(&app, "user-1", metadata.clone()).await;
    assert_eq!(created["metadata"], metadata);
    let sent = app
        .graphql(
            "mutation($c: ID!, $m: JSON) { sendMessage(input: {conversationId: $c, content: \"hi\", \
             metadata: $m}) { userMessage { metadata } assistantMessage { metadata } } }",
            json!({ "c": id_of(&created), "m": { "clientId": "abc", "tags": ["x"] } }),
        )
        .await;
    assert_eq!(
        sent.body,
        json!({ "data": { "sendMessage": {
            "userMessage": { "metadata": { "clientId": "abc", "tags": ["x"] } },
            "assistantMessage": { "metadata": {} },
        } } })
    );
    let read = app
        .graphql(
            "query($c: ID!) { conversation(id: $c) { metadata messages { messages { metadata } } } }",
            json!({ "c": id_of(&created) }),
        )
        .await;
    assert_eq!(
        read.body,
        json!({ "data": { "conversation": {
            "metadata": metadata,
            "messages": { "messages": [
                { "metadata": { "clientId": "abc", "tags": ["x"] } },
                { "metadata": {} },
            ] },
        } } })
    );
}

#[tokio::test]
async fn send_message_stores_the_question_and_the_assistants_exact_answer() {
    let app = spawn_app_with_clock().await;
    let conversation = app.create_conversation("user-1").await;
    let sent = app.send_message(&conversation, "What time is it?").await;
    let (user_id, assistant_id) = (
        id_of(&sent["userMessage"]),
        id_of(&sent["assistantMessage"]),
    );
    assert_eq!(
        sent,
        json!({
            "userMessage": message(&user_id, &conversation, "USER", "What time is it?", START),
            "assistantMessage": message(&assistant_id, &conversation, "ASSISTANT", "It is 12:00 UTC.", START),
        })
    );
    app.clock().advance_millis(90 * 60_000);
    let later = app.send_message(&conversation, "How many messages?").await;
    assert_eq!(
        later["assistantMessage"]["content"],
        "This conversation has 3 messages so far, yours included."
    );
    let date = app
        .send_message(&conversation, "What's the date today?")
        .await;
    assert_eq!(
        date["assistantMessage"]["content"],
        "Today is Saturday, 4 October 2025 (UTC)."
    );
    assert_eq!(date["assistantMessage"]["createdAt"], at("13:30:00.000"));
}

#[tokio::test]
async fn conversation_returns_fields_count_and_messages_oldest_first() {
    let app = spawn_app_with_clock().await;
    let id = app.create_conversation("user-1").await;
    let sent = app.send_message(&id, "hello").await;
    let reply = app
        .graphql(
            &format!(
                "query($id: ID!) {{ conversation(id: $id) {{ {CONVERSATION_FIELDS} \
                 messages {{ total limit offset hasMore messages {{ {MESSAGE_FIELDS} }} }} }} }}"
            ),
            json!({ "id": id.to_uppercase() }),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({ "data": { "conversation": {
            "id": id,
            "userId": "user-1",
            "metadata": {},
            "createdAt": START,
            "updatedAt": at("12:00:00.002"),
            "messageCount": 2,
            "messages": {
                "total": 2, "limit": 100, "offset": 0, "hasMore": false,
                "messages": [sent["userMessage"], sent["assistantMessage"]],
            },
        } } })
    );
    assert_eq!(
        sent["assistantMessage"]["content"],
        "Hello! I'm the chatgate assistant. Ask me the time or the date, or type \"help\" to see what I can do."
    );
}

#[tokio::test]
async fn conversation_messages_take_limit_offset_order_and_role() {
    let app = spawn_app_with_clock().await;
    let id = app.create_conversation("user-1").await;
    let first = app.send_message(&id, "one").await;
    let second = app.send_message(&id, "two").await;
    let reply = app
        .graphql(
            "query($id: ID!) { conversation(id: $id) { \
             users: messages(role: USER) { total messages { content } } \
             assistant: messages(role: ASSISTANT, order: DESC, limit: 1) { total hasMore messages { id } } \
             window: messages(limit: 2, offset: 1) { total limit offset hasMore messages { id } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({ "data": { "conversation": {
            "users": { "total": 2, "messages": [{ "content": "one" }, { "content": "two" }] },
            "assistant": { "total": 2, "hasMore": true, "messages": [{ "id": second["assistantMessage"]["id"] }] },
            "window": {
                "total": 4, "limit": 2, "offset": 1, "hasMore": true,
                "messages": [{ "id": first["assistantMessage"]["id"] }, { "id": second["userMessage"]["id"] }],
            },
        } } })
    );
}

#[tokio::test]
async fn messages_lists_a_conversations_messages_as_a_page() {
    let app = spawn_app_with_clock().await;
    let id = app.create_conversation("user-1").await;
    let sent = app.send_message(&id, "thanks").await;
    let reply = app
        .graphql(
            &format!(
                "query($id: ID!) {{ messages(conversationId: $id) {{ total limit offset hasMore \
                 messages {{ {MESSAGE_FIELDS} }} }} }}"
            ),
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({ "data": { "messages": {
            "total": 2, "limit": 100, "offset": 0, "hasMore": false,
            "messages": [sent["userMessage"], sent["assistantMessage"]],
        } } })
    );
    assert_eq!(
        sent["assistantMessage"]["content"],
        "You're welcome! Anything else?"
    );
}

#[tokio::test]
async fn message_returns_the_message_with_its_conversation() {
    let app = spawn_app_with_clock().await;
    let id = app.create_conversation("user-1").await;
    let sent = app.send_message(&id, "Is Rust fast?").await;
    let reply = app
        .graphql(
            &format!(
                "query($m: ID!) {{ message(id: $m) {{ {MESSAGE_FIELDS} conversation {{ id userId messageCount }} }} }}"
            ),
            json!({ "m": sent["assistantMessage"]["id"].as_str().unwrap().to_uppercase() }),
        )
        .await;
    let mut expected = sent["assistantMessage"].clone();
    expected["conversation"] = json!({ "id": id, "userId": "user-1", "messageCount": 2 });
    assert_eq!(reply.body, json!({ "data": { "message": expected } }));
    assert_eq!(
        sent["assistantMessage"]["content"],
        "You asked: \"Is Rust fast?\" I can't look that up, but it's a good question. \
         Type \"help\" to see what I can answer."
    );
}

#[tokio::test]
async fn conversation_and_message_are_null_for_unknown_and_malformed_ids() {
    let app = spawn_app_with_clock().await;
    let reply = app
        .graphql(
            &format!(
                "{{ c1: conversation(id: \"{UNKNOWN_ID}\") {{ id }} c2: conversation(id: \"nope\") {{ id }} \
                 m1: message(id: \"{UNKNOWN_ID}\") {{ id }} m2: message(id: \"nope\") {{ id }} }}"
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({ "data": { "c1": null, "c2": null, "m1": null, "m2": null } })
    );
}

#[tokio::test]
async fn conversations_lists_one_users_conversations_newest_first() {
    let app = spawn_app_with_clock().await;
    let older = create_conversation_with(&app, "user-1", Value::Null).await;
    app.clock().advance_millis(1_000);
    create_conversation_with(&app, "user-2", Value::Null).await;
    app.clock().advance_millis(1_000);
    let newer = create_conversation_with(&app, "user-1", json!({ "n": 2 })).await;
    let reply = app
        .graphql(
            &format!(
                "{{ conversations(userId: \"user-1\") {{ total limit offset hasMore \
                 conversations {{ {CONVERSATION_FIELDS} }} }} }}"
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({ "data": { "conversations": {
            "total": 2, "limit": 50, "offset": 0, "hasMore": false,
            "conversations": [newer, older],
        } } })
    );
    let nobody = app
        .graphql(
            "{ conversations(userId: \"nobody\") { total conversations { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        nobody.body,
        json!({ "data": { "conversations": { "total": 0, "conversations": [] } } })
    );
}

#[tokio::test]
async fn delete_conversation_removes_it_with_its_messages() {
    let app = spawn_app_with_clock().await;
    let id = app.create_conversation("user-1").await;
    let sent = app.send_message(&id, "bye").await;
    let reply = app
        .graphql(
            "mutation($id: ID!) { deleteConversation(id: $id) }",
            json!({ "id": id.to_uppercase() }),
        )
        .await;
    assert_eq!(reply.body, json!({ "data": { "deleteConversation": id } }));
    let after = app
        .graphql(
            "query($id: ID!, $m: ID!) { conversation(id: $id) { id } message(id: $m) { id } \
             conversations(userId: \"user-1\") { total } }",
            json!({ "id": id, "m": sent["userMessage"]["id"] }),
        )
        .await;
    assert_eq!(
        after.body,
        json!({ "data": { "conversation": null, "message": null, "conversations": { "total": 0 } } })
    );
}

#[tokio::test]
async fn conversation_operations_on_unknown_ids_are_not_found() {
    let app = spawn_app_with_clock().await;
    for id in [UNKNOWN_ID, "nope"] {
        let delete = app
            .graphql(
                "mutation($id: ID!) { deleteConversation(id: $id) }",
                json!({ "id": id }),
            )
            .await;
        let send = app
            .graphql(
                "mutation($id: ID!) { sendMessage(input: {conversationId: $id, content: \"hi\"}) \
                 { userMessage { id } } }",
                json!({ "id": id }),
            )
            .await;
        let list = app
            .graphql(
                "query($id: ID!) { messages(conversationId: $id) { total } }",
                json!({ "id": id }),
            )
            .await;
        for (reply, field, column) in [
            (delete, "deleteConversation", 22),
            (send, "sendMessage", 22),
            (list, "messages", 19),
        ] {
            assert_eq!(
                reply.body,
                json!({
                    "data": null,
                    "errors": [{
                        "message": "conversation not found",
                        "locations": [{ "line": 1, "column": column }],
                        "path": [field],
                        "extensions": { "code": "NOT_FOUND" },
                    }],
                }),
                "{field} with {id:?}"
            );
        }
    }
}

crate::helpers::postgres::again_on_postgres!(
    metadata_round_trips_exactly_on_conversations_and_messages,
    conversation_messages_take_limit_offset_order_and_role,
    conversations_lists_one_users_conversations_newest_first,
    delete_conversation_removes_it_with_its_messages,
);
