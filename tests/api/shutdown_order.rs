//! The order of a graceful stop, through the real server: the listener closes, requests in
//! flight finish, the events they stored reach live subscribers on both socket protocols, and
//! only then do the sockets close with 1001.

use std::sync::Arc;

use async_trait::async_trait;
use chatgate::assistant::{ReplyPiece, ReplyRequest, ReplyStream, Responder};
use chatgate::error::AppResult;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::helpers::{TestApp, spawn_app_with_responder};
use crate::ws_client::{
    Client, TRANSPORT_WS, conversation_topic, graphql_socket, next_data, subscribe,
    wait_for_subscribers, wait_until,
};

/// An assistant that answers only once the test opens its gate, and tells when it was asked.
struct GatedAssistant {
    asked: Arc<Semaphore>,
    gate: Arc<Semaphore>,
}

#[async_trait]
impl Responder for GatedAssistant {
    async fn respond(&self, _request: ReplyRequest) -> AppResult<ReplyStream> {
        self.asked.add_permits(1);
        self.gate
            .acquire()
            .await
            .expect("the gate stays open")
            .forget();
        Ok(Box::pin(futures::stream::once(async {
            Ok(ReplyPiece::Text("answered after the stop began".to_owned()))
        })))
    }
}

/// Waits until nothing accepts connections on the app's address any more.
async fn wait_until_the_listener_is_closed(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while tokio::net::TcpStream::connect(app.address).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the listener closes when the stop begins"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn messages_acknowledged_during_shutdown_reach_subscribers_before_their_sockets_close() {
    let asked = Arc::new(Semaphore::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let assistant = GatedAssistant {
        asked: asked.clone(),
        gate: gate.clone(),
    };
    let mut app = spawn_app_with_responder(Arc::new(assistant)).await;
    let conversation = app.create_conversation("ada").await;

    let mut graphql = graphql_socket(&app, TRANSPORT_WS).await;
    let query = "subscription($c: ID!) { messageAdded(conversationId: $c) { role content } }";
    subscribe(
        &mut graphql,
        TRANSPORT_WS,
        "m",
        query,
        json!({"c": conversation}),
    )
    .await;
    let mut join = Client::open(&app, "/ws", None).await;
    join.send(json!({"type": "join", "conversationId": conversation}))
        .await;
    assert_eq!(join.next().await["type"], "joined");
    wait_for_subscribers(&app, conversation_topic(&conversation), 2).await;

    let posting = tokio::spawn({
        let request = app
            .client
            .post(app.url(&format!("/api/conversations/{conversation}/messages")))
            .json(&json!({"content": "hello"}));
        async move { request.send().await.expect("the request is answered") }
    });
    asked
        .acquire()
        .await
        .expect("the assistant is asked")
        .forget();
    let user_message = json!({"role": "USER", "content": "hello"});
    let data = next_data(&mut graphql, TRANSPORT_WS, "m").await;
    assert_eq!(data["messageAdded"], user_message);
    assert_eq!(join.next().await["message"]["content"], "hello");

    app.begin_shutdown();
    wait_until_the_listener_is_closed(&app).await;
    // The stop has begun while the request is in flight; the sockets still serve as usual.
    graphql.send(json!({"type": "ping"})).await;
    assert_eq!(graphql.next().await, json!({"type": "pong"}));
    join.send(json!({"type": "ping"})).await;
    assert_eq!(join.next().await, json!({"type": "pong"}));
    gate.add_permits(1);
    let response = posting.await.expect("posting task");
    assert_eq!(response.status(), 201);
    let acknowledged: Value = response.json().await.expect("JSON body");
    assert_eq!(
        acknowledged["assistantMessage"]["content"],
        "answered after the stop began"
    );

    let data = next_data(&mut graphql, TRANSPORT_WS, "m").await;
    assert_eq!(
        data["messageAdded"],
        json!({"role": "ASSISTANT", "content": "answered after the stop began"})
    );
    assert_eq!(
        graphql.closed().await,
        (1001, "server shutting down".into())
    );
    // `/ws` also carries the reply's pieces while it is written; the stored message follows them.
    let mut pushed = join.next().await;
    while pushed["type"] == "delta" {
        assert_eq!(pushed["delta"], "answered after the stop began");
        pushed = join.next().await;
    }
    assert_eq!(pushed["type"], "message", "{pushed}");
    assert_eq!(
        pushed["message"]["content"],
        "answered after the stop began"
    );
    assert_eq!(join.closed().await, (1001, "server shutting down".into()));
    wait_until(|| app.sockets.open() == 0, "every socket to be released").await;
    app.shutdown().await;
}
