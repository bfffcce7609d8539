//! A query text sent again is served from the document cache: over HTTP it answers exactly as
//! a new text would, with the cost, variable checks and API keys of each request.

use chatgate::edge::Edge;
use chatgate::edge::api_keys::ApiKeys;
use chatgate::graphql::QueryLimits;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with_edge, spawn_app_with_query_limits};

#[tokio::test]
async fn a_repeated_text_is_costed_and_checked_with_each_requests_variables() {
    // A page's items cost 2 each here: 5 of them cost 10,011 in all, 100 of them 10,201.
    let app = spawn_app_with_query_limits(QueryLimits {
        max_complexity: 10_050,
        ..QueryLimits::default()
    })
    .await;
    let query = "query ($n: Int, $p: Priority) { chats(limit: $n, priority: $p) { chats { id } } }";
    let cheap = app.graphql(query, json!({"n": 5})).await;
    assert_eq!(cheap.body, json!({"data": {"chats": {"chats": []}}}));

    let costly = app.graphql(query, json!({"n": 100})).await;
    assert_eq!(costly.only_error()["message"], "Query is too complex.");
    assert_eq!(costly.error_codes(), ["GRAPHQL_VALIDATION_FAILED"]);

    let wrong_value = app.graphql(query, json!({"n": 5, "p": "URGENT"})).await;
    assert_eq!(wrong_value.error_codes(), ["GRAPHQL_VALIDATION_FAILED"]);

    let again = app.graphql(query, json!({"n": 5, "p": "HIGH"})).await;
    assert_eq!(again.body, cheap.body);
}

#[tokio::test]
async fn a_repeated_text_still_needs_an_api_key() {
    let key = "document-cache-key";
    let app =
        spawn_app_with_edge(Edge::default().with_api_keys(ApiKeys::new([key.to_owned()]))).await;
    let body = json!({"query": "{ chats { total } }"});
    let ask = |with_key: bool| {
        let request = app.client.post(app.url("/graphql")).json(&body);
        let request = if with_key {
            request.header("x-api-key", key)
        } else {
            request
        };
        app.graphql_request(request)
    };
    let keyed = ask(true).await;
    assert_eq!(keyed.body, json!({"data": {"chats": {"total": 0}}}));
    let unkeyed = ask(false).await;
    assert_eq!(unkeyed.status, 401);
    assert_eq!(unkeyed.error_codes(), ["UNAUTHORIZED"]);
    assert_eq!(ask(true).await.body, keyed.body);
}

#[tokio::test]
async fn a_repeated_introspection_query_keeps_the_schema_description_null() {
    let app = spawn_app().await;
    for _ in 0..2 {
        let reply = app
            .graphql("{ __schema { description queryType { name } } }", json!({}))
            .await;
        assert_eq!(
            reply.body,
            json!({"data": {"__schema": {"description": null, "queryType": {"name": "Query"}}}})
        );
    }
}
