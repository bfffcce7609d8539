//! Every input rule of docs/api.md ("Records") through GraphQL: `VALIDATION_ERROR` with
//! `extensions.details.fields` naming each offending field (or argument).

use serde_json::{Value, json};

use crate::helpers::{GraphqlReply, TestApp, spawn_app_with_clock};

const CREATE_CHAT: &str = "mutation($input: CreateChatInput!) { createChat(input: $input) \
                           { title description userId } }";
const UPDATE_CHAT: &str = "mutation($id: ID!, $input: UpdateChatInput!) { updateChat(id: $id, \
                           input: $input) { title description active priority userId } }";
const CREATE_CONVERSATION: &str = "mutation($u: String!, $m: JSON) { createConversation(input: \
                                   {userId: $u, metadata: $m}) { userId metadata } }";
const SEND_MESSAGE: &str = "mutation($c: ID!, $t: String!, $m: JSON) { sendMessage(input: \
                            {conversationId: $c, content: $t, metadata: $m}) { userMessage { content } } }";

/// Asserts a single `VALIDATION_ERROR` on `path` listing exactly `fields` (pairs of field and
/// message), with no data.
fn assert_invalid(reply: &GraphqlReply, path: &str, fields: &[(&str, &str)]) {
    let error = reply.only_error();
    let message = match fields {
        [(field, message)] => format!("{field} {message}"),
        _ => format!("{} fields are invalid", fields.len()),
    };
    let fields: Vec<Value> = fields
        .iter()
        .map(|(field, message)| json!({ "field": field, "message": message }))
        .collect();
    assert_eq!(reply.body["data"], Value::Null, "{}", reply.body);
    assert_eq!(
        (&error["message"], &error["path"], &error["extensions"]),
        (
            &json!(message),
            &json!([path]),
            &json!({ "code": "VALIDATION_ERROR", "details": { "fields": fields } })
        ),
        "{}",
        reply.body
    );
}

async fn create_chat(app: &TestApp, input: Value) -> GraphqlReply {
    app.graphql(CREATE_CHAT, json!({ "input": input })).await
}

#[tokio::test]
async fn title_counts_characters_not_bytes() {
    let app = spawn_app_with_clock().await;
    let two_hundred = "é🙂".repeat(100);
    let ok = create_chat(&app, json!({ "title": format!("  {two_hundred}\u{3000}") })).await;
    assert_eq!(ok.data()["createChat"]["title"], two_hundred);
    let too_long = create_chat(&app, json!({ "title": format!("{two_hundred}x") })).await;
    assert_invalid(
        &too_long,
        "createChat",
        &[("title", "must be at most 200 characters")],
    );
}

#[tokio::test]
async fn blank_titles_are_refused() {
    let app = spawn_app_with_clock().await;
    for title in ["", "   ", " \u{3000}\u{2003} "] {
        let reply = create_chat(&app, json!({ "title": title })).await;
        assert_invalid(&reply, "createChat", &[("title", "must not be blank")]);
    }
}

#[tokio::test]
async fn titles_allow_no_control_characters_at_all() {
    let app = spawn_app_with_clock().await;
    for title in [
        "a\nb",
        "a\rb",
        "a\tb",
        "a\u{0}b",
        "bell\u{7}",
        "del\u{7f}",
        "c1\u{85}",
    ] {
        let reply = create_chat(&app, json!({ "title": title })).await;
        assert_invalid(
            &reply,
            "createChat",
            &[("title", "must not contain control characters")],
        );
    }
}

#[tokio::test]
async fn descriptions_and_content_allow_only_line_breaks_and_tabs_among_controls() {
    let app = spawn_app_with_clock().await;
    let text = "line one\r\nline two\n\tindented ";
    let ok = create_chat(&app, json!({ "title": "t", "description": text })).await;
    assert_eq!(ok.data()["createChat"]["description"], text);
    let bad = create_chat(&app, json!({ "title": "t", "description": "esc\u{1b}[0m" })).await;
    assert_invalid(
        &bad,
        "createChat",
        &[("description", "must not contain control characters")],
    );

    let conversation = app.create_conversation("u").await;
    let sent = app
        .graphql(SEND_MESSAGE, json!({ "c": conversation, "t": text }))
        .await;
    assert_eq!(sent.data()["sendMessage"]["userMessage"]["content"], text);
    let bad = app
        .graphql(SEND_MESSAGE, json!({ "c": conversation, "t": "nul\u{0}" }))
        .await;
    assert_invalid(
        &bad,
        "sendMessage",
        &[("content", "must not contain control characters")],
    );
}

#[tokio::test]
async fn user_ids_allow_no_control_characters() {
    let app = spawn_app_with_clock().await;
    let chat = create_chat(&app, json!({ "title": "t", "userId": "u\tx" })).await;
    assert_invalid(
        &chat,
        "createChat",
        &[("userId", "must not contain control characters")],
    );
    let conversation = app
        .graphql(CREATE_CONVERSATION, json!({ "u": "u\nx" }))
        .await;
    assert_invalid(
        &conversation,
        "createConversation",
        &[("userId", "must not contain control characters")],
    );
}

#[tokio::test]
async fn description_may_have_1000_characters_but_not_1001() {
    let app = spawn_app_with_clock().await;
    let thousand = "ü".repeat(1000);
    let ok = create_chat(&app, json!({ "title": "t", "description": thousand })).await;
    assert_eq!(ok.data()["createChat"]["description"], thousand);
    let bad = create_chat(
        &app,
        json!({ "title": "t", "description": "ü".repeat(1001) }),
    )
    .await;
    assert_invalid(
        &bad,
        "createChat",
        &[("description", "must be at most 1000 characters")],
    );
}

#[tokio::test]
async fn user_ids_must_be_1_to_200_characters_and_not_blank() {
    let app = spawn_app_with_clock().await;
    let ok = create_chat(&app, json!({ "title": "t", "userId": "ß".repeat(200) })).await;
    assert_eq!(ok.data()["createChat"]["userId"], "ß".repeat(200));
    for (user_id, message) in [
        ("", "must not be blank"),
        ("  ", "must not be blank"),
        (&*"ß".repeat(201), "must be at most 200 characters"),
    ] {
        let chat = create_chat(&app, json!({ "title": "t", "userId": user_id })).await;
        assert_invalid(&chat, "createChat", &[("userId", message)]);
        let conversation = app
            .graphql(CREATE_CONVERSATION, json!({ "u": user_id }))
            .await;
        assert_invalid(&conversation, "createConversation", &[("userId", message)]);
        let listed = app
            .graphql(
                "query($u: String!) { conversations(userId: $u) { total } }",
                json!({ "u": user_id }),
            )
            .await;
        assert_invalid(&listed, "conversations", &[("userId", message)]);
        let filtered = app
            .graphql(
                "query($u: String) { chats(userId: $u) { total } }",
                json!({ "u": user_id }),
            )
            .await;
        assert_invalid(&filtered, "chats", &[("userId", message)]);
    }
}

#[tokio::test]
async fn content_must_not_be_blank_and_at_most_32000_characters() {
    let app = spawn_app_with_clock().await;
    let conversation = app.create_conversation("u").await;
    for blank in ["", " \n\t "] {
        let reply = app
            .graphql(SEND_MESSAGE, json!({ "c": conversation, "t": blank }))
            .await;
        assert_invalid(&reply, "sendMessage", &[("content", "must not be blank")]);
    }
    let longest = "🙂".repeat(32_000);
    let ok = app
        .graphql(SEND_MESSAGE, json!({ "c": conversation, "t": longest }))
        .await;
    assert_eq!(ok.data()["sendMessage"]["userMessage"]["content"], longest);
    let too_long = app
        .graphql(
            SEND_MESSAGE,
            json!({ "c": conversation, "t": "🙂".repeat(32_001) }),
        )
        .await;
    assert_invalid(
        &too_long,
        "sendMessage",
        &[("content", "must be at most 32000 characters")],
    );
}

#[tokio::test]
async fn metadata_must_be_a_json_object() {
    let app = spawn_app_with_clock().await;
    let conversation = app.create_conversation("u").await;
    for metadata in [json!([1, 2]), json!("text"), json!(3), json!(true)] {
        let created = app
            .graphql(CREATE_CONVERSATION, json!({ "u": "u", "m": metadata }))
            .await;
        assert_invalid(
            &created,
            "createConversation",
            &[("metadata", "must be a JSON object")],
        );
        let sent = app
            .graphql(
                SEND_MESSAGE,
                json!({ "c": conversation, "t": "hi", "m": metadata }),
            )
            .await;
        assert_invalid(
            &sent,
            "sendMessage",
            &[("metadata", "must be a JSON object")],
        );
    }
    let absent = app
        .graphql(CREATE_CONVERSATION, json!({ "u": "u", "m": null }))
        .await;
    assert_eq!(
        absent.data()["createConversation"],
        json!({ "userId": "u", "metadata": {} })
    );
}

#[tokio::test]
async fn every_bad_field_is_reported_at_once() {
    let app = spawn_app_with_clock().await;
    let reply = create_chat(
        &app,
        json!({ "title": " ", "description": "d".repeat(1001), "userId": "" }),
    )
    .await;
    assert_invalid(
        &reply,
        "createChat",
        &[
            ("title", "must not be blank"),
            ("description", "must be at most 1000 characters"),
            ("userId", "must not be blank"),
        ],
    );
}

#[tokio::test]
async fn update_chat_refuses_null_title_active_and_priority() {
    let app = spawn_app_with_clock().await;
    let chat = app.create_chat("Original").await;
    let id = chat["id"].as_str().unwrap();
    for field in ["title", "active", "priority"] {
        let reply = app
            .graphql(UPDATE_CHAT, json!({ "id": id, "input": { field: null } }))
            .await;
        assert_invalid(&reply, "updateChat", &[(field, "must not be null")]);
    }
    let all = app
        .graphql(
            UPDATE_CHAT,
            json!({ "id": id, "input": { "title": null, "active": null, "priority": null } }),
        )
        .await;
    assert_invalid(
        &all,
        "updateChat",
        &[
            ("title", "must not be null"),
            ("active", "must not be null"),
            ("priority", "must not be null"),
        ],
    );
    let unchanged = app
        .graphql(
            "query($id: ID!) { chat(id: $id) { title active priority updatedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        unchanged.data()["chat"],
        json!({ "title": "Original", "active": true, "priority": "MEDIUM", "updatedAt": chat["updatedAt"] })
    );
}

#[tokio::test]
async fn update_chat_checks_values_like_create_does() {
    let app = spawn_app_with_clock().await;
    let id = app.create_chat("Original").await["id"].clone();
    let reply = app
        .graphql(
            UPDATE_CHAT,
            json!({ "id": id, "input": { "title": "x".repeat(201), "userId": " " } }),
        )
        .await;
    assert_invalid(
        &reply,
        "updateChat",
        &[
            ("title", "must be at most 200 characters"),
            ("userId", "must not be blank"),
        ],
    );
    let cleared = app
        .graphql(
            UPDATE_CHAT,
            json!({ "id": id, "input": { "description": null, "userId": null } }),
        )
        .await;
    assert_eq!(
        cleared.data()["updateChat"],
        json!({ "title": "Original", "description": null, "active": true, "priority": "MEDIUM", "userId": null })
    );
}

#[tokio::test]
async fn negative_limit_or_offset_names_the_argument() {
    let app = spawn_app_with_clock().await;
    let conversation = app.create_conversation("u").await;
    let chats = app
        .graphql("{ chats(limit: -1) { total } }", json!({}))
        .await;
    assert_invalid(
        &chats,
        "chats",
        &[("limit", "must be a non-negative integer")],
    );
    let conversations = app
        .graphql(
            "{ conversations(userId: \"u\", offset: -5) { total } }",
            json!({}),
        )
        .await;
    assert_invalid(
        &conversations,
        "conversations",
        &[("offset", "must be a non-negative integer")],
    );
    let messages = app
        .graphql(
            "query($c: ID!) { messages(conversationId: $c, limit: -1, offset: -1) { total } }",
            json!({ "c": conversation }),
        )
        .await;
    assert_invalid(
        &messages,
        "messages",
        &[
            ("limit", "must be a non-negative integer"),
            ("offset", "must be a non-negative integer"),
        ],
    );
}
