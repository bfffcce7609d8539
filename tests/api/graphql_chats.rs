//! Chat sessions over GraphQL: `chats`, `chat`, `createChat`, `updateChat`, `toggleChat`,
//! `deleteChat`, with whole-response assertions under a manual clock.

use serde_json::{Value, json};

use crate::helpers::{CHAT_FIELDS, START, TestApp, at, spawn_app_with_clock};

const UNKNOWN_ID: &str = "7f0c2a4e-4b8e-4d3a-9a52-0d6a3c1e9b11";

async fn create_full_chat(app: &TestApp) -> Value {
    let reply = app
        .graphql(
            &format!(
                "mutation {{ createChat(input: {{title: \"Roadmap\", description: \"Q4 plans\", \
                 priority: HIGH, userId: \"user-7\", active: false}}) {{ {CHAT_FIELDS} }} }}"
            ),
            json!({}),
        )
        .await;
    reply.data()["createChat"].clone()
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("id is a string").to_owned()
}

#[tokio::test]
async fn create_chat_stores_every_field_given() {
    let app = spawn_app_with_clock().await;
    let chat = create_full_chat(&app).await;
    assert_eq!(
        chat,
        json!({
            "id": id_of(&chat),
            "title": "Roadmap",
            "description": "Q4 plans",
            "active": false,
            "priority": "HIGH",
            "userId": "user-7",
            "createdAt": START,
            "updatedAt": START,
        })
    );
    let id = id_of(&chat);
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);
    assert_eq!(id, id.to_lowercase());
}

#[tokio::test]
async fn chat_returns_the_stored_chat() {
    let app = spawn_app_with_clock().await;
    let created = create_full_chat(&app).await;
    let reply = app
        .graphql(
            &format!("query($id: ID!) {{ chat(id: $id) {{ {CHAT_FIELDS} }} }}"),
            json!({ "id": id_of(&created) }),
        )
        .await;
    assert_eq!(reply.body, json!({ "data": { "chat": created } }));
}

#[tokio::test]
async fn chat_is_null_for_unknown_and_malformed_ids() {
    let app = spawn_app_with_clock().await;
    app.create_chat("exists").await;
    let reply = app
        .graphql(
            &format!(
                "{{ unknown: chat(id: \"{UNKNOWN_ID}\") {{ id }} malformed: chat(id: \"not-an-id\") {{ id }} \
                 empty: chat(id: \"\") {{ id }} unhyphenated: chat(id: \"{}\") {{ id }} }}",
                UNKNOWN_ID.replace('-', "")
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({ "data": { "unknown": null, "malformed": null, "empty": null, "unhyphenated": null } })
    );
}

#[tokio::test]
async fn chat_matches_an_uppercase_id_and_answers_it_lowercase() {
    let app = spawn_app_with_clock().await;
    let created = app.create_chat("Case").await;
    let id = id_of(&created);
    let reply = app
        .graphql(
            "query($id: ID!) { chat(id: $id) { id title } }",
            json!({ "id": id.to_uppercase() }),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({ "data": { "chat": { "id": id, "title": "Case" } } })
    );
}

#[tokio::test]
async fn update_chat_changes_only_the_fields_given_and_moves_updated_at() {
    let app = spawn_app_with_clock().await;
    let created = create_full_chat(&app).await;
    app.clock().advance_millis(1_500);
    let reply = app
        .graphql(
            &format!(
                "mutation($id: ID!) {{ updateChat(id: $id, input: {{title: \"  Roadmap v2 \", \
                 priority: LOW}}) {{ {CHAT_FIELDS} }} }}"
            ),
            json!({ "id": id_of(&created) }),
        )
        .await;
    let expected = json!({
        "id": id_of(&created),
        "title": "Roadmap v2",
        "description": "Q4 plans",
        "active": false,
        "priority": "LOW",
        "userId": "user-7",
        "createdAt": START,
        "updatedAt": at("12:00:01.500"),
    });
    assert_eq!(reply.body, json!({ "data": { "updateChat": expected } }));
    let read = app
        .graphql(
            &format!("query($id: ID!) {{ chat(id: $id) {{ {CHAT_FIELDS} }} }}"),
            json!({ "id": id_of(&created) }),
        )
        .await;
    assert_eq!(read.body, json!({ "data": { "chat": expected } }));
}

#[tokio::test]
async fn update_chat_with_null_clears_description_and_user_id() {
    let app = spawn_app_with_clock().await;
    let created = create_full_chat(&app).await;
    let reply = app
        .graphql(
            "mutation($id: ID!) { updateChat(id: $id, input: {description: null, userId: null, \
             active: true}) { description userId active title priority updatedAt } }",
            json!({ "id": id_of(&created) }),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({ "data": { "updateChat": {
            "description": null,
            "userId": null,
            "active": true,
            "title": "Roadmap",
            "priority": "HIGH",
            "updatedAt": at("12:00:00.001"),
        } } })
    );
}

#[tokio::test]
async fn update_chat_stores_an_empty_description_as_sent() {
    let app = spawn_app_with_clock().await;
    let created = create_full_chat(&app).await;
    let reply = app
        .graphql(
            "mutation($id: ID!) { updateChat(id: $id, input: {description: \"\"}) { description } }",
            json!({ "id": id_of(&created) }),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({ "data": { "updateChat": { "description": "" } } })
    );
}

#[tokio::test]
async fn toggle_chat_flips_active_each_time() {
    let app = spawn_app_with_clock().await;
    let id = id_of(&app.create_chat("Toggle me").await);
    let toggle = "mutation($id: ID!) { toggleChat(id: $id) { id active createdAt updatedAt } }";
    let first = app.graphql(toggle, json!({ "id": id })).await;
    assert_eq!(
        first.body,
        json!({ "data": { "toggleChat": {
            "id": id, "active": false, "createdAt": START, "updatedAt": at("12:00:00.001"),
        } } })
    );
    app.clock().advance_millis(60_000);
    let second = app.graphql(toggle, json!({ "id": id })).await;
    assert_eq!(
        second.body,
        json!({ "data": { "toggleChat": {
            "id": id, "active": true, "createdAt": START, "updatedAt": at("12:01:00.000"),
        } } })
    );
}

#[tokio::test]
async fn delete_chat_returns_the_id_and_forgets_the_chat() {
    let app = spawn_app_with_clock().await;
    let keep = id_of(&app.create_chat("Keep").await);
    let gone = id_of(&app.create_chat("Gone").await);
    let reply = app
        .graphql(
            "mutation($id: ID!) { deleteChat(id: $id) }",
            json!({ "id": gone.to_uppercase() }),
        )
        .await;
    assert_eq!(reply.body, json!({ "data": { "deleteChat": gone } }));
    let after = app
        .graphql(
            "query($id: ID!) { chat(id: $id) { id } chats { total chats { id } } }",
            json!({ "id": gone }),
        )
        .await;
    assert_eq!(
        after.body,
        json!({ "data": { "chat": null, "chats": { "total": 1, "chats": [{ "id": keep }] } } })
    );
}

/// The whole answer to a mutation `field` (at column 22 of a one-line document starting
/// `mutation($id: ID!) { `) that failed
/// with NOT_FOUND for `resource`.
fn not_found(field: &str, resource: &str) -> Value {
    json!({
        "data": null,
        "errors": [{
            "message": format!("{resource} not found"),
            "locations": [{ "line": 1, "column": 22 }],
            "path": [field],
            "extensions": { "code": "NOT_FOUND" },
        }],
    })
}

#[tokio::test]
async fn chat_mutations_on_unknown_or_malformed_ids_are_not_found() {
    let app = spawn_app_with_clock().await;
    for id in [UNKNOWN_ID, "not-an-id", ""] {
        let update = app
            .graphql(
                "mutation($id: ID!) { updateChat(id: $id, input: {title: \"x\"}) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(update.body, not_found("updateChat", "chat"), "{id:?}");
        let toggle = app
            .graphql(
                "mutation($id: ID!) { toggleChat(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(toggle.body, not_found("toggleChat", "chat"), "{id:?}");
        let delete = app
            .graphql(
                "mutation($id: ID!) { deleteChat(id: $id) }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(delete.body, not_found("deleteChat", "chat"), "{id:?}");
    }
}

#[tokio::test]
async fn deleting_a_chat_twice_is_not_found_the_second_time() {
    let app = spawn_app_with_clock().await;
    let id = id_of(&app.create_chat("Once").await);
    let delete = "mutation($id: ID!) { deleteChat(id: $id) }";
    assert_eq!(
        app.graphql(delete, json!({ "id": id })).await.body,
        json!({ "data": { "deleteChat": id } })
    );
    assert_eq!(
        app.graphql(delete, json!({ "id": id })).await.body,
        not_found("deleteChat", "chat")
    );
}

#[tokio::test]
async fn chat_mutations_match_uppercase_ids_and_answer_lowercase() {
    let app = spawn_app_with_clock().await;
    let id = id_of(&app.create_chat("Upper").await);
    let upper = id.to_uppercase();
    let reply = app
        .graphql(
            "mutation($id: ID!) { u: updateChat(id: $id, input: {title: \"Renamed\"}) { id title } \
             t: toggleChat(id: $id) { id active } }",
            json!({ "id": upper }),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({ "data": {
            "u": { "id": id, "title": "Renamed" },
            "t": { "id": id, "active": false },
        } })
    );
}

#[tokio::test]
async fn chats_lists_every_chat_with_all_fields() {
    let app = spawn_app_with_clock().await;
    let first = app.create_chat("First").await;
    app.clock().advance_millis(1);
    let second = create_full_chat(&app).await;
    let reply = app
        .graphql(
            &format!("{{ chats {{ total limit offset hasMore chats {{ {CHAT_FIELDS} }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({ "data": { "chats": {
            "total": 2, "limit": 100, "offset": 0, "hasMore": false,
            "chats": [first, second],
        } } })
    );
}

crate::helpers::postgres::again_on_postgres!(
    update_chat_changes_only_the_fields_given_and_moves_updated_at,
    update_chat_with_null_clears_description_and_user_id,
    toggle_chat_flips_active_each_time,
    delete_chat_returns_the_id_and_forgets_the_chat,
    chats_lists_every_chat_with_all_fields,
);
