//! GraphQL over HTTP (docs/api.md, "GraphQL over HTTP"): content negotiation, status codes, GET for
//! queries only, and transport failures as GraphQL-shaped JSON with their own status.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with_clock};

const JSON: &str = "application/json; charset=utf-8";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json; charset=utf-8";

const PARSE_ERROR: &str = "{ chats {";
const VALIDATION_ERROR: &str = "{ chats { nope } }";
const RESOLVER_ERROR: &str =
    "mutation { toggleChat(id: \"5d3c1b2a-0f9e-4d8c-b7a6-958473625140\") { id } }";

fn transport_error(code: &str, message: &str) -> Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

fn resolver_error_body() -> Value {
    json!({
        "data": null,
        "errors": [{
            "message": "chat not found",
            "locations": [{ "line": 1, "column": 12 }],
            "path": ["toggleChat"],
            "extensions": { "code": "NOT_FOUND" },
        }],
    })
}

async fn chat_count(app: &TestApp) -> Value {
    app.graphql("{ chats { total } }", json!({})).await.data()["chats"]["total"].clone()
}

#[tokio::test]
async fn without_accept_every_graphql_error_is_json_with_status_200() {
    let app = spawn_app_with_clock().await;
    for (query, code) in [
        (PARSE_ERROR, "GRAPHQL_PARSE_FAILED"),
        (VALIDATION_ERROR, "GRAPHQL_VALIDATION_FAILED"),
        (RESOLVER_ERROR, "NOT_FOUND"),
    ] {
        let body = json!({ "query": query }).to_string();
        let response = app
            .raw_http(
                "POST /graphql HTTP/1.1\r\nContent-Type: application/json",
                &body,
            )
            .await;
        assert_eq!(
            (response.status, response.header("content-type")),
            (200, Some(JSON)),
            "{query}"
        );
        assert_eq!(response.body["errors"][0]["extensions"]["code"], code);
    }
    let response = app
        .raw_http(
            "POST /graphql HTTP/1.1\r\nContent-Type: application/json",
            &json!({ "query": RESOLVER_ERROR }).to_string(),
        )
        .await;
    assert_eq!(response.body, resolver_error_body());
}

#[tokio::test]
async fn star_and_application_json_accept_get_json_with_status_200() {
    let app = spawn_app_with_clock().await;
    for accept in [
        "*/*",
        "application/json",
        "application/json, text/plain;q=0.5",
    ] {
        for query in [
            PARSE_ERROR,
            VALIDATION_ERROR,
            RESOLVER_ERROR,
            "{ chats { total } }",
        ] {
            let reply = app.graphql_accepting(accept, query).await;
            assert_eq!(
                (reply.status, reply.content_type.as_str()),
                (StatusCode::OK, JSON),
                "{accept} {query}"
            );
        }
    }
    let validation = app
        .graphql_accepting("application/json", VALIDATION_ERROR)
        .await;
    assert_eq!(
        validation.body,
        json!({ "errors": [{
            "message": "Unknown field \"nope\" on type \"ChatPage\".",
            "locations": [{ "line": 1, "column": 11 }],
            "extensions": { "code": "GRAPHQL_VALIDATION_FAILED" },
        }] })
    );
}

#[tokio::test]
async fn graphql_response_json_gets_400_without_data_for_parse_and_validation_errors() {
    let app = spawn_app_with_clock().await;
    let accept = "application/graphql-response+json";
    for (query, code) in [
        (PARSE_ERROR, "GRAPHQL_PARSE_FAILED"),
        (VALIDATION_ERROR, "GRAPHQL_VALIDATION_FAILED"),
        (
            "query($id: ID!) { chat(id: $id) { id } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ] {
        let reply = app.graphql_accepting(accept, query).await;
        assert_eq!(
            (reply.status, reply.content_type.as_str()),
            (StatusCode::BAD_REQUEST, GRAPHQL_RESPONSE),
            "{query}"
        );
        assert_eq!(reply.error_codes(), [code]);
        assert!(reply.body.get("data").is_none(), "{}", reply.body);
    }
}

#[tokio::test]
async fn graphql_response_json_gets_200_for_resolver_errors_and_success() {
    let app = spawn_app_with_clock().await;
    let accept = "application/graphql-response+json, application/json;q=0.9";
    let failed = app.graphql_accepting(accept, RESOLVER_ERROR).await;
    assert_eq!(
        (failed.status, failed.content_type.as_str(), &failed.body),
        (StatusCode::OK, GRAPHQL_RESPONSE, &resolver_error_body())
    );
    let ok = app.graphql_accepting(accept, "{ chats { total } }").await;
    assert_eq!(
        (ok.status, ok.content_type.as_str(), &ok.body),
        (
            StatusCode::OK,
            GRAPHQL_RESPONSE,
            &json!({ "data": { "chats": { "total": 0 } } })
        )
    );
}

#[tokio::test]
async fn get_runs_queries_with_variables_given_as_json() {
    let app = spawn_app_with_clock().await;
    let chat = app.create_chat("By GET").await;
    let reply = app
        .graphql_get(
            "query($id: ID!) { chat(id: $id) { id title } }",
            Some(json!({ "id": chat["id"] })),
        )
        .await;
    assert_eq!(
        (reply.status, reply.content_type.as_str(), &reply.body),
        (
            StatusCode::OK,
            JSON,
            &json!({ "data": { "chat": { "id": chat["id"], "title": "By GET" } } })
        )
    );
    let named = app
        .graphql_request(app.client.get(app.url("/graphql")).query(&[
            (
                "query",
                "query A { chats { total } } query B { chats { limit } }",
            ),
            ("operationName", "B"),
        ]))
        .await;
    assert_eq!(named.body, json!({ "data": { "chats": { "limit": 100 } } }));
    let bad_variables = app
        .graphql_request(
            app.client
                .get(app.url("/graphql"))
                .query(&[("query", "{ chats { total } }"), ("variables", "{not json")]),
        )
        .await;
    assert_eq!(bad_variables.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_variables.error_codes(), ["VALIDATION_ERROR"]);
}

#[tokio::test]
async fn a_mutation_sent_by_get_is_405_with_allow_and_is_not_run() {
    let app = spawn_app_with_clock().await;
    let plain = app
        .graphql_get(
            "mutation { createChat(input: {title: \"no\"}) { id } }",
            None,
        )
        .await;
    let named = app
        .graphql_request(app.client.get(app.url("/graphql")).query(&[
            (
                "query",
                "query Q { chats { total } } mutation M { createChat(input: {title: \"no\"}) { id } }",
            ),
            ("operationName", "M"),
        ]))
        .await;
    for reply in [plain, named] {
        assert_eq!(
            (reply.status, reply.content_type.as_str(), &reply.body),
            (
                StatusCode::METHOD_NOT_ALLOWED,
                JSON,
                &transport_error("METHOD_NOT_ALLOWED", "mutations must be sent with POST")
            )
        );
    }
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { toggleChat(id: \"x\") { id } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(chat_count(&app).await, 0);
}

#[tokio::test]
async fn other_methods_are_405_with_allow_and_a_graphql_error() {
    let app = spawn_app_with_clock().await;
    for method in ["PUT", "DELETE", "PATCH"] {
        let response = app
            .raw_http(
                &format!("{method} /graphql HTTP/1.1\r\nContent-Type: application/json"),
                "{\"query\": \"{ chats { total } }\"}",
            )
            .await;
        assert_eq!(
            (
                response.status,
                response.header("allow"),
                response.header("content-type")
            ),
            (405, Some("GET, POST"), Some(JSON)),
            "{method}"
        );
        assert_eq!(
            response.body,
            transport_error("METHOD_NOT_ALLOWED", "use GET or POST"),
            "{method}"
        );
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = spawn_app_with_clock().await;
    let query = json!({ "query": "{ chats { total } }" }).to_string();
    let text = app
        .raw_http("POST /graphql HTTP/1.1\r\nContent-Type: text/plain", &query)
        .await;
    let untyped = app.raw_http("POST /graphql HTTP/1.1", &query).await;
    for response in [text, untyped] {
        assert_eq!(
            (
                response.status,
                response.header("content-type"),
                &response.body
            ),
            (
                415,
                Some(JSON),
                &transport_error(
                    "UNSUPPORTED_MEDIA_TYPE",
                    "request body must be application/json"
                )
            )
        );
    }
    let negotiated = app
        .raw_http(
            "POST /graphql HTTP/1.1\r\nContent-Type: text/plain\r\nAccept: application/graphql-response+json",
            &query,
        )
        .await;
    assert_eq!(
        (negotiated.status, negotiated.header("content-type")),
        (415, Some(GRAPHQL_RESPONSE))
    );
}

#[tokio::test]
async fn json_with_a_charset_parameter_is_accepted() {
    let app = spawn_app_with_clock().await;
    let response = app
        .raw_http(
            "POST /graphql HTTP/1.1\r\nContent-Type: application/json; charset=utf-8",
            &json!({ "query": "{ chats { total } }" }).to_string(),
        )
        .await;
    assert_eq!(
        (response.status, response.body),
        (200, json!({ "data": { "chats": { "total": 0 } } }))
    );
}

#[tokio::test]
async fn a_malformed_or_empty_body_is_400_validation_error() {
    let app = spawn_app_with_clock().await;
    let head = "POST /graphql HTTP/1.1\r\nContent-Type: application/json";
    let malformed = app.raw_http(head, "{bad").await;
    assert_eq!(
        (
            malformed.status,
            malformed.header("content-type"),
            &malformed.body
        ),
        (
            400,
            Some(JSON),
            &transport_error(
                "VALIDATION_ERROR",
                "invalid GraphQL request body: key must be a string at line 1 column 2"
            )
        )
    );
    let empty = app.raw_http(head, "").await;
    assert_eq!(
        (empty.status, &empty.body),
        (
            400,
            &transport_error("VALIDATION_ERROR", "request body is empty")
        )
    );
    let not_a_request = app.raw_http(head, "[1, 2]").await;
    assert_eq!(not_a_request.status, 400);
    assert_eq!(
        not_a_request.body["errors"][0]["extensions"]["code"],
        "VALIDATION_ERROR"
    );
}

#[tokio::test]
async fn a_request_that_is_not_well_formed_is_400_with_a_validation_error_for_every_accept() {
    let app = spawn_app_with_clock().await;
    let query = "mutation { createChat(input: {title: \"no\"}) { id } }";
    let field = |field: &str, message: &str| json!({ "field": field, "message": message });
    let cases = [
        (
            json!({}),
            "query is required",
            vec![field("query", "is required")],
        ),
        (
            json!({ "query": null, "variables": {} }),
            "query is required",
            vec![field("query", "is required")],
        ),
        (
            json!({ "query": 1 }),
            "query must be a string",
            vec![field("query", "must be a string")],
        ),
        (
            json!({ "query": query, "variables": [] }),
            "variables must be an object",
            vec![field("variables", "must be an object")],
        ),
        (
            json!({ "query": query, "variables": "{}" }),
            "variables must be an object",
            vec![field("variables", "must be an object")],
        ),
        (
            json!({ "query": query, "operationName": ["A"] }),
            "operationName must be a string",
            vec![field("operationName", "must be a string")],
        ),
        (
            json!({ "query": query, "extensions": 1 }),
            "extensions must be an object",
            vec![field("extensions", "must be an object")],
        ),
        (
            json!({ "operationName": 1, "variables": 2 }),
            "3 fields are invalid",
            vec![
                field("query", "is required"),
                field("operationName", "must be a string"),
                field("variables", "must be an object"),
            ],
        ),
    ];
    for accept in [
        None,
        Some("*/*"),
        Some("application/json"),
        Some(GRAPHQL_RESPONSE),
    ] {
        let head = match accept {
            Some(accept) => format!(
                "POST /graphql HTTP/1.1\r\nContent-Type: application/json\r\nAccept: {accept}"
            ),
            None => "POST /graphql HTTP/1.1\r\nContent-Type: application/json".to_owned(),
        };
        let content_type = if accept == Some(GRAPHQL_RESPONSE) {
            GRAPHQL_RESPONSE
        } else {
            JSON
        };
        for (body, message, fields) in &cases {
            let response = app.raw_http(&head, &body.to_string()).await;
            assert_eq!(
                (response.status, response.header("content-type")),
                (400, Some(content_type)),
                "{accept:?} {body}"
            );
            assert_eq!(
                response.body,
                json!({ "errors": [{
                    "message": message,
                    "extensions": { "code": "VALIDATION_ERROR", "details": { "fields": fields } },
                }] }),
                "{accept:?} {body}"
            );
        }
        let array = app
            .raw_http(&head, "[{\"query\": \"{ chats { total } }\"}]")
            .await;
        assert_eq!(
            (array.status, array.body),
            (
                400,
                transport_error("VALIDATION_ERROR", "request body must be a JSON object")
            )
        );
    }
    assert_eq!(chat_count(&app).await, 0, "nothing ran");
}

#[tokio::test]
async fn get_without_a_query_is_400_with_a_validation_error() {
    let app = spawn_app_with_clock().await;
    for accept in ["application/json", GRAPHQL_RESPONSE] {
        let reply = app
            .graphql_request(
                app.client
                    .get(app.url("/graphql"))
                    .header("accept", accept)
                    .query(&[("operationName", "A")]),
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{accept}");
        assert_eq!(
            reply.body,
            json!({ "errors": [{
                "message": "query is required",
                "extensions": {
                    "code": "VALIDATION_ERROR",
                    "details": { "fields": [{ "field": "query", "message": "is required" }] },
                },
            }] })
        );
    }
}
