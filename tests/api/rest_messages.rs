//! Messages over REST: posting (with the assistant's reply), listing with order, role and
//! paging, and fetching one.

use serde_json::{Value, json};

use crate::helpers::{spawn_app, spawn_app_with_clock};

const T0: &str = "2025-10-04T12:00:00.000Z";

fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("id is a string").to_owned()
}

fn contents(body: &Value) -> Vec<String> {
    body["messages"]
        .as_array()
        .expect("messages is a list")
        .iter()
        .map(|m| m["content"].as_str().expect("content").to_owned())
        .collect()
}

#[tokio::test]
async fn posting_a_message_stores_it_and_the_assistant_reply() {
    let app = spawn_app_with_clock().await;
    let conversation = id_of(&app.rest_create_conversation("u").await);
    let reply = app
        .post_json(
            &format!("/api/conversations/{conversation}/messages"),
            &json!({"content": "hello", "metadata": {"client": "cli"}}),
        )
        .await;
    let body = reply.expect(201).clone();
    let user_id = id_of(&body["userMessage"]);
    let assistant_id = id_of(&body["assistantMessage"]);
    let user = json!({
        "id": user_id, "conversationId": conversation, "role": "user", "content": "hello",
        "metadata": {"client": "cli"}, "createdAt": T0,
    });
    let assistant = json!({
        "id": assistant_id, "conversationId": conversation, "role": "assistant",
        "content": "Hello! I'm the chatgate assistant. Ask me the time or the date, or type \"help\" to see what I can do.",
        "metadata": {}, "createdAt": T0,
    });
    assert_eq!(
        body,
        json!({"userMessage": user, "assistantMessage": assistant})
    );
    assert_eq!(
        app.get(&format!("/api/messages/{user_id}"))
            .await
            .expect(200),
        &user
    );
    assert_eq!(
        app.get(&format!("/api/messages/{}", assistant_id.to_uppercase()))
            .await
            .expect(200),
        &assistant
    );
    let detail = app.get(&format!("/api/conversations/{conversation}")).await;
    let detail = detail.expect(200);
    assert_eq!(detail["messages"], json!([user, assistant]));
    assert_eq!(detail["messageCount"], 2);
    // Adding messages moved the conversation's updatedAt, never its createdAt.
    assert_eq!(detail["createdAt"], T0);
    assert_eq!(detail["updatedAt"], "2025-10-04T12:00:00.002Z");
}

#[tokio::test]
async fn message_content_rules_hold_at_their_boundaries() {
    let app = spawn_app().await;
    let conversation = id_of(&app.rest_create_conversation("u").await);
    let path = format!("/api/conversations/{conversation}/messages");
    let long = "🙂".repeat(32_000);
    let sent = app.post_json(&path, &json!({ "content": long })).await;
    assert_eq!(sent.expect(201)["userMessage"]["content"], long);
    let kept = app
        .post_json(&path, &json!({"content": "  line\r\n\tbreaks  "}))
        .await;
    assert_eq!(
        kept.expect(201)["userMessage"]["content"],
        "  line\r\n\tbreaks  "
    );
    let cases = [
        (json!({}), "content", "is required"),
        (json!({"content": null}), "content", "is required"),
        (json!({"content": " \n\t "}), "content", "must not be blank"),
        (
            json!({"content": "🙂".repeat(32_001)}),
            "content",
            "must be at most 32000 characters",
        ),
        (
            json!({"content": "bell\u{7}"}),
            "content",
            "must not contain control characters",
        ),
        (json!({"content": 42}), "content", "must be a string"),
        (
            json!({"content": "hi", "metadata": "x"}),
            "metadata",
            "must be a JSON object",
        ),
        (
            json!({"content": "hi", "role": "assistant"}),
            "role",
            "is not a known field",
        ),
    ];
    for (body, field, message) in cases {
        let reply = app.post_json(&path, &body).await;
        assert_eq!(
            reply.expect_fields(),
            json!([{ "field": field, "message": message }]),
            "{body}"
        );
    }
    let listed = app.get(&format!("{path}?limit=0")).await;
    assert_eq!(listed.expect(200)["total"], 4);
}

#[tokio::test]
async fn posting_to_an_unknown_conversation_is_not_found_after_the_body_is_valid() {
    let app = spawn_app().await;
    let path = format!("/api/conversations/{}/messages", uuid::Uuid::new_v4());
    let reply = app.post_json(&path, &json!({"content": "hi"})).await;
    assert_eq!(
        reply.body,
        json!({"error": {"code": "NOT_FOUND", "message": "conversation not found", "details": {}}})
    );
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn messages_list_oldest_first_filters_by_role_and_pages() {
    let app = spawn_app().await;
    let conversation = id_of(&app.rest_create_conversation("u").await);
    app.rest_send_message(&conversation, "one").await;
    app.rest_send_message(&conversation, "two").await;
    let base = format!("/api/conversations/{conversation}/messages");

    let all = app.get(&base).await;
    let all = all.expect(200);
    assert_eq!(
        (
            &all["total"],
            &all["limit"],
            &all["offset"],
            &all["hasMore"]
        ),
        (&json!(4), &json!(100), &json!(0), &json!(false))
    );
    let roles: Vec<&str> = all["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);

    let users = app.get(&format!("{base}?role=user")).await;
    assert_eq!(contents(users.expect(200)), ["one", "two"]);
    let newest_user = app
        .get(&format!("{base}?role=user&order=desc&limit=1"))
        .await;
    let newest_user = newest_user.expect(200);
    assert_eq!(contents(newest_user), ["two"]);
    assert_eq!(
        (&newest_user["total"], &newest_user["hasMore"]),
        (&json!(2), &json!(true))
    );
    let assistants = app.get(&format!("{base}?role=assistant&offset=1")).await;
    assert_eq!(
        assistants.expect(200)["messages"].as_array().unwrap().len(),
        1
    );
    let past = app.get(&format!("{base}?offset=10")).await;
    assert_eq!(
        past.expect(200),
        &json!({"messages": [], "total": 4, "limit": 100, "offset": 10, "hasMore": false})
    );
    let clamped = app.get(&format!("{base}?limit=1000")).await;
    assert_eq!(clamped.expect(200)["limit"], 100);
}

#[tokio::test]
async fn messages_list_rejects_bad_parameters() {
    let app = spawn_app().await;
    let conversation = id_of(&app.rest_create_conversation("u").await);
    let base = format!("/api/conversations/{conversation}/messages");
    let reply = app
        .get(&format!("{base}?role=USER&order=Desc&limit=-5&offset=1.0"))
        .await;
    assert_eq!(
        reply.expect_fields(),
        json!([
            {"field": "limit", "message": "must be a non-negative integer"},
            {"field": "offset", "message": "must be a non-negative integer"},
            {"field": "order", "message": "must be one of asc, desc"},
            {"field": "role", "message": "must be one of user, assistant"},
        ])
    );
    let unknown = format!("/api/conversations/{}/messages", uuid::Uuid::new_v4());
    app.get(&unknown).await.expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn an_unknown_message_is_not_found() {
    let app = spawn_app().await;
    let reply = app
        .get(&format!("/api/messages/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(
        reply.body,
        json!({"error": {"code": "NOT_FOUND", "message": "message not found", "details": {}}})
    );
}

#[tokio::test]
async fn a_message_sent_over_graphql_reads_the_same_over_rest() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("u").await;
    let sent = app.send_message(&conversation, "what can you do").await;
    let listed = app
        .get(&format!("/api/conversations/{conversation}/messages"))
        .await;
    let listed = listed.expect(200)["messages"].clone();
    for (rest, graphql) in listed
        .as_array()
        .unwrap()
        .iter()
        .zip([&sent["userMessage"], &sent["assistantMessage"]])
    {
        assert_eq!(rest["id"], graphql["id"]);
        assert_eq!(rest["content"], graphql["content"]);
        assert_eq!(rest["createdAt"], graphql["createdAt"]);
        assert_eq!(
            rest["role"].as_str().unwrap().to_uppercase(),
            graphql["role"].as_str().unwrap()
        );
        assert_eq!(rest["conversationId"], conversation);
    }
}

crate::helpers::postgres::again_on_postgres!(
    posting_a_message_stores_it_and_the_assistant_reply,
    messages_list_oldest_first_filters_by_role_and_pages,
    a_message_sent_over_graphql_reads_the_same_over_rest,
);
