//! `GET /health/ready`: 200 while the store answers and the server is not draining, 503
//! otherwise; open without a key and never rate-limited.

use std::sync::Arc;

use chatgate::edge::Edge;
use chatgate::edge::api_keys::ApiKeys;
use serde_json::json;

use crate::helpers::{manual_clock, spawn_app, spawn_app_with_edge, spawn_app_with_store};
use crate::rest_health::UnreachableStore;
use crate::ws_client::{TRANSPORT_WS, graphql_socket};

#[tokio::test]
async fn a_serving_app_with_a_store_that_answers_is_ready() {
    let app = spawn_app().await;
    assert_eq!(
        app.get("/health/ready").await.expect(200),
        &json!({"status": "ready", "database": "connected"})
    );
}

#[tokio::test]
async fn an_unreachable_store_makes_the_app_not_ready() {
    let app = spawn_app_with_store(Arc::new(UnreachableStore), manual_clock()).await;
    let reply = app.get("/health/ready").await;
    assert_eq!(
        reply.expect_error(503, "SERVICE_UNAVAILABLE"),
        json!({"draining": false, "database": "disconnected"})
    );
}

#[tokio::test]
async fn draining_makes_the_app_not_ready_while_sockets_and_routes_still_serve() {
    let app = spawn_app().await;
    let _socket = graphql_socket(&app, TRANSPORT_WS).await;
    app.readiness.start_draining();
    let reply = app.get("/health/ready").await;
    assert_eq!(
        reply.expect_error(503, "SERVICE_UNAVAILABLE"),
        json!({"draining": true, "database": "connected"})
    );
    assert_eq!(app.sockets.open(), 1, "the socket is still open");
    app.get("/chats").await.expect(200);
    app.shutdown().await;
}

#[tokio::test]
async fn readiness_needs_no_key_and_is_never_rate_limited() {
    let edge = Edge::default()
        .with_api_keys(ApiKeys::new(["s3cret".to_owned()]))
        .with_rate_limit(1, 100);
    let app = spawn_app_with_edge(edge).await;
    for _ in 0..5 {
        app.get("/health/ready").await.expect(200);
    }
}
