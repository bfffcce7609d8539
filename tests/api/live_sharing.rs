//! An event's work is done once per selection, not once per subscriber: sockets that sent the
//! same subscription share one execution and one serialized payload, each still getting its
//! own operation id; `/ws` sockets that joined a conversation share one rendered frame.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::ws_client::{
    Client, LEGACY_WS, TRANSPORT_WS, conversation_topic, expected_pair, graphql_socket, next_data,
    subscribe, wait_for_subscribers,
};

const MESSAGE_ADDED: &str = "subscription($c: ID!) { messageAdded(conversationId: $c) \
                             { id conversationId role content } }";

/// The same field with another selection.
const MESSAGE_IDS: &str = "subscription($c: ID!) { messageAdded(conversationId: $c) { id } }";

/// `count` sockets speaking `protocol`, socket `n` subscribed to `query` as operation `op-n`.
async fn subscribers(
    app: &TestApp,
    protocol: &str,
    query: &str,
    conversation: &str,
    count: usize,
) -> Vec<Client> {
    let topic = conversation_topic(conversation);
    let already = app.service.feed().receiver_count(topic);
    let mut clients = Vec::new();
    for n in 0..count {
        let mut client = graphql_socket(app, protocol).await;
        let id = format!("op-{n}");
        subscribe(
            &mut client,
            protocol,
            &id,
            query,
            json!({"c": conversation}),
        )
        .await;
        clients.push(client);
    }
    wait_for_subscribers(app, topic, already + count).await;
    clients
}

/// Each of `clients` (operation `op-n` on socket `n`) gets the two messages of `sent`.
async fn assert_each_gets_the_pair(
    clients: &mut [Client],
    protocol: &str,
    conversation: &str,
    sent: &Value,
) {
    for (n, client) in clients.iter_mut().enumerate() {
        for want in expected_pair(conversation, sent) {
            assert_eq!(next_data(client, protocol, &format!("op-{n}")).await, want);
        }
    }
}

#[tokio::test]
async fn sockets_with_the_same_subscription_share_one_execution_per_event_with_their_own_ids() {
    let app = spawn_app().await;
    for protocol in [TRANSPORT_WS, LEGACY_WS] {
        let conversation = app.create_conversation("ada").await;
        let mut clients = subscribers(&app, protocol, MESSAGE_ADDED, &conversation, 5).await;
        let before = app.executions.executions();
        let sent = app.send_message(&conversation, "hello").await;
        assert_each_gets_the_pair(&mut clients, protocol, &conversation, &sent).await;
        assert_eq!(
            app.executions.executions() - before,
            2,
            "two events, each executed once for five sockets ({protocol})"
        );
    }
}

#[tokio::test]
async fn other_variables_or_another_selection_execute_on_their_own() {
    let app = spawn_app().await;
    let first = app.create_conversation("ada").await;
    let second = app.create_conversation("bob").await;
    let mut on_first = subscribers(&app, TRANSPORT_WS, MESSAGE_ADDED, &first, 2).await;
    let mut ids_only = subscribers(&app, TRANSPORT_WS, MESSAGE_IDS, &first, 2).await;
    let mut on_second = subscribers(&app, TRANSPORT_WS, MESSAGE_ADDED, &second, 2).await;
    assert_eq!(app.executions.groups(), 3, "one group per selection");
    let before = app.executions.executions();
    let sent_first = app.send_message(&first, "one").await;
    let sent_second = app.send_message(&second, "two").await;
    assert_each_gets_the_pair(&mut on_first, TRANSPORT_WS, &first, &sent_first).await;
    for (n, client) in ids_only.iter_mut().enumerate() {
        for key in ["userMessage", "assistantMessage"] {
            let want = json!({"messageAdded": {"id": sent_first[key]["id"]}});
            assert_eq!(
                next_data(client, TRANSPORT_WS, &format!("op-{n}")).await,
                want
            );
        }
    }
    assert_each_gets_the_pair(&mut on_second, TRANSPORT_WS, &second, &sent_second).await;
    assert_eq!(
        app.executions.executions() - before,
        6,
        "three selections, two events each"
    );
    assert_eq!(app.executions.groups(), 3);
}

#[tokio::test]
async fn a_socket_joining_a_running_group_gets_only_what_follows_its_subscription() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let mut early = subscribers(&app, TRANSPORT_WS, MESSAGE_ADDED, &conversation, 1).await;
    let first = app.send_message(&conversation, "first").await;
    for want in expected_pair(&conversation, &first) {
        assert_eq!(next_data(&mut early[0], TRANSPORT_WS, "op-0").await, want);
    }
    let mut late = subscribers(&app, TRANSPORT_WS, MESSAGE_ADDED, &conversation, 1).await;
    let second = app.send_message(&conversation, "second").await;
    for client in [&mut early[0], &mut late[0]] {
        for want in expected_pair(&conversation, &second) {
            assert_eq!(next_data(client, TRANSPORT_WS, "op-0").await, want);
        }
    }
    assert_eq!(app.executions.executions(), 4, "each event once");
}

#[tokio::test]
async fn an_unsubscribed_group_is_gone_and_completion_on_delete_reaches_every_socket() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let mut clients = subscribers(&app, TRANSPORT_WS, MESSAGE_ADDED, &conversation, 3).await;
    let sent = app.send_message(&conversation, "hello").await;
    assert_each_gets_the_pair(&mut clients, TRANSPORT_WS, &conversation, &sent).await;
    assert_eq!(app.executions.groups(), 1);
    let deleted = app
        .graphql(
            "mutation($c: ID!) { deleteConversation(id: $c) }",
            json!({"c": conversation}),
        )
        .await;
    assert!(deleted.body.get("errors").is_none(), "{:?}", deleted.body);
    for (n, client) in clients.iter_mut().enumerate() {
        assert_eq!(
            client.next().await,
            json!({"id": format!("op-{n}"), "type": "complete"})
        );
    }
    crate::ws_client::wait_until(|| app.executions.groups() == 0, "the group to go").await;
}

#[tokio::test]
async fn ws_sockets_in_one_conversation_share_each_rendered_frame() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        let mut client = Client::open(&app, "/ws", None).await;
        client
            .send(json!({"type": "join", "conversationId": conversation}))
            .await;
        assert_eq!(client.next().await["type"], "joined");
        clients.push(client);
    }
    let before = app.sockets.join_frames().renders();
    let sent = app.send_message(&conversation, "hello").await;
    let mut received = Vec::new();
    for client in &mut clients {
        // The user's message, the reply's pieces, the reply.
        let mut frames = vec![client.next().await];
        while frames.last().unwrap()["message"]["id"] != sent["assistantMessage"]["id"] {
            frames.push(client.next().await);
        }
        assert_eq!(frames[0]["message"]["id"], sent["userMessage"]["id"]);
        received.push(frames);
    }
    assert!(received.iter().all(|frames| *frames == received[0]));
    assert_eq!(
        app.sockets.join_frames().renders() - before,
        received[0].len() as u64,
        "each frame rendered once for five sockets"
    );
}
