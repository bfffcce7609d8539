//! A socket that stops reading lags on its own: a socket beside it with the same subscription
//! (so the same shared execution) keeps getting every event, in order, up to the last one,
//! while the stalled one gets the lag rule's treatment (a gap-free prefix, then
//! `SUBSCRIPTION_LAGGED` and `complete`).
//!
//! The flood goes through the service on a multi-threaded runtime, paced so the reading socket
//! never falls anywhere near the lag limit behind: unpaced, the service stores events faster
//! than a socket writes 4,000-character frames, and a reader that falls 1,024 events behind
//! rightly lags too. The stalled client shrinks its receive buffer and the flood's events are
//! large, so it surely lags (see `live_lag`).

use serde_json::{Value, json};
use tokio::sync::watch;

use crate::helpers::{TestApp, spawn_app};
use crate::ws_client::{Client, TRANSPORT_WS, conversation_topic, subscribe, wait_for_subscribers};

/// Sends in the flood (two events each), and the size of their text.
const FLOOD_SENDS: usize = 1_200;
const FLOOD_CHARS: usize = 4_000;
/// The stalled client's TCP receive buffer.
const SMALL_BUFFER: u32 = 4_096;
/// How far (in events) the flood may run ahead of the reading socket: well inside the lag limit.
const READER_SLACK: usize = 256;

const MESSAGE_ADDED_WITH_TEXT: &str =
    "subscription($c: ID!) { messageAdded(conversationId: $c) { id content } }";

/// An acknowledged graphql-transport-ws socket subscribed as operation `m`.
async fn subscribed(app: &TestApp, conversation: &str, receive_buffer: Option<u32>) -> Client {
    let mut client = match receive_buffer {
        Some(bytes) => {
            Client::open_with_small_buffer(app, "/graphql", Some(TRANSPORT_WS), bytes).await
        }
        None => Client::open(app, "/graphql", Some(TRANSPORT_WS)).await,
    };
    client.send(json!({"type": "connection_init"})).await;
    assert_eq!(client.next().await, json!({"type": "connection_ack"}));
    let variables = json!({"c": conversation});
    subscribe(
        &mut client,
        TRANSPORT_WS,
        "m",
        MESSAGE_ADDED_WITH_TEXT,
        variables,
    )
    .await;
    client
}

/// Sends `count` messages, waiting whenever the reader is more than [`READER_SLACK`] events
/// behind; returns the ids of every stored message in stored order.
async fn paced_flood(
    app: &TestApp,
    conversation: &str,
    count: usize,
    read: &mut watch::Receiver<usize>,
) -> Vec<String> {
    let content = "x".repeat(FLOOD_CHARS);
    let mut ids = Vec::with_capacity(2 * count);
    for _ in 0..count {
        let slack: usize = std::env::var("SLACK")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(READER_SLACK);
        let behind = |taken: &usize| ids.len() <= taken + slack;
        read.wait_for(behind).await.expect("the reader runs");
        let message = chatgate::domain::NewMessage::parse_user(
            chatgate::domain::Field::Value(content.clone()),
            chatgate::domain::Field::Absent,
        )
        .expect("a valid message");
        let (user, assistant) = app
            .service
            .send_message(conversation, message)
            .await
            .expect("the message is stored");
        ids.extend([user.id.to_string(), assistant.id.to_string()]);
    }
    ids
}

/// The next message of operation `m`, past the server's keep-alive pings (a slow store makes
/// the flood outlast their interval).
async fn next_of_m(client: &mut Client) -> Value {
    loop {
        let message = client.next().await;
        if message != json!({"type": "ping"}) {
            assert_eq!(message["id"], "m", "in {message}");
            return message;
        }
    }
}

/// Reads results of operation `m` until one carries no message: the ids before it, and it.
async fn read_until_lagged(client: &mut Client) -> (Vec<String>, Value) {
    let mut ids = Vec::new();
    loop {
        let message = next_of_m(client).await;
        assert_eq!(
            (&message["type"], &message["id"]),
            (&json!("next"), &json!("m"))
        );
        match message["payload"]["data"]["messageAdded"]["id"].as_str() {
            Some(id) => ids.push(id.to_owned()),
            None => return (ids, message),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_gets_every_event_to_the_last_while_a_socket_with_the_same_subscription_lags() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let mut stalled = subscribed(&app, &conversation, Some(SMALL_BUFFER)).await;
    let mut reader = subscribed(&app, &conversation, None).await;
    wait_for_subscribers(&app, conversation_topic(&conversation), 2).await;
    let before = app.executions.executions();

    let (taken, mut read) = watch::channel(0);
    let reading = tokio::spawn(async move {
        let mut ids = Vec::with_capacity(2 * FLOOD_SENDS);
        while ids.len() < 2 * FLOOD_SENDS {
            let message = next_of_m(&mut reader).await;
            assert_eq!(message["type"], "next", "in {message}");
            let id = &message["payload"]["data"]["messageAdded"]["id"];
            let id = id
                .as_str()
                .unwrap_or_else(|| panic!("a message, not {message}"));
            ids.push(id.to_owned());
            taken.send_replace(ids.len());
        }
        (reader, ids)
    });
    let stored = paced_flood(&app, &conversation, FLOOD_SENDS, &mut read).await;
    // The stalled socket reads again while the reader still takes the flood's last events:
    // its lag is rendered by the execution the two share, between the reader's events.
    let ((prefix, lagged), reading) = tokio::join!(read_until_lagged(&mut stalled), reading);
    let (mut reader, received) = reading.expect("the reader read every event");
    assert_eq!(
        received, stored,
        "every event, in stored order, to the last"
    );

    assert!(
        prefix.len() + 1024 < stored.len(),
        "the stalled socket lagged"
    );
    assert_eq!(prefix, stored[..prefix.len()], "a gap-free prefix");
    let error = &lagged["payload"]["errors"][0];
    assert_eq!(error["extensions"], json!({"code": "SUBSCRIPTION_LAGGED"}));
    assert_eq!(
        next_of_m(&mut stalled).await,
        json!({"id": "m", "type": "complete"})
    );

    // The reader's subscription is still live after its neighbour lagged.
    let sent = app.send_message(&conversation, "after the lag").await;
    for key in ["userMessage", "assistantMessage"] {
        let message = next_of_m(&mut reader).await;
        let id = &message["payload"]["data"]["messageAdded"]["id"];
        assert_eq!(id, &sent[key]["id"], "in {message}");
    }
    assert!(
        app.executions.executions() - before < 2 * stored.len() as u64,
        "the two sockets shared their executions"
    );
}
