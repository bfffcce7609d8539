//! The same invalid input gives the same code, message and field details through REST and
//! GraphQL, for every error code both transports can produce.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{GraphqlReply, RestReply, TestApp, spawn_app};

/// The REST error and the single GraphQL error, compared: same code, message and details.
fn assert_same_error(rest: &RestReply, graphql: &GraphqlReply, code: &str) {
    let rest_error = &rest.body["error"];
    let errors = graphql.body["errors"].as_array().expect("GraphQL errors");
    assert_eq!(errors.len(), 1, "one GraphQL error: {}", graphql.body);
    let gql = &errors[0];
    assert_eq!(rest_error["code"], code, "REST: {}", rest.body);
    assert_eq!(gql["extensions"]["code"], code, "GraphQL: {}", graphql.body);
    assert_eq!(rest_error["message"], gql["message"]);
    // REST always has `details` (`{}` when empty); GraphQL adds it only when there is some.
    let gql_details = gql["extensions"]
        .get("details")
        .cloned()
        .unwrap_or_else(|| json!({}));
    assert_eq!(rest_error["details"], gql_details);
}

const CREATE_CHAT: &str = "mutation($input: CreateChatInput!) { createChat(input: $input) { id } }";

#[tokio::test]
async fn invalid_chat_fields_fail_the_same_way_on_both_transports() {
    let app = spawn_app().await;
    let cases = [
        json!({"title": "é".repeat(201)}),
        json!({"title": "   "}),
        json!({"title": "bell\u{7}"}),
        json!({"title": "t", "description": "d".repeat(1001)}),
        json!({"title": "t", "userId": " "}),
        json!({"title": "\t", "description": "x\u{1b}", "userId": "u".repeat(201)}),
    ];
    for input in cases {
        let rest = app.post_json("/chats", &input).await;
        let graphql = app.graphql(CREATE_CHAT, json!({ "input": input })).await;
        assert_same_error(&rest, &graphql, "VALIDATION_ERROR");
        assert_eq!(rest.status, 400);
    }
}

#[tokio::test]
async fn invalid_chat_updates_fail_the_same_way_on_both_transports() {
    let app = spawn_app().await;
    let id = app.create_chat("t").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let update = "mutation($id: ID!, $input: UpdateChatInput!) { updateChat(id: $id, input: $input) { id } }";
    for input in [
        json!({"title": null, "active": null}),
        json!({"priority": null, "description": "d".repeat(1001)}),
        json!({"title": ""}),
    ] {
        let rest = app.put_json(&format!("/chats/{id}"), &input).await;
        let graphql = app
            .graphql(update, json!({ "id": id, "input": input }))
            .await;
        assert_same_error(&rest, &graphql, "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn invalid_conversations_and_messages_fail_the_same_way_on_both_transports() {
    let app = spawn_app().await;
    let create =
        "mutation($input: CreateConversationInput!) { createConversation(input: $input) { id } }";
    for input in [
        json!({"userId": ""}),
        json!({"userId": "u", "metadata": [1, 2]}),
        json!({"userId": "u\u{0}", "metadata": "text"}),
    ] {
        let rest = app.post_json("/api/conversations", &input).await;
        let graphql = app.graphql(create, json!({ "input": input })).await;
        assert_same_error(&rest, &graphql, "VALIDATION_ERROR");
    }

    let conversation = app.create_conversation("u").await;
    let send =
        "mutation($input: SendMessageInput!) { sendMessage(input: $input) { userMessage { id } } }";
    for body in [
        json!({"content": " "}),
        json!({"content": "x".repeat(32_001)}),
        json!({"content": "hi", "metadata": 5}),
    ] {
        let rest = app
            .post_json(
                &format!("/api/conversations/{conversation}/messages"),
                &body,
            )
            .await;
        let mut input = body.clone();
        input["conversationId"] = json!(conversation);
        let graphql = app.graphql(send, json!({ "input": input })).await;
        assert_same_error(&rest, &graphql, "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn negative_paging_fails_the_same_way_on_both_transports() {
    let app = spawn_app().await;
    let rest = app.get("/chats?limit=-1").await;
    let graphql = app
        .graphql("{ chats(limit: -1) { total } }", json!({}))
        .await;
    assert_same_error(&rest, &graphql, "VALIDATION_ERROR");
    let rest = app.get("/api/conversations?userId=u&offset=-3").await;
    let graphql = app
        .graphql(
            "{ conversations(userId: \"u\", offset: -3) { total } }",
            json!({}),
        )
        .await;
    assert_same_error(&rest, &graphql, "VALIDATION_ERROR");
}

#[tokio::test]
async fn unknown_ids_are_not_found_the_same_way_on_both_transports() {
    let app = spawn_app().await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let cases: [(RestReply, &str, Value); 5] = [
        (
            app.put_json(&format!("/chats/{unknown}"), &json!({"title": "x"}))
                .await,
            "mutation($id: ID!) { updateChat(id: $id, input: {title: \"x\"}) { id } }",
            json!({ "id": unknown }),
        ),
        (
            app.post_empty(&format!("/chats/{unknown}/toggle")).await,
            "mutation($id: ID!) { toggleChat(id: $id) { id } }",
            json!({ "id": unknown }),
        ),
        (
            app.delete("/chats/not-an-id").await,
            "mutation { deleteChat(id: \"not-an-id\") }",
            json!({}),
        ),
        (
            app.delete(&format!("/api/conversations/{unknown}")).await,
            "mutation($id: ID!) { deleteConversation(id: $id) }",
            json!({ "id": unknown }),
        ),
        (
            app.post_json(
                &format!("/api/conversations/{unknown}/messages"),
                &json!({"content": "hi"}),
            )
            .await,
            "mutation($id: ID!) { sendMessage(input: {conversationId: $id, content: \"hi\"}) { userMessage { id } } }",
            json!({ "id": unknown }),
        ),
    ];
    for (rest, query, variables) in cases {
        let graphql = app.graphql(query, variables).await;
        assert_same_error(&rest, &graphql, "NOT_FOUND");
        assert_eq!(rest.status, 404);
    }
}

async fn raw_graphql(
    app: &TestApp,
    method: Method,
    content_type: &str,
    body: String,
) -> GraphqlReply {
    let request = app
        .client
        .request(method, app.url("/graphql"))
        .header("content-type", content_type)
        .body(body);
    app.graphql_request(request).await
}

#[tokio::test]
async fn transport_errors_carry_the_same_code_and_status_on_both_transports() {
    let app = spawn_app().await;
    let big = format!("{{\"title\": \"t\"{}}}", " ".repeat(1_048_576));

    let rest = app
        .send_raw(
            Method::POST,
            "/chats",
            Some("application/json"),
            big.clone(),
        )
        .await;
    let graphql = raw_graphql(&app, Method::POST, "application/json", big).await;
    assert_same_error(&rest, &graphql, "PAYLOAD_TOO_LARGE");
    assert_eq!((rest.status.as_u16(), graphql.status.as_u16()), (413, 413));

    let body = json!({"query": "{ chats { total } }"}).to_string();
    let rest = app
        .send_raw(Method::POST, "/chats", Some("text/plain"), body.clone())
        .await;
    let graphql = raw_graphql(&app, Method::POST, "text/plain", body).await;
    assert_same_error(&rest, &graphql, "UNSUPPORTED_MEDIA_TYPE");
    assert!(graphql.content_type.starts_with("application/json"));
    assert_eq!((rest.status.as_u16(), graphql.status.as_u16()), (415, 415));

    let rest = app
        .send_raw(Method::POST, "/chats", Some("application/json"), "")
        .await;
    let graphql = raw_graphql(&app, Method::POST, "application/json", String::new()).await;
    assert_same_error(&rest, &graphql, "VALIDATION_ERROR");
    assert_eq!((rest.status.as_u16(), graphql.status.as_u16()), (400, 400));

    let rest = app.send_raw(Method::PATCH, "/chats", None, "").await;
    let graphql = app
        .graphql_request(
            app.client
                .get(app.url("/graphql"))
                .query(&[("query", "mutation { toggleChat(id: \"x\") { id } }")]),
        )
        .await;
    assert_eq!((rest.status.as_u16(), graphql.status.as_u16()), (405, 405));
    assert_eq!(rest.body["error"]["code"], "METHOD_NOT_ALLOWED");
    assert_eq!(graphql.error_codes(), ["METHOD_NOT_ALLOWED"]);
    assert!(rest.header("allow").is_some());
    assert!(graphql.body["errors"][0]["message"].is_string());
}
