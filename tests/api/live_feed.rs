//! Where live events come from: the store as it commits, not the request that wrote. A write
//! whose client went away still has its event delivered, before its call even returns, and
//! holds nothing back, a server
//! started over a store with history delivers its next changes at once, and a backend that
//! lost changes tells every subscriber to resume.

use std::sync::Arc;
use std::time::Duration;

use chatgate::domain::{
    ChatPatch, MessageContent, Metadata, NewChat, NewConversation, NewMessage, Priority, Role,
    Title, UserId,
};
use chatgate::events::{Change, Topic, change_feed};
use chatgate::store::{MemoryStore, Store};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::counting_store::CountingStore;
use crate::helpers::{TestApp, manual_clock, spawn_app_with_store};
use crate::ws_client::{
    Client, LEGACY_WS, TRANSPORT_WS, conversation_topic, graphql_socket, next_data, subscribe,
    wait_for_subscribers,
};

const MESSAGE_ADDED: &str =
    "subscription($c: ID!) { messageAdded(conversationId: $c) { id content } }";

const RESUME: &str = "subscription($c: ID!, $a: ID) \
                      { messageAdded(conversationId: $c, after: $a) { id content } }";

const CHAT_CHANGED: &str = "subscription { chatChanged { kind } }";

/// Starts `POST path` with `body` on a raw connection and returns it, unanswered.
async fn start_post(app: &TestApp, path: &str, body: &str) -> TcpStream {
    let mut stream = TcpStream::connect(app.address).await.expect("connect");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        app.address,
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("the request is sent");
    stream
}

/// A GraphQL subscriber and a `/ws` listener on `conversation`, both live.
async fn listeners(app: &TestApp, conversation: &str) -> (Client, Client) {
    let mut graphql = graphql_socket(app, TRANSPORT_WS).await;
    let variables = json!({"c": conversation});
    subscribe(&mut graphql, TRANSPORT_WS, "m", MESSAGE_ADDED, variables).await;
    let mut joined = Client::open(app, "/ws", None).await;
    joined
        .send(json!({"type": "join", "conversationId": conversation}))
        .await;
    assert_eq!(joined.next().await["type"], "joined");
    wait_for_subscribers(app, conversation_topic(conversation), 2).await;
    (graphql, joined)
}

async fn assert_next_message_is(graphql: &mut Client, joined: &mut Client, content: &str) {
    let data = next_data(graphql, TRANSPORT_WS, "m").await;
    assert_eq!(data["messageAdded"]["content"], content);
    // On /ws a reply's pieces come first (tests/api/assistant_stream.rs checks them).
    let frame = loop {
        let frame = joined.next().await;
        if frame["type"] != "delta" {
            break frame;
        }
    };
    assert_eq!(
        (&frame["type"], &frame["message"]["content"]),
        (&json!("message"), &json!(content))
    );
}

#[tokio::test]
async fn a_request_cancelled_after_its_write_committed_still_delivers_its_event_and_holds_nothing_back()
 {
    let clock = manual_clock();
    let store = Arc::new(CountingStore::new(clock.clone()));
    let app = spawn_app_with_store(store.clone(), clock).await;
    let conversation = app.create_conversation("ada").await;
    let (mut graphql, mut joined) = listeners(&app, &conversation).await;

    let held = store.hold_after_next_append();
    let path = format!("/api/conversations/{conversation}/messages");
    let connection = start_post(&app, &path, r#"{"content": "cut off"}"#).await;
    tokio::time::timeout(Duration::from_secs(10), held.committed.notified())
        .await
        .expect("the write commits");
    // The client goes away while the store call still awaits after its commit. The exchange
    // belongs to the service, so the call is not cancelled; its event is out all the same.
    drop(connection);
    assert_next_message_is(&mut graphql, &mut joined, "cut off").await;
    held.release.notify_one();
    // Its reply follows: the exchange ran on without its client.
    let reply = r#"You said: "cut off" Tell me more, or type "help" to see what I can do."#;
    assert_next_message_is(&mut graphql, &mut joined, reply).await;
    let sent = app.rest_send_message(&conversation, "still here?").await;
    assert_next_message_is(&mut graphql, &mut joined, "still here?").await;
    let reply = sent["assistantMessage"]["content"].as_str().unwrap();
    assert_next_message_is(&mut graphql, &mut joined, reply).await;
}

#[tokio::test]
async fn a_server_started_over_a_store_with_history_delivers_the_next_changes_at_once() {
    let clock = manual_clock();
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let conversation = NewConversation {
        user_id: UserId::parse("ada".into()).unwrap(),
        metadata: Metadata::new(),
    };
    let conversation = store.create_conversation(conversation).await.unwrap().id;
    for n in 0..1_000 {
        let new = NewMessage {
            id: uuid::Uuid::new_v4(),
            role: Role::User,
            content: MessageContent::parse(format!("old {n}")).unwrap(),
            metadata: Metadata::new(),
        };
        store.append_message(conversation, new).await.unwrap();
    }
    let chat = NewChat {
        title: Title::parse("busy".into()).unwrap(),
        description: None,
        active: true,
        priority: Priority::Low,
        user_id: None,
    };
    let chat = store.create_chat(chat).await.unwrap().id;
    for _ in 0..56 {
        store.toggle_chat(chat).await.unwrap();
    }
    let app = spawn_app_with_store(store.clone(), clock).await;

    let conversation = conversation.to_string();
    let (mut graphql, mut joined) = listeners(&app, &conversation).await;
    let mut chats = graphql_socket(&app, TRANSPORT_WS).await;
    let query = "subscription($id: ID) { chatChanged(id: $id) { kind chat { title } } }";
    subscribe(&mut chats, TRANSPORT_WS, "c", query, json!({"id": chat})).await;
    wait_for_subscribers(&app, Topic::Chat(chat), 1).await;

    app.rest_send_message(&conversation, "new").await;
    assert_next_message_is(&mut graphql, &mut joined, "new").await;
    let rename = ChatPatch {
        title: Some(Title::parse("renamed".into()).unwrap()),
        ..Default::default()
    };
    store.update_chat(chat, rename).await.unwrap();
    assert_eq!(
        next_data(&mut chats, TRANSPORT_WS, "c").await,
        json!({"chatChanged": {"kind": "UPDATED", "chat": {"title": "renamed"}}})
    );
}

#[tokio::test]
async fn a_gap_in_the_feed_tells_every_subscriber_to_resume_and_resuming_misses_nothing() {
    let clock = manual_clock();
    let (sink, feed) = change_feed();
    let store = Arc::new(MemoryStore::with_feed(clock.clone(), sink.clone(), feed));
    let app = spawn_app_with_store(store, clock).await;
    let conversation = app.create_conversation("ada").await;
    let (mut graphql, mut joined) = listeners(&app, &conversation).await;
    let mut chats = graphql_socket(&app, LEGACY_WS).await;
    subscribe(&mut chats, LEGACY_WS, "c", CHAT_CHANGED, json!({})).await;
    wait_for_subscribers(&app, Topic::AllChats, 1).await;
    let before = app.rest_send_message(&conversation, "before").await;
    let reply = before["assistantMessage"]["content"].as_str().unwrap();
    assert_next_message_is(&mut graphql, &mut joined, "before").await;
    assert_next_message_is(&mut graphql, &mut joined, reply).await;

    // The backend lost its notifications for a while, and says so.
    sink.send(Change::Gap);
    let column = |query: &str, field: &str| query.find(field).expect("the field") + 1;
    assert_eq!(
        graphql.next().await,
        json!({"id": "m", "type": "next", "payload": {"data": null, "errors": [{
            "message": "fell too far behind and missed messages; resubscribe with `after` to resume",
            "locations": [{"line": 1, "column": column(MESSAGE_ADDED, "messageAdded")}],
            "path": ["messageAdded"],
            "extensions": {"code": "SUBSCRIPTION_LAGGED"},
        }]}})
    );
    assert_eq!(graphql.next().await, json!({"id": "m", "type": "complete"}));
    assert_eq!(
        chats.next().await,
        json!({"id": "c", "type": "data", "payload": {"data": null, "errors": [{
            "message": "fell too far behind and missed chat changes; resubscribe and refetch",
            "locations": [{"line": 1, "column": column(CHAT_CHANGED, "chatChanged")}],
            "path": ["chatChanged"],
            "extensions": {"code": "SUBSCRIPTION_LAGGED"},
        }]}})
    );
    assert_eq!(chats.next().await, json!({"id": "c", "type": "complete"}));
    assert_eq!(
        joined.next().await,
        json!({"type": "error", "conversationId": conversation, "error": {
            "code": "SUBSCRIPTION_LAGGED",
            "message": "fell too far behind and missed messages; join again with `after` to resume",
            "details": {},
        }})
    );
    assert_eq!(
        joined.next().await,
        json!({"type": "left", "conversationId": conversation})
    );

    // Resuming after the last message received brings what was stored since.
    let after = app.rest_send_message(&conversation, "after").await;
    let last_received = &before["assistantMessage"]["id"];
    let variables = json!({"c": conversation, "a": last_received});
    subscribe(&mut graphql, TRANSPORT_WS, "r", RESUME, variables).await;
    for message in [&after["userMessage"], &after["assistantMessage"]] {
        let data = next_data(&mut graphql, TRANSPORT_WS, "r").await;
        assert_eq!(data["messageAdded"]["content"], message["content"]);
    }
}
