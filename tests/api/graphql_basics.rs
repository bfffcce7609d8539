//! Smoke checks that the GraphQL endpoint answers queries and mutations end to end.

use serde_json::json;

use crate::helpers::spawn_app_with_clock;

#[tokio::test]
async fn create_chat_returns_the_stored_chat_with_contract_timestamps() {
    let app = spawn_app_with_clock().await;
    let chat = app.create_chat("  Weekly sync  ").await;
    let id = chat["id"].as_str().unwrap();
    assert_eq!(
        chat,
        json!({
            "id": id,
            "title": "Weekly sync",
            "description": null,
            "active": true,
            "priority": "MEDIUM",
            "userId": null,
            "createdAt": "2025-10-04T12:00:00.000Z",
            "updatedAt": "2025-10-04T12:00:00.000Z",
        })
    );
    let reply = app
        .graphql(
            "query($id: ID!) { chat(id: $id) { id title } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        reply.data(),
        &json!({ "chat": { "id": id, "title": "Weekly sync" } })
    );
}
