//! Error propagation as the GraphQL spec says (section 6.4.4): an error in a non-null field
//! nulls its nearest nullable parent and nothing else. async-graphql 7.1+ drops the failed field
//! instead; Cargo.toml pins 7.0.17 and these tests guard that choice.

use serde_json::json;

use crate::helpers::spawn_app_with_clock;

fn negative_limit_error(path: serde_json::Value, column: u64) -> serde_json::Value {
    json!({
        "message": "limit must be a non-negative integer",
        "locations": [{ "line": 1, "column": column }],
        "path": path,
        "extensions": {
            "code": "VALIDATION_ERROR",
            "details": { "fields": [{ "field": "limit", "message": "must be a non-negative integer" }] },
        },
    })
}

#[tokio::test]
async fn an_error_in_a_non_null_field_nulls_its_nullable_parent() {
    let app = spawn_app_with_clock().await;
    let id = app.create_conversation("u").await;
    let reply = app
        .graphql(
            "query($id: ID!) { conversation(id: $id) { id messages(limit: -1) { total } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({
            "data": { "conversation": null },
            "errors": [negative_limit_error(json!(["conversation", "messages"]), 46)],
        })
    );
}

#[tokio::test]
async fn sibling_fields_survive_an_error_nulling_its_parent() {
    let app = spawn_app_with_clock().await;
    let id = app.create_conversation("u").await;
    let reply = app
        .graphql(
            "query($id: ID!) { ok: conversation(id: $id) { id } conversation(id: $id) { messages(limit: -1) { total } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({
            "data": { "ok": { "id": id }, "conversation": null },
            "errors": [negative_limit_error(json!(["conversation", "messages"]), 76)],
        })
    );
}

#[tokio::test]
async fn an_error_inside_a_non_null_list_item_propagates_to_data() {
    let app = spawn_app_with_clock().await;
    app.create_conversation("u").await;
    let reply = app
        .graphql(
            "{ conversations(userId: \"u\") { conversations { id messages(limit: -1) { total } } } }",
            json!({}),
        )
        .await;
    // [Conversation!]! inside ConversationPage! inside a non-null root field: nothing nullable
    // stands between the error and `data`.
    assert_eq!(reply.body["data"], json!(null), "{}", reply.body);
    let mut error = reply.only_error().clone();
    // async-graphql 7.0.17's list resolver (resolver_utils/list.rs) rewrites the path of an
    // error raised inside a list item to the item's own path, so `"messages"` is missing from
    // the end (the location still points at `messages`). The GraphQL spec wants the full path.
    assert_eq!(
        error["path"],
        json!(["conversations", "conversations", 0]),
        "if this fails because the path now ends in \"messages\", async-graphql fixed its \
         list error paths: expect the full path here"
    );
    error["path"] = json!(["conversations", "conversations", 0, "messages"]);
    assert_eq!(
        error,
        negative_limit_error(json!(["conversations", "conversations", 0, "messages"]), 51)
    );
}
