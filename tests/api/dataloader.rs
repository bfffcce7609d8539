//! Nested fields are batched: a page of N conversations with their messages and each message's
//! conversation costs the same few store calls whatever N is.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;

use crate::counting_store::CountingStore;
use crate::helpers::{TestApp, manual_clock, spawn_app_with_store};

const NESTED_PAGE: &str = "query($n: Int!) { conversations(userId: \"u\", limit: $n) { conversations { \
     id messageCount messages(limit: 2) { total messages { id conversationId conversation { id } } } } } }";

async fn spawn_counting() -> (TestApp, Arc<CountingStore>) {
    let clock = manual_clock();
    let store = Arc::new(CountingStore::new(clock.clone()));
    (spawn_app_with_store(store.clone(), clock).await, store)
}

/// Runs the nested page over `n` conversations, checks every message names its parent, and
/// returns the store calls it cost.
async fn nested_page_calls(
    app: &TestApp,
    store: &CountingStore,
    n: usize,
) -> BTreeMap<&'static str, usize> {
    store.reset();
    let reply = app.graphql(NESTED_PAGE, json!({ "n": n })).await;
    let conversations = reply.data()["conversations"]["conversations"]
        .as_array()
        .expect("a list")
        .clone();
    assert_eq!(conversations.len(), n);
    for conversation in &conversations {
        assert_eq!(conversation["messageCount"], 2);
        assert_eq!(conversation["messages"]["total"], 2);
        for message in conversation["messages"]["messages"].as_array().unwrap() {
            assert_eq!(message["conversationId"], conversation["id"]);
            assert_eq!(message["conversation"], json!({ "id": conversation["id"] }));
        }
    }
    store.calls()
}

#[tokio::test]
async fn a_page_of_conversations_with_nested_messages_costs_constant_store_calls() {
    let (app, store) = spawn_counting().await;
    for _ in 0..50 {
        let id = app.create_conversation("u").await;
        app.send_message(&id, "hi").await;
    }
    let expected = BTreeMap::from([
        ("get_conversations", 1),
        ("list_conversations", 1),
        ("list_messages", 1),
    ]);
    assert_eq!(nested_page_calls(&app, &store, 1).await, expected);
    assert_eq!(nested_page_calls(&app, &store, 5).await, expected);
    assert_eq!(nested_page_calls(&app, &store, 50).await, expected);
}

#[tokio::test]
async fn message_count_needs_no_store_call_of_its_own() {
    let (app, store) = spawn_counting().await;
    for _ in 0..20 {
        app.create_conversation("u").await;
    }
    store.reset();
    let reply = app
        .graphql(
            "{ conversations(userId: \"u\") { conversations { messageCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        reply.data()["conversations"]["conversations"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
    assert_eq!(store.calls(), BTreeMap::from([("list_conversations", 1)]));
}
