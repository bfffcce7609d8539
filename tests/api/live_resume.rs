//! Resuming: `messageAdded(after:)` and `/ws` `join` with `"after"` replay what was stored
//! after a message, then go on live, with no gap and no repeat, even while others post.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chatgate::domain::{Field, MessageFilter, NewMessage, PageRequest, SortOrder};
use chatgate::service::ChatService;
use futures::future::join_all;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::helpers::{TestApp, spawn_app};
use crate::ws_client::{
    Client, LEGACY_WS, TRANSPORT_WS, conversation_topic, graphql_socket, next_data, next_type,
    subscribe,
};

const RESUME: &str = "subscription($c: ID!, $a: ID) \
                      { messageAdded(conversationId: $c, after: $a) { id } }";

const RESUME_WITH_CONTENT: &str = "subscription($c: ID!, $a: ID) \
                                   { messageAdded(conversationId: $c, after: $a) { id content } }";

/// Every stored message id of `conversation`, in stored order.
async fn stored_ids(service: &ChatService, conversation: &str) -> Vec<String> {
    let mut ids = Vec::new();
    loop {
        let page = PageRequest::clamped(100, ids.len() as u64);
        let page = service
            .list_messages(conversation, MessageFilter::default(), SortOrder::Asc, page)
            .await
            .expect("the conversation exists");
        ids.extend(page.items.iter().map(|m| m.id.to_string()));
        if !page.has_more() {
            return ids;
        }
    }
}

/// Posts `count` messages through the service (each stores two: the user's and the reply).
async fn post(service: &ChatService, conversation: &str, count: usize, label: &str) {
    for n in 0..count {
        let text = Field::Value(format!("{label} {n}"));
        let message = NewMessage::parse_user(text, Field::Absent).expect("a valid message");
        service
            .send_message(conversation, message)
            .await
            .expect("stored");
    }
}

/// A live subscriber on one of the socket protocols.
enum Resumer {
    Graphql(Client),
    Ws(Client),
}

impl Resumer {
    /// Subscribes to `conversation` after message `after`.
    async fn start(app: &TestApp, over_ws: bool, conversation: &str, after: &str) -> Self {
        if over_ws {
            let mut client = Client::open(app, "/ws", None).await;
            let join = json!({"type": "join", "conversationId": conversation, "after": after});
            client.send(join).await;
            assert_eq!(
                client.next().await,
                json!({"type": "joined", "conversationId": conversation})
            );
            Resumer::Ws(client)
        } else {
            let mut client = graphql_socket(app, TRANSPORT_WS).await;
            let variables = json!({"c": conversation, "a": after});
            subscribe(
                &mut client,
                TRANSPORT_WS,
                "m",
                RESUME_WITH_CONTENT,
                variables,
            )
            .await;
            Resumer::Graphql(client)
        }
    }

    /// The id and content of the next message pushed.
    async fn next_message(&mut self) -> (String, String) {
        let message = match self {
            Resumer::Graphql(client) => {
                next_data(client, TRANSPORT_WS, "m").await["messageAdded"].clone()
            }
            Resumer::Ws(client) => {
                // A reply's pieces come before it (tests/api/assistant_stream.rs checks them).
                let frame = loop {
                    let frame = client.next().await;
                    if frame["type"] != "delta" {
                        break frame;
                    }
                };
                assert_eq!(frame["type"], "message", "in {frame}");
                frame["message"].clone()
            }
        };
        let text = |key: &str| message[key].as_str().expect("a string").to_owned();
        (text("id"), text("content"))
    }

    async fn next_id(&mut self) -> String {
        self.next_message().await.0
    }

    /// Proves nothing else was pushed: the next message answers a ping.
    async fn assert_quiet(&mut self) {
        let client = match self {
            Resumer::Graphql(client) | Resumer::Ws(client) => client,
        };
        client.send(json!({"type": "ping"})).await;
        assert_eq!(client.next().await, json!({"type": "pong"}));
    }
}

#[tokio::test]
async fn message_added_with_after_replays_what_followed_it_then_goes_on_live_in_both_protocols() {
    let app = spawn_app().await;
    for protocol in [TRANSPORT_WS, LEGACY_WS] {
        let conversation = app.create_conversation("ada").await;
        post(&app.service, &conversation, 3, "before").await;
        let before = stored_ids(&app.service, &conversation).await;
        let mut client = graphql_socket(&app, protocol).await;
        let variables = json!({"c": conversation, "a": before[1]});
        subscribe(&mut client, protocol, "m", RESUME, variables).await;
        for id in &before[2..] {
            let data = next_data(&mut client, protocol, "m").await;
            assert_eq!(data, json!({"messageAdded": {"id": id}}));
        }
        post(&app.service, &conversation, 1, "after").await;
        let all = stored_ids(&app.service, &conversation).await;
        for id in &all[6..] {
            let data = next_data(&mut client, protocol, "m").await;
            assert_eq!(data, json!({"messageAdded": {"id": id}}));
        }
    }
}

#[tokio::test]
async fn a_ws_join_with_after_replays_after_joined_and_a_second_one_starts_over_from_its_after() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    post(&app.service, &conversation, 2, "before").await;
    let stored = stored_ids(&app.service, &conversation).await;
    let mut resumer = Resumer::start(&app, true, &conversation, &stored[0]).await;
    for id in &stored[1..] {
        assert_eq!(&resumer.next_id().await, id);
    }
    let Resumer::Ws(client) = &mut resumer else {
        unreachable!("started over /ws")
    };
    let again = json!({"type": "join", "conversationId": conversation, "after": stored[2]});
    client.send(again).await;
    assert_eq!(
        client.next().await,
        json!({"type": "joined", "conversationId": conversation})
    );
    assert_eq!(resumer.next_id().await, stored[3]);
    resumer.assert_quiet().await;
    assert_eq!(
        app.service
            .feed()
            .receiver_count(conversation_topic(&conversation)),
        1,
        "the second join replaced the first"
    );
}

#[tokio::test]
async fn an_after_that_names_no_message_of_the_conversation_is_not_found_on_both_transports() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let other = app.create_conversation("bob").await;
    post(&app.service, &other, 1, "elsewhere").await;
    let elsewhere = stored_ids(&app.service, &other).await.remove(0);
    let unknown = uuid::Uuid::new_v4().to_string();
    for after in [elsewhere.as_str(), unknown.as_str(), "not-an-id"] {
        let mut client = graphql_socket(&app, TRANSPORT_WS).await;
        let variables = json!({"c": conversation, "a": after});
        subscribe(&mut client, TRANSPORT_WS, "x", RESUME, variables).await;
        assert_eq!(
            client.next().await,
            json!({"id": "x", "type": next_type(TRANSPORT_WS), "payload": {
                "data": null,
                "errors": [{
                    "message": "message not found",
                    "locations": [{"line": 1, "column": RESUME.find("messageAdded").unwrap() + 1}],
                    "path": ["messageAdded"],
                    "extensions": {"code": "NOT_FOUND"},
                }],
            }})
        );
        assert_eq!(client.next().await, json!({"id": "x", "type": "complete"}));

        let mut joined = Client::open(&app, "/ws", None).await;
        let join = json!({"type": "join", "conversationId": conversation, "after": after});
        joined.send(join).await;
        assert_eq!(
            joined.next().await,
            json!({"type": "error", "conversationId": conversation,
                   "error": {"code": "NOT_FOUND", "message": "message not found", "details": {}}})
        );
        joined.send(json!({"type": "ping"})).await;
        assert_eq!(joined.next().await, json!({"type": "pong"}), "not joined");
    }
    assert_eq!(
        app.service
            .feed()
            .receiver_count(conversation_topic(&conversation)),
        0
    );
}

#[tokio::test]
async fn a_ws_after_that_is_not_a_string_is_a_validation_error() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let mut client = Client::open(&app, "/ws", None).await;
    client
        .send(json!({"type": "join", "conversationId": conversation, "after": 3}))
        .await;
    assert_eq!(
        client.next().await,
        json!({"type": "error", "error": {
            "code": "VALIDATION_ERROR",
            "message": "after must be a string",
            "details": {"fields": [{"field": "after", "message": "must be a string"}]},
        }})
    );
}

/// One seeded run: writers post while resumers join at random moments after random messages,
/// and go on posting until every resumer is live; each resumer must then receive exactly the
/// stored messages after its `after`, in order, and nothing else.
async fn resume_while_others_post(seed: u64) {
    const WRITERS: usize = 3;
    const RESUMERS: usize = 8;
    /// Sends each writer makes after the last resumer started, so live delivery overlaps too.
    const SENDS_AFTER: usize = 5;
    let app = spawn_app().await;
    let conversation = app.create_conversation("crowd").await;
    post(&app.service, &conversation, 1, "first").await;

    let mut rng = StdRng::seed_from_u64(seed);
    let plans: Vec<(usize, bool, f64)> = (0..RESUMERS)
        .map(|_| (rng.random_range(2..60), rng.random_bool(0.5), rng.random()))
        .collect();
    let started = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (service, conversation) = (app.service.clone(), conversation.clone());
            let started = started.clone();
            tokio::spawn(async move {
                let mut after_all_started = 0;
                while after_all_started < SENDS_AFTER {
                    if started.load(Ordering::SeqCst) == RESUMERS {
                        after_all_started += 1;
                    }
                    post(&service, &conversation, 1, &format!("writer {writer}")).await;
                    // The memory store never makes a writer wait: let the sockets run.
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();

    let (app_ref, conversation_ref, started_ref) = (&app, conversation.as_str(), &started);
    let resumers = plans
        .into_iter()
        .map(|(start_at, over_ws, pick)| async move {
            let stored = loop {
                let stored = stored_ids(&app_ref.service, conversation_ref).await;
                if stored.len() >= start_at {
                    break stored;
                }
                tokio::task::yield_now().await;
            };
            let after_index = ((stored.len() as f64 * pick) as usize).min(stored.len() - 1);
            let after = &stored[after_index];
            let mut resumer = Resumer::start(app_ref, over_ws, conversation_ref, after).await;

            started_ref.fetch_add(1, Ordering::SeqCst);
            let mut received = Vec::new();
            loop {
                let (id, content) = resumer.next_message().await;
                received.push(id);
                if content.starts_with(REPLY_TO_LAST) {
                    break;
                }
            }
            resumer.assert_quiet().await;
            (after_index, received)
        });
    let finish = async {
        for writer in writers {
            writer.await.expect("the writer finished");
        }
        post(&app.service, &conversation, 1, LAST).await;
    };
    let (results, ()) = tokio::join!(join_all(resumers), finish);
    let stored = stored_ids(&app.service, &conversation).await;
    for (after_index, received) in results {
        assert_eq!(
            received,
            stored[after_index + 1..],
            "seed {seed}: resumed after message #{after_index} of {}",
            stored.len()
        );
    }
}

/// What the last message posted in a run says, and how the assistant's reply to it begins.
const LAST: &str = "the end";
const REPLY_TO_LAST: &str = "You said: \"the end 0\"";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumers_receive_exactly_the_stored_messages_after_their_after_while_others_post() {
    for seed in [1, 2, 3] {
        resume_while_others_post(seed).await;
    }
}

crate::helpers::postgres::again_on_postgres!(
    message_added_with_after_replays_what_followed_it_then_goes_on_live_in_both_protocols,
);
