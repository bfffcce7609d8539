//! The committed `schema.graphql` is the schema the code builds, and the server serves it.

use serde_json::json;

use crate::helpers::schema_facts::differences;
use crate::helpers::spawn_app;

/// graphql-js's introspection query with every option, as GraphiQL and code generators send it.
const INTROSPECTION: &str = include_str!("fixtures/graphql-js-introspection-all-options.graphql");

fn committed_schema() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    std::fs::read_to_string(path).expect("schema.graphql exists at the repository root")
}

#[test]
fn schema_graphql_matches_the_code() {
    assert!(
        committed_schema() == chatgate::graphql::sdl(),
        "schema.graphql is out of date with the code; regenerate it with \
         `cargo run --example print_schema > schema.graphql` and commit it"
    );
}

#[tokio::test]
async fn schema_graphql_states_exactly_what_introspection_describes() {
    let app = spawn_app().await;
    let reply = app.graphql(INTROSPECTION, json!({})).await;
    let file = committed_schema();
    let differences = differences(&file, reply.data());
    assert!(
        differences.is_empty(),
        "schema.graphql and introspection disagree:\n{}",
        differences.join("\n")
    );
    let date_time =
        r#"scalar DateTime @specifiedBy(url: "https://datatracker.ietf.org/doc/html/rfc3339")"#;
    assert!(file.contains(date_time), "{file}");
    app.shutdown().await;
}

#[tokio::test]
async fn get_schema_graphql_serves_the_committed_schema() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/schema.graphql"))
        .send()
        .await
        .expect("request reaches the server");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    let served = response.text().await.expect("readable body");
    assert!(
        served == committed_schema(),
        "GET /schema.graphql differs from schema.graphql"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn the_schema_has_no_description_so_introspection_answers_null() {
    let app = spawn_app().await;
    let reply = app
        .graphql(
            "{ __schema { description queryType { name } } again: __schema { d: description } }",
            json!({}),
        )
        .await;
    assert_eq!(
        reply.data(),
        &json!({
            "__schema": {"description": null, "queryType": {"name": "Query"}},
            "again": {"d": null},
        })
    );
    app.shutdown().await;
}
