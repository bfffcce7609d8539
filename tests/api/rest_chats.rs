//! `/chats…` over REST: every success path, the field rules at their boundaries, partial
//! updates, toggling, deleting and ids.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with_clock};

const T0: &str = "2025-10-04T12:00:00.000Z";

fn id_of(chat: &Value) -> String {
    chat["id"].as_str().expect("id is a string").to_owned()
}

async fn create(app: &TestApp, title: &str) -> String {
    id_of(&app.rest_create_chat(json!({ "title": title })).await)
}

#[tokio::test]
async fn create_chat_answers_201_with_the_whole_stored_chat() {
    let app = spawn_app_with_clock().await;
    let body = json!({
        "title": "  Weekly sync ",
        "description": "notes\nand more",
        "priority": "high",
        "userId": "user-1",
        "active": false
    });
    let chat = app.rest_create_chat(body).await;
    let id = id_of(&chat);
    let expected = json!({
        "id": id,
        "title": "Weekly sync",
        "description": "notes\nand more",
        "active": false,
        "priority": "high",
        "userId": "user-1",
        "createdAt": T0,
        "updatedAt": T0,
    });
    assert_eq!(chat, expected);
    assert_eq!(
        app.get(&format!("/chats/{id}")).await.expect(200),
        &expected
    );
}

#[tokio::test]
async fn create_chat_fills_in_the_defaults_and_null_means_default() {
    let app = spawn_app_with_clock().await;
    for body in [
        json!({"title": "t"}),
        json!({"title": "t", "description": null, "active": null, "priority": null, "userId": null}),
    ] {
        let chat = app.rest_create_chat(body).await;
        assert_eq!(
            chat,
            json!({
                "id": id_of(&chat), "title": "t", "description": null, "active": true,
                "priority": "medium", "userId": null, "createdAt": T0, "updatedAt": T0,
            })
        );
    }
}

#[tokio::test]
async fn title_counts_characters_so_200_multibyte_pass_and_201_fail() {
    let app = spawn_app().await;
    for title in [
        "é".repeat(200),
        "🙂".repeat(200),
        format!("  {}  ", "界".repeat(200)),
    ] {
        let chat = app.rest_create_chat(json!({ "title": title })).await;
        assert_eq!(chat["title"], title.trim());
    }
    for title in ["é".repeat(201), "🙂".repeat(201)] {
        let reply = app.post_json("/chats", &json!({ "title": title })).await;
        assert_eq!(
            reply.expect_fields(),
            json!([{"field": "title", "message": "must be at most 200 characters"}])
        );
    }
}

#[tokio::test]
async fn description_of_1000_characters_passes_and_1001_fails() {
    let app = spawn_app().await;
    let chat = app
        .rest_create_chat(json!({"title": "t", "description": "ü".repeat(1000)}))
        .await;
    assert_eq!(chat["description"], "ü".repeat(1000));
    let reply = app
        .post_json(
            "/chats",
            &json!({"title": "t", "description": "ü".repeat(1001)}),
        )
        .await;
    assert_eq!(
        reply.expect_fields(),
        json!([{"field": "description", "message": "must be at most 1000 characters"}])
    );
}

#[tokio::test]
async fn blank_text_and_control_characters_are_refused_where_the_rules_say() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"title": " \t\u{3000} "}),
            "title",
            "must not be blank",
        ),
        (json!({"title": ""}), "title", "must not be blank"),
        (
            json!({"title": "a\u{7}b"}),
            "title",
            "must not contain control characters",
        ),
        (
            json!({"title": "two\nlines"}),
            "title",
            "must not contain control characters",
        ),
        (
            json!({"title": "t", "description": "esc\u{1b}"}),
            "description",
            "must not contain control characters",
        ),
        (
            json!({"title": "t", "userId": "   "}),
            "userId",
            "must not be blank",
        ),
        (
            json!({"title": "t", "userId": "u\u{0}"}),
            "userId",
            "must not contain control characters",
        ),
    ];
    for (body, field, message) in cases {
        let reply = app.post_json("/chats", &body).await;
        assert_eq!(
            reply.expect_fields(),
            json!([{ "field": field, "message": message }]),
            "{body}"
        );
    }
    let chat = app
        .rest_create_chat(json!({"title": "t", "description": "a\r\n\tb   "}))
        .await;
    assert_eq!(chat["description"], "a\r\n\tb   ");
}

#[tokio::test]
async fn every_bad_field_is_reported_at_once_unknown_fields_last() {
    let app = spawn_app().await;
    let body = json!({
        "title": 5, "description": [], "active": "yes", "priority": "HIGH",
        "userId": true, "colour": "red", "id": "ignored", "createdAt": "ignored",
    });
    let reply = app.post_json("/chats", &body).await;
    assert_eq!(reply.body["error"]["message"], "6 fields are invalid");
    assert_eq!(
        reply.expect_fields(),
        json!([
            {"field": "title", "message": "must be a string"},
            {"field": "description", "message": "must be a string"},
            {"field": "active", "message": "must be a boolean"},
            {"field": "priority", "message": "must be one of low, medium, high"},
            {"field": "userId", "message": "must be a string"},
            {"field": "colour", "message": "is not a known field"},
        ])
    );
}

#[tokio::test]
async fn a_missing_or_null_title_is_required() {
    let app = spawn_app().await;
    for body in [
        json!({}),
        json!({"title": null}),
        json!({"description": "d"}),
    ] {
        let reply = app.post_json("/chats", &body).await;
        assert_eq!(
            reply.expect_fields(),
            json!([{"field": "title", "message": "is required"}])
        );
    }
}

#[tokio::test]
async fn an_unknown_field_alone_is_a_400_naming_it() {
    let app = spawn_app().await;
    let reply = app
        .post_json("/chats", &json!({"title": "t", "status": "open"}))
        .await;
    assert_eq!(
        reply.body["error"]["message"],
        "status is not a known field"
    );
    assert_eq!(
        reply.expect_fields(),
        json!([{"field": "status", "message": "is not a known field"}])
    );
}

#[tokio::test]
async fn put_changes_only_the_fields_present_and_moves_updated_at() {
    let app = spawn_app_with_clock().await;
    let chat = app
        .rest_create_chat(json!({"title": "Plan", "description": "d", "userId": "u"}))
        .await;
    let id = id_of(&chat);
    app.clock().advance_millis(1_500);
    let reply = app
        .put_json(&format!("/chats/{id}"), &json!({"priority": "low"}))
        .await;
    let expected = json!({
        "id": id, "title": "Plan", "description": "d", "active": true, "priority": "low",
        "userId": "u", "createdAt": T0, "updatedAt": "2025-10-04T12:00:01.500Z",
    });
    assert_eq!(reply.expect(200), &expected);
    assert_eq!(
        app.get(&format!("/chats/{id}")).await.expect(200),
        &expected
    );
}

#[tokio::test]
async fn put_can_change_every_writable_field_at_once() {
    let app = spawn_app_with_clock().await;
    let id = create(&app, "Plan").await;
    app.clock().advance_millis(10);
    let body = json!({
        "title": " New ", "description": "new", "active": false, "priority": "high", "userId": "u2"
    });
    let reply = app.put_json(&format!("/chats/{id}"), &body).await;
    assert_eq!(
        reply.expect(200),
        &json!({
            "id": id, "title": "New", "description": "new", "active": false, "priority": "high",
            "userId": "u2", "createdAt": T0, "updatedAt": "2025-10-04T12:00:00.010Z",
        })
    );
}

#[tokio::test]
async fn a_put_that_changes_nothing_keeps_updated_at_and_a_fetched_chat_can_be_sent_back() {
    let app = spawn_app_with_clock().await;
    let chat = app
        .rest_create_chat(json!({"title": "Same", "priority": "high"}))
        .await;
    let path = format!("/chats/{}", id_of(&chat));
    app.clock().advance_millis(60_000);
    // The whole fetched record, read-only fields included, changes nothing.
    assert_eq!(app.put_json(&path, &chat).await.expect(200), &chat);
    assert_eq!(
        app.put_json(&path, &json!({"title": "  Same  ", "active": true}))
            .await
            .expect(200),
        &chat
    );
    assert_eq!(app.put_json(&path, &json!({})).await.expect(200), &chat);
}

#[tokio::test]
async fn put_null_clears_description_and_user_id_but_is_refused_for_the_others() {
    let app = spawn_app_with_clock().await;
    let chat = app
        .rest_create_chat(json!({"title": "t", "description": "d", "userId": "u"}))
        .await;
    let path = format!("/chats/{}", id_of(&chat));
    let cleared = app
        .put_json(&path, &json!({"description": null, "userId": null}))
        .await;
    assert_eq!(cleared.expect(200)["description"], Value::Null);
    assert_eq!(cleared.body["userId"], Value::Null);
    let reply = app
        .put_json(
            &path,
            &json!({"title": null, "active": null, "priority": null}),
        )
        .await;
    assert_eq!(
        reply.expect_fields(),
        json!([
            {"field": "title", "message": "must not be null"},
            {"field": "active", "message": "must not be null"},
            {"field": "priority", "message": "must not be null"},
        ])
    );
    let reply = app
        .put_json(&path, &json!({"title": "", "priority": "urgent"}))
        .await;
    assert_eq!(
        reply.expect_fields(),
        json!([
            {"field": "title", "message": "must not be blank"},
            {"field": "priority", "message": "must be one of low, medium, high"},
        ])
    );
}

#[tokio::test]
async fn toggle_flips_active_each_time_and_needs_no_body() {
    let app = spawn_app_with_clock().await;
    let id = create(&app, "t").await;
    app.clock().advance_millis(5);
    let first = app.post_empty(&format!("/chats/{id}/toggle")).await;
    assert_eq!(first.expect(200)["active"], false);
    assert_eq!(first.body["updatedAt"], "2025-10-04T12:00:00.005Z");
    // Headers do not matter when there is no body.
    let second = app
        .rest(
            app.client
                .post(app.url(&format!("/chats/{id}/toggle")))
                .header("content-type", "text/plain"),
        )
        .await;
    assert_eq!(second.expect(200)["active"], true);
    // Same millisecond: updatedAt still moves forward.
    assert_eq!(second.body["updatedAt"], "2025-10-04T12:00:00.006Z");
    assert_eq!(second.body["createdAt"], T0);
}

#[tokio::test]
async fn delete_answers_204_then_the_chat_is_gone() {
    let app = spawn_app().await;
    let id = create(&app, "t").await;
    let path = format!("/chats/{id}");
    let deleted = app.delete(&path).await;
    assert_eq!(deleted.expect(204), &Value::Null);
    app.delete(&path).await.expect_error(404, "NOT_FOUND");
    app.get(&path).await.expect_error(404, "NOT_FOUND");
    app.put_json(&path, &json!({"title": "x"}))
        .await
        .expect_error(404, "NOT_FOUND");
    app.post_empty(&format!("{path}/toggle"))
        .await
        .expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn uppercase_ids_match_and_answers_use_lowercase() {
    let app = spawn_app().await;
    let id = create(&app, "t").await;
    let upper = id.to_uppercase();
    assert_eq!(
        app.get(&format!("/chats/{upper}")).await.expect(200)["id"],
        id
    );
    let reply = app
        .put_json(&format!("/chats/{upper}"), &json!({"title": "u"}))
        .await;
    assert_eq!(reply.expect(200)["id"], id);
    let reply = app.post_empty(&format!("/chats/{upper}/toggle")).await;
    assert_eq!(reply.expect(200)["id"], id);
    app.delete(&format!("/chats/{upper}")).await.expect(204);
}

#[tokio::test]
async fn malformed_and_unknown_ids_are_not_found_on_every_chat_route() {
    let app = spawn_app().await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let simple = uuid::Uuid::new_v4().simple().to_string();
    for id in ["nope", "123", simple.as_str(), "%FF%FE", unknown.as_str()] {
        let path = format!("/chats/{id}");
        let details = app.get(&path).await.expect_error(404, "NOT_FOUND");
        assert_eq!(details, json!({}));
        app.put_json(&path, &json!({"title": "x"}))
            .await
            .expect_error(404, "NOT_FOUND");
        app.delete(&path).await.expect_error(404, "NOT_FOUND");
        app.post_empty(&format!("{path}/toggle"))
            .await
            .expect_error(404, "NOT_FOUND");
    }
    assert_eq!(
        app.get(&format!("/chats/{unknown}")).await.body,
        json!({"error": {"code": "NOT_FOUND", "message": "chat not found", "details": {}}})
    );
}

crate::helpers::postgres::again_on_postgres!(
    create_chat_answers_201_with_the_whole_stored_chat,
    put_changes_only_the_fields_present_and_moves_updated_at,
    a_put_that_changes_nothing_keeps_updated_at_and_a_fetched_chat_can_be_sent_back,
    put_null_clears_description_and_user_id_but_is_refused_for_the_others,
    toggle_flips_active_each_time_and_needs_no_body,
    delete_answers_204_then_the_chat_is_gone,
    malformed_and_unknown_ids_are_not_found_on_every_chat_route,
);
