//! The lag rule on real sockets: a subscriber may fall 1024 of its own events behind; beyond
//! that it is told (`SUBSCRIPTION_LAGGED`) after a gap-free prefix, never silently skipped, and
//! resumes with `after` from the last message it received; traffic elsewhere never makes it
//! lag.
//!
//! The floods go through the service (what every transport calls) while the client does not
//! read, on a multi-threaded runtime so the server keeps writing meanwhile. Loopback socket
//! buffers could hide a backlog of small messages, so the lagging clients shrink their receive
//! buffer and the floods send 2,400 events of 4,000 characters: more than the hub's 1,024 plus
//! anything the buffers hold.

use chatgate::domain::{Field, NewMessage};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::ws_client::{
    Client, TRANSPORT_WS, conversation_topic, graphql_socket, next_data, subscribe,
    wait_for_subscribers,
};

/// Sends in a lag flood, and the size of their text.
const FLOOD_SENDS: usize = 1_200;
const FLOOD_CHARS: usize = 4_000;
/// The client's TCP receive buffer in the lag tests.
const SMALL_BUFFER: u32 = 4_096;

const MESSAGE_ADDED: &str = "subscription($c: ID!) { messageAdded(conversationId: $c) { id } }";

const RESUME: &str =
    "subscription($c: ID!, $a: ID) { messageAdded(conversationId: $c, after: $a) { id } }";

/// Asks for the text too, so each result is as large as the message.
const MESSAGE_ADDED_WITH_TEXT: &str =
    "subscription($c: ID!) { messageAdded(conversationId: $c) { id content } }";

/// Sends `count` messages of `content` through the service; returns the ids of every stored
/// message (user and assistant) in stored order.
async fn flood(app: &TestApp, conversation: &str, count: usize, content: &str) -> Vec<String> {
    let mut ids = Vec::with_capacity(2 * count);
    for _ in 0..count {
        let message = NewMessage::parse_user(Field::Value(content.to_owned()), Field::Absent)
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

async fn watch(app: &TestApp, conversation: &str) -> Client {
    let client = graphql_socket(app, TRANSPORT_WS).await;
    watch_on(app, client, MESSAGE_ADDED, conversation).await
}

async fn watch_on(app: &TestApp, mut client: Client, query: &str, conversation: &str) -> Client {
    subscribe(
        &mut client,
        TRANSPORT_WS,
        "m",
        query,
        json!({"c": conversation}),
    )
    .await;
    wait_for_subscribers(app, conversation_topic(conversation), 1).await;
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_too_far_behind_gets_subscription_lagged_after_a_gap_free_prefix() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let mut client =
        Client::open_with_small_buffer(&app, "/graphql", Some(TRANSPORT_WS), SMALL_BUFFER).await;
    client.send(json!({"type": "connection_init"})).await;
    assert_eq!(client.next().await, json!({"type": "connection_ack"}));
    let mut client = watch_on(&app, client, MESSAGE_ADDED_WITH_TEXT, &conversation).await;
    let mut stored = flood(&app, &conversation, 2, "before the flood").await;
    for id in &stored {
        let data = next_data(&mut client, TRANSPORT_WS, "m").await;
        assert_eq!(data["messageAdded"]["id"], json!(id));
    }
    stored.extend(flood(&app, &conversation, FLOOD_SENDS, &"x".repeat(FLOOD_CHARS)).await);

    let mut received = Vec::new();
    let lagged = loop {
        let message = client.next().await;
        assert_eq!(
            (&message["type"], &message["id"]),
            (&json!("next"), &json!("m"))
        );
        match message["payload"]["data"]["messageAdded"]["id"].as_str() {
            Some(id) => received.push(id.to_owned()),
            None => break message,
        }
    };
    let flooded = &stored[4..];
    assert!(
        received.len() + 1024 < flooded.len(),
        "the flood outran the subscriber"
    );
    assert_eq!(
        received,
        flooded[..received.len()],
        "a gap-free prefix in stored order"
    );
    let error = &lagged["payload"]["errors"][0];
    assert_eq!(lagged["payload"]["data"], Value::Null);
    assert_eq!(error["extensions"], json!({"code": "SUBSCRIPTION_LAGGED"}));
    assert_eq!(
        error["message"],
        "fell too far behind and missed messages; resubscribe with `after` to resume"
    );
    assert_eq!(error["path"], json!(["messageAdded"]));
    assert_eq!(client.next().await, json!({"id": "m", "type": "complete"}));
    let metrics = crate::metrics::scrape(&app, None).await;
    let counted = |series: &str| crate::metrics::value(&metrics, series);
    assert_eq!(counted("chatgate_subscribers_lagged_total"), 1.0);
    assert_eq!(
        counted("chatgate_errors_total{code=\"SUBSCRIPTION_LAGGED\"}"),
        1.0
    );
    crate::metrics::eventually(
        &app,
        "chatgate_graphql_operations_total{operation_type=\"subscription\",operation_name=\"other\",outcome=\"error\"}",
        1.0,
    )
    .await;

    // The README's recipe: resubscribe after the last message received; the rest follows.
    let last = received.last().unwrap_or(&stored[3]);
    let variables = json!({"c": conversation, "a": last});
    subscribe(&mut client, TRANSPORT_WS, "r", RESUME, variables).await;
    let missed = stored.iter().position(|id| id == last).expect("stored") + 1;
    for id in &stored[missed..] {
        let data = next_data(&mut client, TRANSPORT_WS, "r").await;
        assert_eq!(data["messageAdded"]["id"], json!(id));
    }
}

#[tokio::test]
async fn a_subscriber_may_fall_1024_of_its_own_events_behind() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let mut client = watch(&app, &conversation).await;
    let stored = flood(&app, &conversation, 512, "hello").await;
    assert_eq!(stored.len(), 1024);
    for id in &stored {
        let message = client.next().await;
        assert_eq!(message["payload"]["data"]["messageAdded"]["id"], json!(id));
    }
}

#[tokio::test]
async fn busy_other_conversations_never_make_a_subscriber_lag() {
    let app = spawn_app().await;
    let quiet = app.create_conversation("ada").await;
    let busy = app.create_conversation("bob").await;
    let mut client = watch(&app, &quiet).await;
    flood(&app, &busy, 1_500, "noise").await;
    let mine = flood(&app, &quiet, 1, "hello").await;
    for id in &mine {
        let message = client.next().await;
        assert_eq!(
            message,
            json!({"id": "m", "type": "next", "payload": {"data": {"messageAdded": {"id": id}}}})
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ws_socket_too_far_behind_gets_an_error_frame_then_leaves_and_stays_open() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let mut client = Client::open_with_small_buffer(&app, "/ws", None, SMALL_BUFFER).await;
    client
        .send(json!({"type": "join", "conversationId": conversation}))
        .await;
    assert_eq!(
        client.next().await,
        json!({"type": "joined", "conversationId": conversation})
    );
    let stored = flood(&app, &conversation, FLOOD_SENDS, &"x".repeat(FLOOD_CHARS)).await;

    let mut received = Vec::new();
    let lagged = loop {
        let frame = client.next().await;
        match frame["type"].as_str() {
            Some("message") => received.push(frame["message"]["id"].as_str().unwrap().to_owned()),
            // The pieces of each reply, announced while it was written.
            Some("delta") => {}
            _ => break frame,
        }
    };
    assert!(
        received.len() + 1024 < stored.len(),
        "the flood outran the socket"
    );
    assert_eq!(
        received,
        stored[..received.len()],
        "a gap-free prefix in stored order"
    );
    assert_eq!(
        lagged,
        json!({
            "type": "error",
            "conversationId": conversation,
            "error": {
                "code": "SUBSCRIPTION_LAGGED",
                "message": "fell too far behind and missed messages; join again with `after` to resume",
                "details": {},
            },
        })
    );
    assert_eq!(
        client.next().await,
        json!({"type": "left", "conversationId": conversation})
    );
    client.send(json!({"type": "ping"})).await;
    assert_eq!(client.next().await, json!({"type": "pong"}));

    // Joining again after the last message received brings the rest, exactly.
    let last = received
        .last()
        .expect("some messages arrived before the lag");
    client
        .send(json!({"type": "join", "conversationId": conversation, "after": last}))
        .await;
    assert_eq!(
        client.next().await,
        json!({"type": "joined", "conversationId": conversation})
    );
    for id in &stored[received.len()..] {
        let frame = client.next().await;
        assert_eq!(frame["message"]["id"], json!(id));
    }
    client.send(json!({"type": "ping"})).await;
    assert_eq!(client.next().await, json!({"type": "pong"}));
}
