//! Request-level errors (`GRAPHQL_PARSE_FAILED`, `GRAPHQL_VALIDATION_FAILED`) and the depth and
//! complexity limits: real introspection queries run, deep or huge queries are refused before
//! anything executes.

use chatgate::graphql::DEFAULT_MAX_DEPTH as MAX_DEPTH;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with_clock};

/// What graphql-js 16 (and so GraphiQL) sends to learn the schema.
const GRAPHQL_JS_INTROSPECTION: &str = include_str!("fixtures/graphql-js-introspection.graphql");
/// The same with every option on (deprecated arguments, `isOneOf`, `specifiedByURL`, …).
const GRAPHQL_JS_INTROSPECTION_ALL_OPTIONS: &str =
    include_str!("fixtures/graphql-js-introspection-all-options.graphql");

fn request_error(message: &str, locations: Value) -> Value {
    let mut error = json!({
        "message": message,
        "extensions": { "code": "GRAPHQL_VALIDATION_FAILED" },
    });
    if !locations.is_null() {
        error["locations"] = locations;
    }
    json!({ "errors": [error] })
}

#[tokio::test]
async fn a_syntax_error_is_graphql_parse_failed_without_data() {
    let app = spawn_app_with_clock().await;
    let reply = app.graphql("{ chats { total } ", json!({})).await;
    assert_eq!(
        reply.body,
        json!({ "errors": [{
            "message": "Syntax error at 1:19: expected a field or fragment, found the end of the document",
            "locations": [{ "line": 1, "column": 19 }],
            "extensions": { "code": "GRAPHQL_PARSE_FAILED" },
        }] })
    );
}

#[tokio::test]
async fn an_unknown_field_is_graphql_validation_failed() {
    let app = spawn_app_with_clock().await;
    let reply = app.graphql("{ chats { nope } }", json!({})).await;
    assert_eq!(
        reply.body,
        request_error(
            "Unknown field \"nope\" on type \"ChatPage\".",
            json!([{ "line": 1, "column": 11 }])
        )
    );
}

#[tokio::test]
async fn a_wrong_argument_type_is_graphql_validation_failed() {
    let app = spawn_app_with_clock().await;
    let reply = app
        .graphql("{ chats(limit: \"ten\") { total } }", json!({}))
        .await;
    assert_eq!(
        reply.body,
        json!({ "errors": [
            {
                "message": "Invalid value for argument \"limit\", expected type \"Int\"",
                "locations": [{ "line": 1, "column": 9 }],
                "extensions": { "code": "GRAPHQL_VALIDATION_FAILED" },
            },
        ] }),
        "one error for one mistake (the cost count does not report it again)"
    );
}

#[tokio::test]
async fn a_bad_variable_value_is_graphql_validation_failed() {
    let app = spawn_app_with_clock().await;
    let reply = app
        .graphql(
            "query($p: Priority) { chats(priority: $p) { total } }",
            json!({ "p": "URGENT" }),
        )
        .await;
    assert_eq!(
        reply.body,
        request_error(
            "Invalid value for argument \"priority\", enumeration type \"Priority\" does not \
             contain the value \"URGENT\"",
            json!([{ "line": 1, "column": 29 }])
        )
    );
}

#[tokio::test]
async fn a_missing_or_null_required_variable_is_graphql_validation_failed() {
    let app = spawn_app_with_clock().await;
    let query = "query($id: ID!) { chat(id: $id) { id } }";
    let missing = app.graphql(query, json!({})).await;
    assert_eq!(
        missing.body,
        request_error(
            "Variable \"$id\" of required type \"ID!\" was not provided.",
            json!([{ "line": 1, "column": 7 }])
        )
    );
    let null = app.graphql(query, json!({ "id": null })).await;
    assert_eq!(
        null.body,
        request_error(
            "Variable \"$id\" of non-null type \"ID!\" must not be null.",
            json!([{ "line": 1, "column": 7 }])
        )
    );
    let defaulted = app
        .graphql(
            "query($limit: Int! = 5) { chats(limit: $limit) { limit } }",
            json!({}),
        )
        .await;
    assert_eq!(
        defaulted.body,
        json!({ "data": { "chats": { "limit": 5 } } })
    );
    let other_operation = app
        .graphql_request(app.client.post(app.url("/graphql")).json(&json!({
            "query": "query A($id: ID!) { chat(id: $id) { id } } query B { chats { total } }",
            "operationName": "B",
        })))
        .await;
    assert_eq!(
        other_operation.body,
        json!({ "data": { "chats": { "total": 0 } } })
    );
}

#[tokio::test]
async fn an_unknown_or_missing_operation_name_is_graphql_validation_failed() {
    let app = spawn_app_with_clock().await;
    let document = "query A { chats { total } } query B { chats { limit } }";
    let unknown = app
        .graphql_request(app.client.post(app.url("/graphql")).json(&json!({
            "query": document, "operationName": "C",
        })))
        .await;
    assert_eq!(
        unknown.body,
        request_error("Unknown operation named \"C\"", Value::Null)
    );
    let missing = app.graphql(document, json!({})).await;
    assert_eq!(
        missing.body,
        request_error("Operation name required in request.", Value::Null)
    );
    let chosen = app
        .graphql_request(app.client.post(app.url("/graphql")).json(&json!({
            "query": document, "operationName": "B",
        })))
        .await;
    assert_eq!(
        chosen.body,
        json!({ "data": { "chats": { "limit": 100 } } })
    );
}

async fn assert_introspection_runs(app: &TestApp, document: &str) {
    let reply = app.graphql(document, json!({})).await;
    let schema = &reply.data()["__schema"];
    assert_eq!(
        (
            &schema["queryType"],
            &schema["mutationType"],
            &schema["subscriptionType"]
        ),
        (
            &json!({ "name": "Query", "kind": "OBJECT" }),
            &json!({ "name": "Mutation", "kind": "OBJECT" }),
            &json!({ "name": "Subscription", "kind": "OBJECT" })
        )
    );
    let types: Vec<&str> = schema["types"]
        .as_array()
        .expect("types is a list")
        .iter()
        .map(|t| t["name"].as_str().expect("named type"))
        .collect();
    for name in [
        "Chat",
        "ChatPage",
        "Conversation",
        "Message",
        "DateTime",
        "JSON",
        "Priority",
    ] {
        assert!(types.contains(&name), "{name} missing from {types:?}");
    }
}

#[tokio::test]
async fn the_graphql_js_introspection_query_runs() {
    let app = spawn_app_with_clock().await;
    assert_introspection_runs(&app, GRAPHQL_JS_INTROSPECTION).await;
    assert_introspection_runs(&app, GRAPHQL_JS_INTROSPECTION_ALL_OPTIONS).await;
}

/// A query `depth` selection levels deep, cheap at every level: `message(id:)`, then
/// `conversation`, `messages(limit: 1)`, `messages` over and over, ending on a leaf.
fn nested_query(depth: usize, message_id: &str) -> String {
    const CYCLE: [(&str, bool); 3] = [
        ("conversation", false),
        ("messages(limit: 1)", true),
        ("messages", false),
    ];
    let mut open = format!("{{ message(id: \"{message_id}\") {{ ");
    let mut on_page = false;
    for level in 2..depth {
        let (field, page) = CYCLE[(level - 2) % CYCLE.len()];
        open.push_str(field);
        open.push_str(" { ");
        on_page = page;
    }
    open.push_str(if on_page { "total" } else { "id" });
    open + &" }".repeat(depth)
}

#[tokio::test]
async fn a_query_at_the_depth_limit_runs_and_one_level_more_is_refused() {
    let app = spawn_app_with_clock().await;
    let conversation = app.create_conversation("u").await;
    let sent = app.send_message(&conversation, "hi").await;
    let message_id = sent["userMessage"]["id"].as_str().unwrap();
    let at_limit = app
        .graphql(&nested_query(MAX_DEPTH, message_id), json!({}))
        .await;
    assert!(at_limit.data()["message"].is_object(), "{}", at_limit.body);
    let deeper = app
        .graphql(&nested_query(MAX_DEPTH + 1, message_id), json!({}))
        .await;
    assert_eq!(
        deeper.body,
        request_error("Query is nested too deep.", Value::Null)
    );
}

#[tokio::test]
async fn queries_nested_30_or_100_levels_are_refused_as_too_deep() {
    let app = spawn_app_with_clock().await;
    for depth in [30, 100] {
        let reply = app.graphql(&nested_query(depth, "any"), json!({})).await;
        assert_eq!(
            reply.body,
            request_error("Query is nested too deep.", Value::Null),
            "{depth} levels"
        );
    }
}

#[tokio::test]
async fn a_deep_mutation_is_refused_before_it_runs() {
    let app = spawn_app_with_clock().await;
    let mut selection = String::from("id");
    for _ in 0..10 {
        selection = format!("messages {{ messages {{ conversation {{ {selection} }} }} }}");
    }
    let reply = app
        .graphql(
            &format!(
                "mutation {{ createConversation(input: {{userId: \"deep\"}}) {{ {selection} }} }}"
            ),
            json!({}),
        )
        .await;
    assert_eq!(reply.error_codes(), ["GRAPHQL_VALIDATION_FAILED"]);
    let stored = app
        .graphql("{ conversations(userId: \"deep\") { total } }", json!({}))
        .await;
    assert_eq!(stored.data(), &json!({ "conversations": { "total": 0 } }));
}

#[tokio::test]
async fn thousands_of_objects_through_aliases_are_refused_as_too_complex() {
    let app = spawn_app_with_clock().await;
    let pages: String = (0..30)
        .map(|i| format!("p{i}: chats(limit: 100) {{ chats {{ id title }} }} "))
        .collect();
    let reply = app.graphql(&format!("{{ {pages} }}"), json!({})).await;
    assert_eq!(
        reply.body,
        request_error("Query is too complex.", Value::Null)
    );
    let singles: String = (0..450)
        .map(|i| {
            format!("c{i}: chat(id: \"x\") {{ id title description active priority userId }} ")
        })
        .collect();
    let reply = app.graphql(&format!("{{ {singles} }}"), json!({})).await;
    assert_eq!(
        reply.body,
        request_error("Query is too complex.", Value::Null)
    );
}

#[tokio::test]
async fn a_huge_aliased_mutation_is_refused_before_it_runs() {
    let app = spawn_app_with_clock().await;
    let creates: String = (0..400)
        .map(|i| {
            format!(
                "c{i}: createChat(input: {{title: \"t{i}\"}}) \
                 {{ id title description active priority userId createdAt updatedAt }} "
            )
        })
        .collect();
    let reply = app
        .graphql(&format!("mutation {{ {creates} }}"), json!({}))
        .await;
    assert_eq!(
        reply.body,
        request_error("Query is too complex.", Value::Null)
    );
    let stored = app.graphql("{ chats { total } }", json!({})).await;
    assert_eq!(stored.data(), &json!({ "chats": { "total": 0 } }));
}

#[tokio::test]
async fn a_full_page_of_chats_with_every_field_is_within_the_limits() {
    let app = spawn_app_with_clock().await;
    app.create_chat("one").await;
    let reply = app
        .graphql(
            "{ chats(limit: 100) { total limit offset hasMore chats { id title description active \
             priority userId createdAt updatedAt } } }",
            json!({}),
        )
        .await;
    assert_eq!(reply.data()["chats"]["total"], 1);
}
