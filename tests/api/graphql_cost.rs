//! How much a query may ask for: the default cost limit admits what users naturally write (two
//! nested lists at their default page sizes, every field selected) and refuses abuse (three
//! nested full pages, thousands of aliased lists, more than 24 top-level fields);
//! `__typename` counts like any field; both limits are configurable.

use chatgate::graphql::QueryLimits;
use serde_json::{Value, json};

use crate::helpers::binary::start;
use crate::helpers::{
    CONVERSATION_FIELDS, MESSAGE_FIELDS, TestApp, spawn_app, spawn_app_with_query_limits,
};

const PAGE_FIELDS: &str = "__typename total limit offset hasMore";

fn too_complex() -> Value {
    json!({ "errors": [{
        "message": "Query is too complex.",
        "extensions": { "code": "GRAPHQL_VALIDATION_FAILED" },
    }] })
}

/// A user with a conversation holding a few messages; returns the conversation and a message.
async fn seeded(app: &TestApp) -> (String, String) {
    let conversation = app.create_conversation("u").await;
    let sent = app.send_message(&conversation, "hello").await;
    let message = sent["userMessage"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    (conversation, message)
}

#[tokio::test]
async fn the_queries_users_naturally_write_run_at_the_default_limit() {
    let app = spawn_app().await;
    let (conversation, message) = seeded(&app).await;
    let message_all = format!("__typename {MESSAGE_FIELDS}");
    let conversation_all = format!("__typename {CONVERSATION_FIELDS}");
    let queries = [
        // A user's conversations with their messages.
        "{ conversations(userId: \"u\") { conversations { id messages { messages { id content } } } } }"
            .to_owned(),
        // From a message to its conversation's messages, and from each to theirs.
        format!(
            "{{ message(id: \"{message}\") {{ conversation {{ messages {{ messages {{ \
             conversation {{ messages {{ messages {{ id }} }} }} }} }} }} }} }}"
        ),
        // The same two shapes with every field selected at every level.
        format!(
            "{{ conversations(userId: \"u\") {{ {PAGE_FIELDS} conversations {{ {conversation_all} \
             messages {{ {PAGE_FIELDS} messages {{ {message_all} conversation {{ {conversation_all} }} }} }} }} }} }}"
        ),
        format!(
            "{{ messages(conversationId: \"{conversation}\") {{ {PAGE_FIELDS} messages {{ {message_all} \
             conversation {{ {conversation_all} messages {{ {PAGE_FIELDS} messages {{ {message_all} \
             conversation {{ {conversation_all} }} }} }} }} }} }} }}"
        ),
    ];
    for query in queries {
        let reply = app.graphql(&query, json!({})).await;
        assert!(reply.data().is_object(), "{query}: {}", reply.body);
    }
}

#[tokio::test]
async fn three_nested_full_pages_and_thousands_of_aliased_lists_are_refused() {
    let app = spawn_app().await;
    let cube = "{ conversations(userId: \"u\", limit: 100) { conversations { messages(limit: 100) \
                { messages { conversation { messages(limit: 100) { messages { id } } } } } } } }";
    let aliased: String = (0..2_000)
        .map(|i| format!("l{i}: chats {{ total }} "))
        .collect();
    let reply = app.graphql(cube, json!({})).await;
    assert_eq!(reply.body, too_complex());
    // Thousands of aliases are refused by the document limits before any cost is counted.
    let reply = app.graphql(&format!("{{ {aliased} }}"), json!({})).await;
    assert_eq!(
        reply.body["errors"][0]["message"],
        "Query has too many aliases: 2000, at most 500 are allowed."
    );
    assert_eq!(
        reply.body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    assert!(reply.body.get("data").is_none(), "{}", reply.body);
}

#[tokio::test]
async fn a_query_holds_at_most_24_top_level_fields() {
    let app = spawn_app().await;
    let lookups = |n: usize| -> String {
        let fields: String = (0..n)
            .map(|i| format!("c{i}: chat(id: \"x\") {{ id }} "))
            .collect();
        format!("{{ {fields} }}")
    };
    let at_most = app.graphql(&lookups(24), json!({})).await;
    assert_eq!(at_most.data()["c23"], Value::Null);
    let one_more = app.graphql(&lookups(25), json!({})).await;
    assert_eq!(one_more.body, too_complex());
}

#[tokio::test]
async fn typename_counts_like_any_other_field() {
    let app = spawn_app().await;
    // Within the document limits (tokens, aliases), so the cost is what refuses them.
    let at_top: String = (0..25).map(|i| format!("t{i}: __typename ")).collect();
    let reply = app.graphql(&format!("{{ {at_top} }}"), json!({})).await;
    assert_eq!(reply.body, too_complex(), "25 top-level __typename");
    let in_page = "__typename ".repeat(3_000);
    let reply = app
        .graphql(
            &format!("{{ chats {{ chats {{ {in_page} }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(
        reply.body,
        too_complex(),
        "3,000 __typename in a page of 100"
    );

    // Exactly: a page of 100 items costs 1 + 100 × (fields per item), plus 10,000 at the top.
    let app = spawn_app_with_query_limits(QueryLimits {
        max_complexity: 10_301,
        ..QueryLimits::default()
    })
    .await;
    let three_per_item = app
        .graphql(
            "{ chats { chats { id __typename t: __typename } } }",
            json!({}),
        )
        .await;
    assert_eq!(three_per_item.body, too_complex());
    let two_per_item = app
        .graphql("{ chats { chats { id __typename } } }", json!({}))
        .await;
    assert_eq!(two_per_item.data(), &json!({ "chats": { "chats": [] } }));
}

#[tokio::test]
async fn max_depth_and_max_complexity_come_from_the_environment() {
    let server = start(&[("MAX_DEPTH", "3"), ("MAX_COMPLEXITY", "20000")]).await;
    let client = reqwest::Client::new();
    let ask = |query: &str| {
        client
            .post(format!("http://{}/graphql", server.address))
            .json(&json!({ "query": query }))
            .send()
    };
    let body = crate::helpers::quotes::quoted_json;
    let three_deep = body(ask("{ chats { chats { id } } }").await.unwrap()).await;
    assert_eq!(three_deep, json!({ "data": { "chats": { "chats": [] } } }));
    let four_deep = body(
        ask("{ conversations(userId: \"u\") { conversations { messages { total } } } }")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        four_deep["errors"][0]["message"],
        "Query is nested too deep."
    );
    let two_top_level = body(
        ask("{ a: chats { total } b: chats { total } }")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(two_top_level, too_complex());
}
