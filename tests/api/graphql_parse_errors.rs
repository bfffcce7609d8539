//! A document that does not parse gets one readable line saying where, what was expected and
//! what was found, with `locations` and `GRAPHQL_PARSE_FAILED`, over HTTP and both sockets.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app;
use crate::ws_client::{LEGACY_WS, TRANSPORT_WS, graphql_socket, subscribe};

/// Malformed documents, where the parser stops, and what the error says.
const MALFORMED: [(&str, (u64, u64), &str); 6] = [
    (
        "{ chats { total }",
        (1, 18),
        "Syntax error at 1:18: expected a field or fragment, found the end of the document",
    ),
    (
        "{ chats(limit: ) { total } }",
        (1, 16),
        "Syntax error at 1:16: expected a value, found `)`",
    ),
    (
        "mutation { createChat(input: {title: \"x\"}) { id } } }",
        (1, 53),
        "Syntax error at 1:53: expected the end of the document or an operation or fragment, \
         found `}`",
    ),
    (
        "query ($limit: ) {\n  chats(limit: $limit) { total }\n}",
        (1, 16),
        "Syntax error at 1:16: expected a type, found `)`",
    ),
    (
        "{\n  chats {\n    total\n  }\n  chat(id: \"42) { id }\n}",
        (5, 12),
        "Syntax error at 5:12: expected a value, found an unterminated string",
    ),
    (
        "",
        (1, 1),
        "Syntax error at 1:1: expected an operation or fragment, found the end of the document",
    ),
];

/// The one error a malformed document gets.
fn parse_error(location: (u64, u64), message: &str) -> Value {
    json!({
        "message": message,
        "locations": [{"line": location.0, "column": location.1}],
        "extensions": {"code": "GRAPHQL_PARSE_FAILED"},
    })
}

#[tokio::test]
async fn over_http_a_syntax_error_is_one_readable_line_with_its_location_and_code() {
    let app = spawn_app().await;
    for (query, location, message) in MALFORMED {
        let expected = json!({ "errors": [parse_error(location, message)] });
        let posted = app.graphql(query, json!({})).await;
        assert_eq!(posted.status, StatusCode::OK, "{query:?}");
        assert_eq!(posted.body, expected, "{query:?}");

        let strict = app
            .graphql_accepting("application/graphql-response+json", query)
            .await;
        assert_eq!(strict.status, StatusCode::BAD_REQUEST, "{query:?}");
        assert_eq!(strict.body, expected, "{query:?}");

        if !query.is_empty() {
            let by_get = app.graphql_get(query, None).await;
            assert_eq!(by_get.body, expected, "{query:?}");
        }
    }
}

#[tokio::test]
async fn over_both_sockets_a_syntax_error_is_one_readable_line_with_its_location_and_code() {
    let app = spawn_app().await;
    let mut modern = graphql_socket(&app, TRANSPORT_WS).await;
    let mut legacy = graphql_socket(&app, LEGACY_WS).await;
    for (i, (query, location, message)) in MALFORMED.into_iter().enumerate() {
        let id = i.to_string();
        let error = parse_error(location, message);

        subscribe(&mut modern, TRANSPORT_WS, &id, query, json!({})).await;
        assert_eq!(
            modern.next().await,
            json!({"id": id, "type": "error", "payload": [error]}),
            "{query:?}"
        );

        subscribe(&mut legacy, LEGACY_WS, &id, query, json!({})).await;
        assert_eq!(
            legacy.next().await,
            json!({"id": id, "type": "data", "payload": {"errors": [error]}}),
            "{query:?}"
        );
        assert_eq!(legacy.next().await, json!({"id": id, "type": "complete"}));
    }
}
