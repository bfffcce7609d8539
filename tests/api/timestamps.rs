//! Timestamps (docs/api.md, "Records"): `updatedAt` moves forward by at least 1 ms on
//! every change, never on a no-op; `createdAt` never moves; every `DateTime` renders
//! `…T12:00:00.000Z`.

use serde_json::{Value, json};

use crate::helpers::{CHAT_FIELDS, START, at, spawn_app, spawn_app_with_clock};

const UPDATE: &str = "mutation($id: ID!, $i: UpdateChatInput!) { updateChat(id: $id, input: $i) \
                      { title active createdAt updatedAt } }";
const TOGGLE: &str = "mutation($id: ID!) { toggleChat(id: $id) { createdAt updatedAt } }";

#[tokio::test]
async fn updated_at_moves_a_millisecond_per_change_when_the_clock_stands_still() {
    let app = spawn_app_with_clock().await;
    let id = app.create_chat("t0").await["id"].clone();
    let mut stamps = Vec::new();
    for i in 1..=3 {
        let reply = app
            .graphql(
                UPDATE,
                json!({ "id": id, "i": { "title": format!("t{i}") } }),
            )
            .await;
        stamps.push(reply.data()["updateChat"].clone());
        let reply = app.graphql(TOGGLE, json!({ "id": id })).await;
        stamps.push(reply.data()["toggleChat"].clone());
    }
    let updated: Vec<&Value> = stamps.iter().map(|s| &s["updatedAt"]).collect();
    assert_eq!(
        updated,
        [".001", ".002", ".003", ".004", ".005", ".006"]
            .map(|ms| json!(at(&format!("12:00:00{ms}"))))
            .iter()
            .collect::<Vec<_>>()
    );
    assert!(stamps.iter().all(|s| s["createdAt"] == START), "{stamps:?}");
}

#[tokio::test]
async fn updated_at_follows_the_clock_when_it_moves_ahead() {
    let app = spawn_app_with_clock().await;
    let id = app.create_chat("t").await["id"].clone();
    app.clock().advance_millis(3_600_007);
    let reply = app.graphql(TOGGLE, json!({ "id": id })).await;
    assert_eq!(
        reply.data()["toggleChat"],
        json!({ "createdAt": START, "updatedAt": at("13:00:00.007") })
    );
}

#[tokio::test]
async fn a_no_op_update_keeps_updated_at() {
    let app = spawn_app_with_clock().await;
    let chat = app.create_chat("Same").await;
    let id = chat["id"].clone();
    app.clock().advance_millis(5_000);
    for input in [
        json!({}),
        json!({ "title": "Same" }),
        json!({ "title": "  Same  ", "active": true, "priority": "MEDIUM", "description": null, "userId": null }),
    ] {
        let reply = app
            .graphql(
                &format!("mutation($id: ID!, $i: UpdateChatInput!) {{ updateChat(id: $id, input: $i) {{ {CHAT_FIELDS} }} }}"),
                json!({ "id": id, "i": input }),
            )
            .await;
        assert_eq!(reply.data()["updateChat"], chat, "{input}");
    }
    let changed = app
        .graphql(UPDATE, json!({ "id": id, "i": { "title": "Other" } }))
        .await;
    assert_eq!(
        changed.data()["updateChat"]["updatedAt"],
        at("12:00:05.000")
    );
}

#[tokio::test]
async fn sending_a_message_moves_the_conversations_updated_at_but_not_created_at() {
    let app = spawn_app_with_clock().await;
    let conversation = app.create_conversation("u").await;
    app.clock().advance_millis(5_000);
    let sent = app.send_message(&conversation, "hi").await;
    assert_eq!(
        (
            &sent["userMessage"]["createdAt"],
            &sent["assistantMessage"]["createdAt"]
        ),
        (&json!(at("12:00:05.000")), &json!(at("12:00:05.000")))
    );
    let reply = app
        .graphql(
            "query($c: ID!) { conversation(id: $c) { createdAt updatedAt messageCount } }",
            json!({ "c": conversation }),
        )
        .await;
    // The user's message moves it to the clock's time, the reply one millisecond further.
    assert_eq!(
        reply.data()["conversation"],
        json!({ "createdAt": START, "updatedAt": at("12:00:05.001"), "messageCount": 2 })
    );
}

/// Whether `value` is a `DateTime` as the contract writes it: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn is_contract_date_time(value: &Value) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    let shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    text.len() == shape.len()
        && text.chars().zip(shape.chars()).all(|(c, s)| match s {
            'd' => c.is_ascii_digit(),
            _ => c == s,
        })
        && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

#[tokio::test]
async fn every_date_time_renders_with_milliseconds_and_z_on_the_system_clock() {
    let app = spawn_app().await;
    let chat = app.create_chat("now").await;
    let conversation = app.create_conversation("u").await;
    let sent = app.send_message(&conversation, "hi").await;
    let reply = app
        .graphql(
            "query($c: ID!) { conversation(id: $c) { createdAt updatedAt messages { messages { createdAt } } } }",
            json!({ "c": conversation }),
        )
        .await;
    let read = &reply.data()["conversation"];
    let values = [
        &chat["createdAt"],
        &chat["updatedAt"],
        &sent["userMessage"]["createdAt"],
        &sent["assistantMessage"]["createdAt"],
        &read["createdAt"],
        &read["updatedAt"],
        &read["messages"]["messages"][0]["createdAt"],
        &read["messages"]["messages"][1]["createdAt"],
    ];
    for value in values {
        assert!(is_contract_date_time(value), "{value}");
    }
}

#[tokio::test]
async fn milliseconds_are_always_three_digits() {
    let app = spawn_app_with_clock().await;
    app.clock().advance_millis(7);
    let chat = app.create_chat("t").await;
    assert_eq!(chat["createdAt"], at("12:00:00.007"));
    app.clock().advance_millis(93);
    let toggled = app.graphql(TOGGLE, json!({ "id": chat["id"] })).await;
    assert_eq!(
        toggled.data()["toggleChat"]["updatedAt"],
        at("12:00:00.100")
    );
}

crate::helpers::postgres::again_on_postgres!(
    updated_at_moves_a_millisecond_per_change_when_the_clock_stands_still,
    a_no_op_update_keeps_updated_at,
    sending_a_message_moves_the_conversations_updated_at_but_not_created_at,
);
