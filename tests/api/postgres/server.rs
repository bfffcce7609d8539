//! The server on PostgreSQL: both APIs through it, one statement per batched GraphQL field
//! whatever the page size, data kept across a restart, and 503s while the database is cut off.

use std::net::SocketAddr;
use std::sync::Arc;

use chatgate::store::Store;
use serde_json::json;

use super::{TestSchema, schema_or_skip};
use crate::helpers::pg_proxy::PgProxy;
use crate::helpers::{TestApp, manual_clock, spawn_app_with_store};

/// An app on a PostgreSQL store in `schema`, with a manual clock.
pub async fn spawn_on(schema: &TestSchema) -> TestApp {
    let clock = manual_clock();
    let store: Arc<dyn Store> = Arc::new(schema.store(clock.clone()).await);
    spawn_app_with_store(store, clock).await
}

/// An app whose store reaches the schema through `proxy`.
pub async fn spawn_through(schema: &TestSchema, proxy: &PgProxy) -> TestApp {
    let clock = manual_clock();
    let options = proxy.options(schema.options());
    let store: Arc<dyn Store> = Arc::new(schema.store_with(options, clock.clone()).await);
    spawn_app_with_store(store, clock).await
}

/// A proxy in front of the test server.
pub async fn proxy_to(schema: &TestSchema) -> PgProxy {
    let options = schema.options();
    let upstream: SocketAddr = tokio::net::lookup_host((options.get_host(), options.get_port()))
        .await
        .expect("the test server's host resolves")
        .next()
        .expect("an address");
    PgProxy::start(upstream).await
}

#[tokio::test]
async fn both_apis_serve_chats_conversations_and_messages_from_postgres() {
    let schema = schema_or_skip!();
    let app = spawn_on(&schema).await;
    let chat = app
        .rest_create_chat(json!({"title": "Weekly sync", "priority": "high", "userId": "ann"}))
        .await;
    let id = chat["id"].as_str().unwrap().to_owned();
    app.put_json(&format!("/chats/{id}"), &json!({"description": "Agenda"}))
        .await
        .expect(200);
    app.clock().advance_millis(1);
    let toggled = app.post_empty(&format!("/chats/{id}/toggle")).await;
    assert_eq!(toggled.expect(200)["active"], false);
    app.rest_create_chat(json!({"title": "Other"})).await;
    let listed = app
        .get("/chats?userId=ann&active=false&priority=high")
        .await;
    assert_eq!(
        listed.expect(200),
        &json!({
            "chats": [{
                "id": id, "title": "Weekly sync", "description": "Agenda", "active": false,
                "priority": "high", "userId": "ann", "createdAt": "2025-10-04T12:00:00.000Z",
                "updatedAt": "2025-10-04T12:00:00.002Z"
            }],
            "total": 1, "limit": 100, "offset": 0, "hasMore": false
        })
    );
    let page = app
        .graphql(
            "{ chats(limit: 1, order: DESC) { total hasMore chats { title } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        page.data(),
        &json!({"chats": {"total": 2, "hasMore": true, "chats": [{"title": "Other"}]}})
    );

    let conversation = app.rest_create_conversation("ann").await;
    let conversation_id = conversation["id"].as_str().unwrap().to_owned();
    app.rest_send_message(&conversation_id, "hello").await;
    let detail = app
        .get(&format!("/api/conversations/{conversation_id}"))
        .await;
    let detail = detail.expect(200);
    assert_eq!(detail["messageCount"], 2);
    let roles: Vec<&str> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant"]);
    app.delete(&format!("/chats/{id}")).await.expect(204);
    app.get(&format!("/chats/{id}"))
        .await
        .expect_error(404, "NOT_FOUND");
    app.delete(&format!("/api/conversations/{conversation_id}"))
        .await
        .expect(204);
    let listed = app.get("/api/conversations?userId=ann").await;
    assert_eq!(listed.expect(200)["total"], 0);
    app.get("/health/db").await.expect(200);
}

const NESTED_PAGE: &str = "query($n: Int!) { conversations(userId: \"u\", limit: $n) { total \
     conversations { id messageCount messages(limit: 2, order: DESC) { total messages { id } } } } }";

#[tokio::test]
async fn a_page_of_conversations_with_their_latest_messages_costs_the_same_statements_at_any_size()
{
    let schema = schema_or_skip!();
    let proxy = proxy_to(&schema).await;
    let app = spawn_through(&schema, &proxy).await;
    for _ in 0..50 {
        let id = app.create_conversation("u").await;
        app.send_message(&id, "hi").await;
    }
    let mut statements = Vec::new();
    for n in [5, 50] {
        // The fewest of two runs: the notification listener's idle check (one statement every
        // 10 quiet seconds) goes through the proxy too and may land in one of them.
        let mut fewest = usize::MAX;
        for _ in 0..2 {
            proxy.reset();
            let reply = app.graphql(NESTED_PAGE, json!({ "n": n })).await;
            let page = &reply.data()["conversations"]["conversations"];
            assert_eq!(page.as_array().unwrap().len(), n);
            for conversation in page.as_array().unwrap() {
                assert_eq!(conversation["messageCount"], 2);
                let messages = conversation["messages"]["messages"].as_array().unwrap();
                assert_eq!(messages.len(), 2);
            }
            fewest = fewest.min(proxy.statements());
        }
        statements.push(fewest);
    }
    // One for the page with its total, one for every conversation's messages.
    assert_eq!(statements, [2, 2]);
}

#[tokio::test]
async fn records_outlive_the_app_that_stored_them() {
    let schema = schema_or_skip!();
    let app = spawn_on(&schema).await;
    let chat = app.rest_create_chat(json!({"title": "Kept"})).await;
    let conversation = app.rest_create_conversation("ann").await;
    let conversation_id = conversation["id"].as_str().unwrap();
    app.rest_send_message(conversation_id, "remember me").await;
    app.shutdown().await;

    let restarted = spawn_on(&schema).await;
    let id = chat["id"].as_str().unwrap();
    assert_eq!(
        restarted.get(&format!("/chats/{id}")).await.expect(200),
        &chat
    );
    let messages = restarted
        .get(&format!("/api/conversations/{conversation_id}/messages"))
        .await;
    assert_eq!(
        messages.expect(200)["messages"][0]["content"],
        "remember me"
    );
}

#[tokio::test]
async fn a_database_cut_off_answers_503_until_it_is_back() {
    let schema = schema_or_skip!();
    let proxy = proxy_to(&schema).await;
    let app = spawn_through(&schema, &proxy).await;
    let chat = app.rest_create_chat(json!({"title": "Before"})).await;
    let id = chat["id"].as_str().unwrap();
    proxy.cut();
    app.get(&format!("/chats/{id}"))
        .await
        .expect_error(503, "SERVICE_UNAVAILABLE");
    app.post_json("/chats", &json!({"title": "During"}))
        .await
        .expect_error(503, "SERVICE_UNAVAILABLE");
    let reply = app.graphql("{ chats { total } }", json!({})).await;
    assert_eq!(reply.error_codes(), ["SERVICE_UNAVAILABLE"]);
    let health = app.get("/health/db").await;
    assert_eq!(health.status, 503);
    assert_eq!(
        (&health.body["status"], &health.body["database"]),
        (&json!("error"), &json!("disconnected"))
    );
    app.get("/health").await.expect(200);

    proxy.restore();
    assert_eq!(app.get(&format!("/chats/{id}")).await.expect(200), &chat);
    app.get("/health/db").await.expect(200);
}
