//! `/api/conversations…` over REST: create, list, fetch, delete (with its messages), and the
//! same routes under `/api/v1`.

use serde_json::{Value, json};

use crate::helpers::{spawn_app, spawn_app_with_clock};

const T0: &str = "2025-10-04T12:00:00.000Z";

fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("id is a string").to_owned()
}

#[tokio::test]
async fn create_conversation_answers_201_with_message_count_zero() {
    let app = spawn_app_with_clock().await;
    let body =
        json!({"userId": "user123", "metadata": {"source": "web-app", "n": [1, {"x": null}]}});
    let reply = app.post_json("/api/conversations", &body).await;
    let created = reply.expect(201);
    let id = id_of(created);
    let expected = json!({
        "id": id, "userId": "user123", "metadata": {"source": "web-app", "n": [1, {"x": null}]},
        "createdAt": T0, "updatedAt": T0, "messageCount": 0,
    });
    assert_eq!(created, &expected);
    let mut detail = expected.clone();
    detail["messages"] = json!([]);
    assert_eq!(
        app.get(&format!("/api/conversations/{id}"))
            .await
            .expect(200),
        &detail
    );
}

#[tokio::test]
async fn metadata_defaults_to_an_empty_object() {
    let app = spawn_app().await;
    for body in [
        json!({"userId": "u"}),
        json!({"userId": "u", "metadata": null}),
    ] {
        let created = app.post_json("/api/conversations", &body).await;
        assert_eq!(created.expect(201)["metadata"], json!({}));
    }
}

#[tokio::test]
async fn create_conversation_reports_every_bad_field() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({}),
            json!([{"field": "userId", "message": "is required"}]),
        ),
        (
            json!({"userId": null}),
            json!([{"field": "userId", "message": "is required"}]),
        ),
        (
            json!({"userId": " "}),
            json!([{"field": "userId", "message": "must not be blank"}]),
        ),
        (
            json!({"userId": "u".repeat(201)}),
            json!([{"field": "userId", "message": "must be at most 200 characters"}]),
        ),
        (
            json!({"userId": 7, "metadata": [1], "title": "x", "messageCount": 3}),
            json!([
                {"field": "userId", "message": "must be a string"},
                {"field": "metadata", "message": "must be a JSON object"},
                {"field": "title", "message": "is not a known field"},
            ]),
        ),
    ];
    for (body, fields) in cases {
        let reply = app.post_json("/api/conversations", &body).await;
        assert_eq!(reply.expect_fields(), fields, "{body}");
    }
    let ok = app
        .post_json("/api/conversations", &json!({"userId": "u".repeat(200)}))
        .await;
    ok.expect(201);
}

#[tokio::test]
async fn list_conversations_requires_a_user_id() {
    let app = spawn_app().await;
    for (path, message) in [
        ("/api/conversations", "is required"),
        ("/api/conversations?limit=5", "is required"),
        ("/api/conversations?userId=", "must not be blank"),
        ("/api/conversations?userId=%20%20", "must not be blank"),
    ] {
        let reply = app.get(path).await;
        assert_eq!(
            reply.expect_fields(),
            json!([{"field": "userId", "message": message}]),
            "{path}"
        );
    }
}

#[tokio::test]
async fn list_conversations_is_newest_first_with_message_counts() {
    let app = spawn_app_with_clock().await;
    let older = app.rest_create_conversation("u1").await;
    app.clock().advance_millis(1_000);
    let newer = app.rest_create_conversation("u1").await;
    app.rest_create_conversation("someone-else").await;
    app.clock().advance_millis(1_000);
    app.rest_send_message(&id_of(&older), "hello").await;

    let mut older_now = older.clone();
    older_now["messageCount"] = json!(2);
    older_now["updatedAt"] = json!("2025-10-04T12:00:02.001Z");
    let reply = app.get("/api/conversations?userId=u1").await;
    assert_eq!(
        reply.expect(200),
        &json!({
            "conversations": [newer, older_now], "total": 2, "limit": 50, "offset": 0,
            "hasMore": false,
        })
    );
    let asc = app
        .get("/api/conversations?userId=u1&order=asc&limit=1")
        .await;
    assert_eq!(
        asc.expect(200),
        &json!({
            "conversations": [older_now], "total": 2, "limit": 1, "offset": 0, "hasMore": true,
        })
    );
    let past = app.get("/api/conversations?userId=u1&offset=2").await;
    assert_eq!(past.expect(200)["conversations"], json!([]));
    let clamped = app.get("/api/conversations?userId=u1&limit=101").await;
    assert_eq!(clamped.expect(200)["limit"], 100);
}

#[tokio::test]
async fn list_conversations_rejects_bad_parameters_together() {
    let app = spawn_app().await;
    let reply = app
        .get("/api/conversations?limit=1.5&offset=-1&order=ASC")
        .await;
    assert_eq!(
        reply.expect_fields(),
        json!([
            {"field": "userId", "message": "is required"},
            {"field": "limit", "message": "must be a non-negative integer"},
            {"field": "offset", "message": "must be a non-negative integer"},
            {"field": "order", "message": "must be one of asc, desc"},
        ])
    );
}

#[tokio::test]
async fn a_conversation_embeds_its_latest_100_messages_oldest_first() {
    let app = spawn_app().await;
    let id = id_of(&app.rest_create_conversation("u").await);
    for i in 0..51 {
        app.rest_send_message(&id, &format!("message {i}")).await;
    }
    let reply = app.get(&format!("/api/conversations/{id}")).await;
    let body = reply.expect(200);
    assert_eq!(body["messageCount"], 102);
    let messages = body["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 100);
    // The first user message and its reply are the two left out.
    assert_eq!(messages[0]["content"], "message 1");
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[98]["content"], "message 50");
    assert_eq!(messages[99]["role"], "assistant");
    let all = app
        .get(&format!(
            "/api/conversations/{id}/messages?order=desc&limit=100"
        ))
        .await;
    let mut latest: Vec<Value> = all.expect(200)["messages"].as_array().unwrap().clone();
    latest.reverse();
    assert_eq!(messages, &latest);
}

#[tokio::test]
async fn deleting_a_conversation_deletes_its_messages() {
    let app = spawn_app().await;
    let id = id_of(&app.rest_create_conversation("u").await);
    let keep = id_of(&app.rest_create_conversation("u").await);
    let sent = app.rest_send_message(&id, "hello").await;
    let kept = app.rest_send_message(&keep, "hello").await;
    let deleted = app.delete(&format!("/api/conversations/{id}")).await;
    assert_eq!(deleted.expect(204), &Value::Null);

    app.get(&format!("/api/conversations/{id}"))
        .await
        .expect_error(404, "NOT_FOUND");
    app.get(&format!("/api/conversations/{id}/messages"))
        .await
        .expect_error(404, "NOT_FOUND");
    for message in [&sent["userMessage"], &sent["assistantMessage"]] {
        let path = format!("/api/messages/{}", id_of(message));
        app.get(&path).await.expect_error(404, "NOT_FOUND");
    }
    app.delete(&format!("/api/conversations/{id}"))
        .await
        .expect_error(404, "NOT_FOUND");
    app.post_json(
        &format!("/api/conversations/{id}/messages"),
        &json!({"content": "anyone?"}),
    )
    .await
    .expect_error(404, "NOT_FOUND");
    // The other conversation keeps its messages.
    let path = format!("/api/messages/{}", id_of(&kept["userMessage"]));
    app.get(&path).await.expect(200);
    let listed = app.get("/api/conversations?userId=u").await;
    assert_eq!(listed.expect(200)["total"], 1);
}

#[tokio::test]
async fn conversation_ids_match_in_any_case_and_malformed_ones_name_nothing() {
    let app = spawn_app().await;
    let id = id_of(&app.rest_create_conversation("u").await);
    let upper = id.to_uppercase();
    let reply = app.get(&format!("/api/conversations/{upper}")).await;
    assert_eq!(reply.expect(200)["id"], id);
    let sent = app.rest_send_message(&upper, "hi").await;
    assert_eq!(sent["userMessage"]["conversationId"], id);
    for bad in ["x", "1234", "550e8400e29b41d4a716446655440000"] {
        for path in [
            format!("/api/conversations/{bad}"),
            format!("/api/conversations/{bad}/messages"),
            format!("/api/messages/{bad}"),
        ] {
            app.get(&path).await.expect_error(404, "NOT_FOUND");
        }
        app.delete(&format!("/api/conversations/{bad}"))
            .await
            .expect_error(404, "NOT_FOUND");
    }
    app.delete(&format!("/api/conversations/{upper}"))
        .await
        .expect(204);
}

#[tokio::test]
async fn every_chatbot_route_also_answers_under_api_v1() {
    let app = spawn_app_with_clock().await;
    let created = app
        .post_json("/api/v1/conversations", &json!({"userId": "v1"}))
        .await;
    let created = created.expect(201).clone();
    let id = id_of(&created);
    let plain = app.get(&format!("/api/conversations/{id}")).await;
    let v1 = app.get(&format!("/api/v1/conversations/{id}")).await;
    assert_eq!(v1.expect(200), plain.expect(200));

    let sent = app
        .post_json(
            &format!("/api/v1/conversations/{id}/messages"),
            &json!({"content": "hello"}),
        )
        .await;
    let sent = sent.expect(201).clone();
    let message_id = id_of(&sent["userMessage"]);
    for path in [
        "/conversations?userId=v1".to_owned(),
        format!("/conversations/{id}/messages?role=assistant"),
        format!("/messages/{message_id}"),
    ] {
        let plain = app.get(&format!("/api{path}")).await;
        let v1 = app.get(&format!("/api/v1{path}")).await;
        assert_eq!(v1.expect(200), plain.expect(200), "{path}");
    }
    app.get("/api/v1/conversations")
        .await
        .expect_error(400, "VALIDATION_ERROR");
    app.delete(&format!("/api/v1/conversations/{id}"))
        .await
        .expect(204);
    app.get(&format!("/api/v1/messages/{message_id}"))
        .await
        .expect_error(404, "NOT_FOUND");
}

crate::helpers::postgres::again_on_postgres!(
    list_conversations_is_newest_first_with_message_counts,
    a_conversation_embeds_its_latest_100_messages_oldest_first,
    deleting_a_conversation_deletes_its_messages,
);
