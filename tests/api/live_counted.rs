//! A socket's subscription hands its live stream to its selection's group and frees its own
//! request's state, yet it is still one operation to the metrics: counted once, when it ends,
//! with its outcome (a lag counts as an error, see `live_lag`).

use serde_json::json;

use crate::helpers::spawn_app;
use crate::metrics::{eventually, sample, scrape};
use crate::ws_client::{
    TRANSPORT_WS, conversation_topic, expected_pair, graphql_socket, next_data, subscribe,
    wait_for_subscribers,
};

const WATCH: &str = "subscription Watch($c: ID!) { messageAdded(conversationId: $c) \
                     { id conversationId role content } }";

const WATCHED: &str = "chatgate_graphql_operations_total{operation_type=\"subscription\",\
                       operation_name=\"Watch\",outcome=\"ok\"}";

#[tokio::test]
async fn shared_subscriptions_are_counted_once_each_when_they_end_not_while_they_run() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let mut clients = Vec::new();
    for _ in 0..2 {
        let mut client = graphql_socket(&app, TRANSPORT_WS).await;
        let variables = json!({"c": conversation});
        subscribe(&mut client, TRANSPORT_WS, "w", WATCH, variables).await;
        clients.push(client);
    }
    wait_for_subscribers(&app, conversation_topic(&conversation), 2).await;
    let sent = app.send_message(&conversation, "hello").await;
    for client in &mut clients {
        for want in expected_pair(&conversation, &sent) {
            assert_eq!(next_data(client, TRANSPORT_WS, "w").await, want);
        }
    }
    let running = scrape(&app, None).await;
    assert_eq!(
        sample(&running, WATCHED).unwrap_or(0.0),
        0.0,
        "not counted while running"
    );

    clients[0]
        .send(json!({"type": "complete", "id": "w"}))
        .await;
    eventually(&app, WATCHED, 1.0).await;
    let sent = app.send_message(&conversation, "still there").await;
    for want in expected_pair(&conversation, &sent) {
        assert_eq!(next_data(&mut clients[1], TRANSPORT_WS, "w").await, want);
    }
    clients[1]
        .send(json!({"type": "complete", "id": "w"}))
        .await;
    eventually(&app, WATCHED, 2.0).await;
}
