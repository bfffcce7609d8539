//! Documents built to make the server work or answer out of all proportion to their size: the
//! token limit refuses them before parsing, the argument, alias and variable limits before
//! validation, and no answer lists more than 100 errors, over HTTP or WebSocket.

use serde_json::{Value, json};

use crate::helpers::spawn_app;
use crate::ws_client::{TRANSPORT_WS, graphql_socket, subscribe};

fn refusal(message: &str, location: Option<(u64, u64)>) -> Value {
    let mut error = json!({
        "message": message,
        "extensions": { "code": "GRAPHQL_VALIDATION_FAILED" },
    });
    if let Some((line, column)) = location {
        error["locations"] = json!([{ "line": line, "column": column }]);
    }
    json!({ "errors": [error] })
}

/// `{ chats(a0:1 a1:1 …) { total } }` with `n` arguments.
fn with_arguments(n: usize) -> String {
    let arguments: Vec<String> = (0..n).map(|i| format!("a{i}:1")).collect();
    format!("{{ chats({}) {{ total }} }}", arguments.join(" "))
}

#[tokio::test]
async fn a_document_of_a_hundred_thousand_arguments_is_refused_by_the_token_limit_with_one_error() {
    let app = spawn_app().await;
    let query = with_arguments(100_000);
    assert!(query.len() > 850_000 && query.len() < 1_048_576);
    let reply = app.graphql(&query, json!({})).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body,
        refusal("Query is too large: more than 15000 tokens.", None)
    );
}

#[tokio::test]
async fn a_document_with_501_arguments_is_refused_before_validation() {
    let app = spawn_app().await;
    let reply = app.graphql(&with_arguments(500), json!({})).await;
    assert_eq!(
        reply.error_codes().len(),
        100 + 1,
        "500 unknown arguments are validated (and capped): {}",
        reply.body["errors"][100]
    );
    let query = with_arguments(501);
    let column = query.find("a500:").expect("the 501st argument") + 1;
    let reply = app.graphql(&query, json!({})).await;
    assert_eq!(
        reply.body,
        refusal(
            "Query has too many arguments: 501, at most 500 are allowed.",
            Some((1, column as u64))
        )
    );
}

#[tokio::test]
async fn a_document_with_501_aliases_is_refused() {
    let app = spawn_app().await;
    let aliases: Vec<String> = (0..501).map(|i| format!("t{i}: __typename")).collect();
    let query = format!("{{ {} }}", aliases.join(" "));
    let column = query.find("t500:").expect("the 501st alias") + 1;
    let reply = app.graphql(&query, json!({})).await;
    assert_eq!(
        reply.body,
        refusal(
            "Query has too many aliases: 501, at most 500 are allowed.",
            Some((1, column as u64))
        )
    );
}

#[tokio::test]
async fn a_document_with_101_variable_definitions_is_refused() {
    let app = spawn_app().await;
    let definitions: Vec<String> = (0..101).map(|i| format!("$v{i}: Int")).collect();
    let query = format!("query({}) {{ chats {{ total }} }}", definitions.join(", "));
    let column = query.find("$v100").expect("the 101st definition") + 1;
    let reply = app.graphql(&query, json!({})).await;
    assert_eq!(
        reply.body,
        refusal(
            "Query has too many variable definitions: 101, at most 100 are allowed.",
            Some((1, column as u64))
        )
    );
}

/// `{ chat(id: …) { nope0 nope1 … } }`: one validation error per unknown field, inside one
/// object so the query stays under the cost limit (each top-level field costs 10,000).
fn unknown_fields(n: usize) -> String {
    let fields: Vec<String> = (0..n).map(|i| format!("nope{i}")).collect();
    format!("{{ chat(id: \"x\") {{ {} }} }}", fields.join(" "))
}

fn assert_capped(errors: &Value) {
    let errors = errors.as_array().expect("an error list");
    assert_eq!(errors.len(), 101);
    assert_eq!(
        errors[99]["message"],
        "Unknown field \"nope99\" on type \"Chat\"."
    );
    assert_eq!(
        errors[100],
        json!({
            "message": "150 more errors were left out; a response lists at most 100.",
            "extensions": { "code": "GRAPHQL_VALIDATION_FAILED" },
        })
    );
}

#[tokio::test]
async fn an_answer_lists_at_most_100_errors_and_counts_the_rest_in_one_more() {
    let app = spawn_app().await;
    let reply = app.graphql(&unknown_fields(250), json!({})).await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.get("data").is_none(), "{}", reply.body);
    assert_capped(&reply.body["errors"]);

    let mut socket = graphql_socket(&app, TRANSPORT_WS).await;
    subscribe(
        &mut socket,
        TRANSPORT_WS,
        "1",
        &unknown_fields(250),
        json!({}),
    )
    .await;
    let message = socket.next().await;
    assert_eq!(
        (&message["type"], &message["id"]),
        (&json!("error"), &json!("1"))
    );
    assert_capped(&message["payload"]);
}
