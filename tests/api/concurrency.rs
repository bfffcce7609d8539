//! Many clients at once through the real server: no lost update, no duplicate id, every
//! message answered after it is stored, stored order matching `createdAt`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chatgate::domain::{Field, NewMessage};
use futures::future::join_all;
use serde_json::{Value, json};

use crate::counting_store::CountingStore;
use crate::helpers::{TestApp, manual_clock, spawn_app, spawn_app_with_store};

fn str_of(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not a string"))
}

/// Every message of a conversation in stored order (paged, 100 at a time).
async fn all_messages(app: &TestApp, conversation: &str) -> Vec<Value> {
    let mut messages = Vec::new();
    loop {
        let reply = app
            .graphql(
                "query($c: ID!, $o: Int!) { messages(conversationId: $c, offset: $o) \
                 { hasMore messages { id role content createdAt } } }",
                json!({ "c": conversation, "o": messages.len() }),
            )
            .await;
        let page = &reply.data()["messages"];
        messages.extend(page["messages"].as_array().unwrap().iter().cloned());
        if page["hasMore"] == false {
            return messages;
        }
    }
}

#[tokio::test]
async fn parallel_toggles_of_one_chat_lose_no_update() {
    let app = spawn_app().await;
    let id = app.create_chat("contended").await["id"].clone();
    let toggles = (0..200).map(|_| {
        app.graphql(
            "mutation($id: ID!) { toggleChat(id: $id) { active updatedAt } }",
            json!({ "id": id }),
        )
    });
    let mut results: Vec<Value> = join_all(toggles)
        .await
        .iter()
        .map(|reply| reply.data()["toggleChat"].clone())
        .collect();
    let stamps: HashSet<&str> = results.iter().map(|r| str_of(&r["updatedAt"])).collect();
    assert_eq!(stamps.len(), 200, "every toggle has its own updatedAt");
    // In the order the store applied them, the toggles alternate, starting from `true`.
    results.sort_by(|a, b| str_of(&a["updatedAt"]).cmp(str_of(&b["updatedAt"])));
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result["active"], i % 2 == 1, "toggle #{i}: {result}");
    }
    let stored = app
        .service
        .get_chat(str_of(&id))
        .await
        .expect("store answers")
        .expect("chat exists");
    assert!(
        stored.active,
        "an even number of toggles ends where it started"
    );
    assert_eq!(
        stored.updated_at.to_string(),
        str_of(&results[199]["updatedAt"])
    );
}

#[tokio::test]
async fn parallel_creates_give_500_distinct_chats() {
    let app = spawn_app().await;
    let app = &app;
    let creates = (0..500).map(|i| async move { app.create_chat(&format!("chat {i}")).await });
    let created: Vec<Value> = join_all(creates).await;
    let ids: HashSet<String> = created
        .iter()
        .map(|c| str_of(&c["id"]).to_owned())
        .collect();
    assert_eq!(ids.len(), 500);
    let mut listed = Vec::new();
    for offset in (0..500).step_by(100) {
        let reply = app
            .graphql(
                "query($o: Int!) { chats(offset: $o) { total chats { id createdAt } } }",
                json!({ "o": offset }),
            )
            .await;
        assert_eq!(reply.data()["chats"]["total"], 500);
        listed.extend(reply.data()["chats"]["chats"].as_array().unwrap().clone());
    }
    let listed_ids: HashSet<String> = listed.iter().map(|c| str_of(&c["id"]).to_owned()).collect();
    assert_eq!(listed_ids, ids);
    let created_at: Vec<&str> = listed.iter().map(|c| str_of(&c["createdAt"])).collect();
    assert!(
        created_at.windows(2).all(|w| w[0] <= w[1]),
        "creation order is createdAt order"
    );
}

#[tokio::test]
async fn parallel_messages_to_one_conversation_are_all_stored_and_answered_in_order() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("crowd").await;
    let (app, conversation) = (&app, conversation.as_str());
    let sends =
        (0..100).map(|i| async move { app.send_message(conversation, &format!("note {i}")).await });
    let payloads: Vec<Value> = join_all(sends).await;

    let messages = all_messages(app, conversation).await;
    assert_eq!(messages.len(), 200);
    let position: HashMap<&str, usize> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| (str_of(&m["id"]), i))
        .collect();
    assert_eq!(position.len(), 200, "ids are unique");
    for (i, payload) in payloads.iter().enumerate() {
        let (user, reply) = (&payload["userMessage"], &payload["assistantMessage"]);
        assert_eq!(user["content"], format!("note {i}"));
        assert_eq!(
            reply["content"],
            format!("You said: \"note {i}\" Tell me more, or type \"help\" to see what I can do."),
            "each reply answers its own message"
        );
        assert!(
            position[str_of(&user["id"])] < position[str_of(&reply["id"])],
            "the reply to note {i} is stored after it"
        );
    }
    let created_at: Vec<&str> = messages.iter().map(|m| str_of(&m["createdAt"])).collect();
    assert!(
        created_at.windows(2).all(|w| w[0] <= w[1]),
        "stored order is createdAt order: {created_at:?}"
    );
    let count = app
        .graphql(
            "query($c: ID!) { conversation(id: $c) { messageCount } }",
            json!({ "c": conversation }),
        )
        .await;
    assert_eq!(
        count.data(),
        &json!({ "conversation": { "messageCount": 200 } })
    );
}

#[tokio::test]
async fn the_assistant_answers_the_message_it_was_sent_even_when_another_lands_first() {
    let clock = manual_clock();
    let store = Arc::new(CountingStore::new(clock.clone()));
    let app = spawn_app_with_store(store.clone(), clock).await;
    let conversation = app.create_conversation("u").await;
    // Another client's message is stored after ours but before the assistant reads the history.
    let other = NewMessage::parse_user(Field::Value("What time is it?".into()), Field::Absent)
        .expect("a valid message");
    store.interject_before_next_list(conversation.parse().expect("a UUID"), other);
    let sent = app.send_message(&conversation, "I like trains").await;
    assert_eq!(
        sent["assistantMessage"]["content"],
        "You said: \"I like trains\" Tell me more, or type \"help\" to see what I can do."
    );
}
