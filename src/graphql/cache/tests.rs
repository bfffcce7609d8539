//! The document cache inside the real `/graphql` executor: what it keeps, and that every
//! per-request check still runs on a cached text, which takes the executor's fast path.

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, Variables};
use serde_json::{Value, json};

use super::{DocumentCache, declares_no_variables};
use crate::assistant::BuiltinResponder;
use crate::domain::SystemClock;
use crate::graphql::{Executor, QueryLimits, build_executor};
use crate::metrics::Metrics;
use crate::service::ChatService;
use crate::store::MemoryStore;

fn schema(cache: &DocumentCache, max_complexity: usize) -> Executor {
    observed(cache, max_complexity, &Metrics::off())
}

fn observed(cache: &DocumentCache, max_complexity: usize, metrics: &Metrics) -> Executor {
    let clock = Arc::new(SystemClock);
    let service = ChatService::new(
        Arc::new(MemoryStore::new(clock.clone())),
        Arc::new(BuiltinResponder::new(clock)),
    );
    let limits = QueryLimits {
        max_complexity,
        ..QueryLimits::default()
    };
    build_executor(service, limits, metrics, cache.clone())
}

async fn run(schema: &Executor, query: &str, variables: Value) -> Value {
    let request = Request::new(query).variables(Variables::from_json(variables));
    serde_json::to_value(schema.execute(request).await).expect("a response serializes")
}

fn codes(response: &Value) -> Vec<&str> {
    response["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["extensions"]["code"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_same_text_is_parsed_once_and_answers_the_same() {
    let cache = DocumentCache::new(10);
    let schema = schema(&cache, crate::graphql::DEFAULT_MAX_COMPLEXITY);
    let query = "{ chats(limit: 2) { total chats { id } } }";
    let first = run(&schema, query, json!({})).await;
    let second = run(&schema, query, json!({})).await;
    assert_eq!(first, json!({"data": {"chats": {"total": 0, "chats": []}}}));
    assert_eq!(first, second);
    assert_eq!((cache.len(), cache.hits()), (1, 1));
}

#[tokio::test]
async fn the_cost_of_a_cached_text_is_counted_with_each_requests_variables() {
    let cache = DocumentCache::new(10);
    // A page's items cost 2 each (`chats { id }`): 5 of them cost 10,000 + 1 + 5 × 2 = 10,011,
    // 100 of them 10,201.
    let schema = schema(&cache, 10_050);
    let query = "query ($n: Int) { chats(limit: $n) { chats { id } } }";
    let cheap = run(&schema, query, json!({"n": 5})).await;
    assert_eq!(codes(&cheap), Vec::<&str>::new(), "{cheap}");
    let costly = run(&schema, query, json!({"n": 100})).await;
    assert_eq!(costly["errors"][0]["message"], "Query is too complex.");
    assert_eq!(codes(&costly), ["GRAPHQL_VALIDATION_FAILED"]);
    assert!(costly.get("data").is_none_or(Value::is_null), "{costly}");
    let cheap_again = run(&schema, query, json!({"n": 5})).await;
    assert_eq!(cheap, cheap_again);
    assert_eq!(cache.hits(), 2, "the refused request was a hit too");
}

#[tokio::test]
async fn variable_values_and_required_variables_are_checked_on_every_hit() {
    let cache = DocumentCache::new(10);
    let schema = schema(&cache, crate::graphql::DEFAULT_MAX_COMPLEXITY);
    let query = "query ($p: Priority!) { chats(priority: $p) { total } }";
    let good = run(&schema, query, json!({"p": "HIGH"})).await;
    assert_eq!(good, json!({"data": {"chats": {"total": 0}}}));
    let wrong_value = run(&schema, query, json!({"p": "URGENT"})).await;
    assert_eq!(codes(&wrong_value), ["GRAPHQL_VALIDATION_FAILED"]);
    let missing = run(&schema, query, json!({})).await;
    assert_eq!(codes(&missing), ["GRAPHQL_VALIDATION_FAILED"]);
    assert_eq!(
        missing["errors"][0]["message"],
        "Variable \"$p\" of required type \"Priority!\" was not provided."
    );
    assert_eq!(run(&schema, query, json!({"p": "HIGH"})).await, good);
    assert_eq!((cache.len(), cache.hits()), (1, 3));
}

#[tokio::test]
async fn values_of_a_shape_validated_before_skip_validation_and_others_do_not() {
    let cache = DocumentCache::new(10);
    let schema = schema(&cache, crate::graphql::DEFAULT_MAX_COMPLEXITY);
    let query = "query ($id: ID!, $n: Int) { chat(id: $id) { id } chats(limit: $n) { total } }";
    let ok = json!({"data": {"chat": null, "chats": {"total": 0}}});
    // The first sight validates in the pipeline, the second on the fast path.
    assert_eq!(run(&schema, query, json!({"id": "a", "n": 5})).await, ok);
    assert_eq!(run(&schema, query, json!({"id": "b", "n": 5})).await, ok);
    let entry = cache.documents.lock().peek(query).cloned().expect("cached");
    let shape_of = |value: Value| entry.shapes.shape(&Variables::from_json(value));
    assert!(
        entry
            .shapes
            .validated(&shape_of(json!({"id": "any", "n": 5})))
    );
    for (bad, message) in [
        (
            json!({"id": "c", "n": "five"}),
            "Invalid value for argument \"limit\"",
        ),
        (
            json!({"id": 3.5, "n": 5}),
            "Invalid value for argument \"id\"",
        ),
    ] {
        let response = run(&schema, query, bad.clone()).await;
        assert_eq!(
            codes(&response),
            ["GRAPHQL_VALIDATION_FAILED"],
            "{response}"
        );
        let said = response["errors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(said.starts_with(message), "{said}");
        assert!(!entry.shapes.validated(&shape_of(bad)));
    }
    assert_eq!(run(&schema, query, json!({"id": "d", "n": 5})).await, ok);
    assert_eq!(run(&schema, query, json!({"id": "e", "n": 6})).await, ok);
    assert!(
        entry
            .shapes
            .validated(&shape_of(json!({"id": "any", "n": 6})))
    );
}

#[tokio::test]
async fn a_document_that_fails_to_parse_or_validate_is_not_cached() {
    let cache = DocumentCache::new(10);
    let schema = schema(&cache, crate::graphql::DEFAULT_MAX_COMPLEXITY);
    for (query, code) in [
        ("{ chats { total }", "GRAPHQL_PARSE_FAILED"),
        ("{ chats { nope } }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "{ a0: chats { total } a1: chats { total } a2: chats { total } a3: chats { total } a4: chats { total } a5: chats { total } a6: chats { total } a7: chats { total } a8: chats { total } a9: chats { total } b0: chats { total } b1: chats { total } b2: chats { total } b3: chats { total } b4: chats { total } b5: chats { total } b6: chats { total } b7: chats { total } b8: chats { total } b9: chats { total } c0: chats { total } c1: chats { total } c2: chats { total } c3: chats { total } c4: chats { total } c5: chats { total } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ] {
        for _ in 0..2 {
            let response = run(&schema, query, json!({})).await;
            assert_eq!(codes(&response), [code], "{query}: {response}");
        }
    }
    assert_eq!((cache.len(), cache.hits()), (0, 0));
}

#[tokio::test]
async fn the_cache_is_bounded_least_recently_used_out_first() {
    let cache = DocumentCache::new(2);
    let schema = schema(&cache, crate::graphql::DEFAULT_MAX_COMPLEXITY);
    let texts = [
        "{ a: chats { total } }",
        "{ b: chats { total } }",
        "{ c: chats { total } }",
    ];
    run(&schema, texts[0], json!({})).await;
    run(&schema, texts[1], json!({})).await;
    run(&schema, texts[0], json!({})).await; // a hit: the first text is now the most recent
    run(&schema, texts[2], json!({})).await; // evicts the second
    assert_eq!((cache.len(), cache.hits()), (2, 1));
    run(&schema, texts[0], json!({})).await;
    assert_eq!(cache.hits(), 2, "the first text stayed");
    run(&schema, texts[1], json!({})).await;
    assert_eq!(cache.hits(), 2, "the second text was evicted");
}

#[tokio::test]
async fn a_text_longer_than_the_cached_maximum_is_parsed_every_time() {
    let cache = DocumentCache::new(10);
    let schema = schema(&cache, crate::graphql::DEFAULT_MAX_COMPLEXITY);
    let padding = " ".repeat(super::MAX_CACHED_QUERY_BYTES);
    let query = format!("{{ chats {{ total }} }}{padding}");
    for _ in 0..2 {
        let response = run(&schema, &query, json!({})).await;
        assert_eq!(response, json!({"data": {"chats": {"total": 0}}}));
    }
    assert_eq!((cache.len(), cache.hits()), (0, 0));
}

#[tokio::test]
async fn a_text_selecting_the_schema_root_is_not_cached_and_its_description_stays_null() {
    let cache = DocumentCache::new(10);
    let schema = schema(&cache, crate::graphql::DEFAULT_MAX_COMPLEXITY);
    let query = "{ s: __schema { d: description queryType { name } } }";
    for _ in 0..2 {
        let response = run(&schema, query, json!({})).await;
        assert_eq!(
            response,
            json!({"data": {"s": {"d": null, "queryType": {"name": "Query"}}}})
        );
    }
    assert_eq!((cache.len(), cache.hits()), (0, 0));
}

#[tokio::test]
async fn a_cached_text_is_measured_like_a_new_one() {
    let cache = DocumentCache::new(10);
    let metrics = Metrics::new();
    let schema = observed(&cache, crate::graphql::DEFAULT_MAX_COMPLEXITY, &metrics);
    let query = "query Pick($id: ID!) { chat(id: $id) { id } }";
    for _ in 0..3 {
        let response = run(&schema, query, json!({"id": "nope"})).await;
        assert_eq!(response, json!({"data": {"chat": null}}));
    }
    let refused = run(&schema, query, json!({})).await;
    assert_eq!(codes(&refused), ["GRAPHQL_VALIDATION_FAILED"]);
    assert_eq!(cache.hits(), 3);
    let text = metrics.render(0);
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .to_owned()
    };
    assert!(
        line(r#"chatgate_graphql_operations_total{operation_type="query",operation_name="Pick",outcome="ok"}"#)
            .ends_with(" 3"),
        "{text}"
    );
    assert!(
        line(r#"chatgate_graphql_operations_total{operation_type="unknown",operation_name="other",outcome="error"}"#)
            .ends_with(" 1"),
        "{text}"
    );
    assert!(
        line(r#"chatgate_errors_total{code="GRAPHQL_VALIDATION_FAILED"}"#).ends_with(" 1"),
        "{text}"
    );
}

fn parse(query: &str) -> ExecutableDocument {
    async_graphql::parser::parse_query(query).expect("parses")
}

#[test]
fn only_documents_without_variable_definitions_are_variable_free() {
    assert!(declares_no_variables(&parse("{ chats { total } }")));
    assert!(declares_no_variables(&parse(
        "query A { chats { total } } query B { chat(id: \"x\") { id } }"
    )));
    assert!(!declares_no_variables(&parse(
        "query ($id: ID!) { chat(id: $id) { id } }"
    )));
    assert!(!declares_no_variables(&parse(
        "query A { chats { total } } query B($id: ID!) { chat(id: $id) { id } }"
    )));
}

#[test]
fn a_capacity_of_zero_still_holds_one_document() {
    let cache = DocumentCache::new(0);
    assert_eq!(cache.documents.lock().cap().get(), 1);
}
