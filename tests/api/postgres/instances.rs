//! Several servers on one database: a change made through one reaches live subscribers of the
//! other, a subscriber resumes from a message another instance stored, and a lost notification
//! connection reaches subscribers as `SUBSCRIPTION_LAGGED`.

use std::time::Duration;

use chatgate::events::{Change, LiveItem, LiveStream, Topic};
use futures::StreamExt;
use serde_json::json;

use super::schema_or_skip;
use super::server::{proxy_to, spawn_on, spawn_through};
use crate::helpers::TestApp;
use crate::ws_client::{
    Client, TRANSPORT_WS, graphql_socket, next_data, subscribe, wait_for_subscribers,
};

const CHAT_CHANGED: &str = "subscription { chatChanged { kind chat { id title } } }";

async fn join(app: &TestApp, conversation: &str) -> Client {
    let mut client = Client::open(app, "/ws", None).await;
    client
        .send(json!({"type": "join", "conversationId": conversation}))
        .await;
    assert_eq!(
        client.next().await,
        json!({"type": "joined", "conversationId": conversation})
    );
    client
}

/// The next `/ws` frame that is not a piece of a reply being written.
async fn next_stored(client: &mut Client) -> serde_json::Value {
    loop {
        let frame = client.next().await;
        if frame["type"] != "delta" {
            return frame;
        }
    }
}

async fn watch_chats(app: &TestApp) -> Client {
    let mut client = graphql_socket(app, TRANSPORT_WS).await;
    subscribe(&mut client, TRANSPORT_WS, "c", CHAT_CHANGED, json!({})).await;
    wait_for_subscribers(app, Topic::AllChats, 1).await;
    client
}

#[tokio::test]
async fn a_post_on_one_instance_reaches_subscribers_connected_to_another() {
    let schema = schema_or_skip!();
    let (here, there) = (spawn_on(&schema).await, spawn_on(&schema).await);
    let conversation = here.create_conversation("ann").await;
    let mut joined = join(&here, &conversation).await;
    let mut chats = watch_chats(&here).await;

    let sent = there
        .rest_send_message(&conversation, "posted elsewhere")
        .await;
    for message in [&sent["userMessage"], &sent["assistantMessage"]] {
        assert_eq!(
            next_stored(&mut joined).await,
            json!({"type": "message", "message": message})
        );
    }
    let chat = there
        .rest_create_chat(json!({"title": "made elsewhere"}))
        .await;
    assert_eq!(
        next_data(&mut chats, TRANSPORT_WS, "c").await,
        json!({"chatChanged": {"kind": "CREATED", "chat": {"id": chat["id"], "title": "made elsewhere"}}})
    );
}

/// The next item of `live`, failing the test after 10 s.
async fn next_item(live: &mut LiveStream) -> LiveItem {
    tokio::time::timeout(Duration::from_secs(10), live.next())
        .await
        .expect("an item within 10 s")
        .expect("the stream goes on")
}

#[tokio::test]
async fn a_subscriber_resumes_after_a_message_another_instance_stored() {
    let schema = schema_or_skip!();
    let (here, there) = (spawn_on(&schema).await, spawn_on(&schema).await);
    let conversation = there.create_conversation("ann").await;
    let mut stored = Vec::new();
    for text in ["one", "two"] {
        let sent = there.rest_send_message(&conversation, text).await;
        stored.extend([
            sent["userMessage"].clone(),
            sent["assistantMessage"].clone(),
        ]);
    }
    // Resume on this instance after the second message, as a subscriber that lagged would.
    let id = conversation.parse().expect("a UUID");
    let rx = here.service.feed().subscribe(Topic::Conversation(id));
    let store = here.service.store().clone();
    let mut live = LiveStream::conversation(rx, store, id, 2, true);
    let later = there.rest_send_message(&conversation, "three").await;
    stored.extend([
        later["userMessage"].clone(),
        later["assistantMessage"].clone(),
    ]);
    for expected in &stored[2..] {
        let message = loop {
            let LiveItem::Event(change) = next_item(&mut live).await else {
                panic!("a message, in order, without gap or duplicate");
            };
            match &*change {
                Change::MessageAdded(message) => break message.clone(),
                // Pieces of a reply being written come live, before the reply.
                change if change.is_transient() => continue,
                change => panic!("a message, got {change:?}"),
            }
        };
        assert_eq!(message.id.to_string(), expected["id"].as_str().unwrap());
    }
}

#[tokio::test]
async fn subscribers_are_told_to_resume_when_the_notification_connection_was_lost() {
    let schema = schema_or_skip!();
    let proxy = proxy_to(&schema).await;
    let app = spawn_through(&schema, &proxy).await;
    let conversation = app.create_conversation("ann").await;
    let mut joined = join(&app, &conversation).await;
    let mut chats = watch_chats(&app).await;

    proxy.cut();
    proxy.restore();
    let lagged = chats.next().await;
    assert_eq!(
        lagged["payload"]["errors"][0]["extensions"]["code"],
        "SUBSCRIPTION_LAGGED"
    );
    assert_eq!(chats.next().await, json!({"id": "c", "type": "complete"}));
    let error = joined.next().await;
    assert_eq!(
        (&error["type"], &error["error"]["code"]),
        (&json!("error"), &json!("SUBSCRIPTION_LAGGED"))
    );

    // Joining again works, and hears what is posted from now on.
    let mut again = join(&app, &conversation).await;
    let sent = app.rest_send_message(&conversation, "after the gap").await;
    assert_eq!(
        again.next().await,
        json!({"type": "message", "message": sent["userMessage"]})
    );
}
