//! Replies streamed to live subscribers while they are written: `assistantReply` on GraphQL and
//! `delta` frames on `/ws` carry the pieces in order, under the id the stored reply gets, and
//! the stored reply is exactly their concatenation. A failed reply ends with its error and
//! stores nothing.

use serde_json::{Value, json};

use crate::assistant_openai::send_rest;
use crate::helpers::openai::{Answer, FakeModel, Gate};
use crate::helpers::{TestApp, spawn_app, spawn_app_with_model};
use crate::ws_client::{
    Client, TRANSPORT_WS, conversation_topic, graphql_socket, next_data, subscribe,
    wait_for_subscribers,
};

const REPLIES: &str = "subscription($c: ID!) { assistantReply(conversationId: $c) \
     { conversationId messageId delta done error { code message } message { id role content } } }";

/// A GraphQL socket following `assistantReply` and a `/ws` socket joined to `conversation`.
async fn watchers(app: &TestApp, conversation: &str) -> (Client, Client) {
    let mut graphql = graphql_socket(app, TRANSPORT_WS).await;
    subscribe(
        &mut graphql,
        TRANSPORT_WS,
        "r",
        REPLIES,
        json!({"c": conversation}),
    )
    .await;
    let mut ws = Client::open(app, "/ws", None).await;
    ws.send(json!({"type": "join", "conversationId": conversation}))
        .await;
    assert_eq!(ws.next().await["type"], "joined");
    wait_for_subscribers(app, conversation_topic(conversation), 2).await;
    (graphql, ws)
}

/// `assistantReply` items until the text so far is `text`; returns them.
async fn reply_items_until(graphql: &mut Client, text: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut so_far = String::new();
    while so_far != text {
        let item = next_data(graphql, TRANSPORT_WS, "r").await["assistantReply"].clone();
        assert_eq!(item["done"], false, "{item} before {text:?}");
        so_far.push_str(item["delta"].as_str().expect("a delta"));
        assert!(
            text.starts_with(&so_far),
            "{so_far:?} is not a start of {text:?}"
        );
        items.push(item);
    }
    items
}

/// `/ws` delta frames until the text so far is `text`.
async fn ws_deltas_until(ws: &mut Client, text: &str) -> Vec<Value> {
    let mut frames = Vec::new();
    let mut so_far = String::new();
    while so_far != text {
        let frame = ws.next().await;
        assert_eq!(frame["type"], "delta", "{frame} before {text:?}");
        so_far.push_str(frame["delta"].as_str().expect("a delta"));
        frames.push(frame);
    }
    frames
}

#[tokio::test]
async fn pieces_arrive_in_order_while_the_reply_is_written_and_add_up_to_the_stored_reply() {
    let model = FakeModel::start().await;
    let app = spawn_app_with_model(model.config()).await;
    let (first_gate, second_gate) = (Gate::default(), Gate::default());
    model.script([Answer::stream(["Hello", ", ", "world", "!"])
        .hold_after(1, &first_gate)
        .hold_after(3, &second_gate)
        .answer()]);
    let conversation = app.create_conversation("ada").await;
    let (mut graphql, mut ws) = watchers(&app, &conversation).await;
    let sent = {
        let (address, conversation) = (app.address, conversation.clone());
        tokio::spawn(async move { send_rest(address, &conversation, "Greet me").await })
    };

    // The user's message is announced first; then the reply grows while the model writes it.
    let user = ws.next().await;
    assert_eq!(
        (&user["type"], &user["message"]["content"]),
        (&json!("message"), &json!("Greet me"))
    );
    let mut items = reply_items_until(&mut graphql, "Hello").await;
    let mut frames = ws_deltas_until(&mut ws, "Hello").await;
    first_gate.open();
    items.extend(reply_items_until(&mut graphql, ", world").await);
    frames.extend(ws_deltas_until(&mut ws, ", world").await);
    second_gate.open();
    items.extend(reply_items_until(&mut graphql, "!").await);
    frames.extend(ws_deltas_until(&mut ws, "!").await);

    let (status, body) = sent.await.unwrap();
    assert_eq!(status, 201);
    let stored = &body["assistantMessage"];
    let id = stored["id"].as_str().unwrap();
    assert_eq!(stored["content"], "Hello, world!");
    for item in &items {
        assert_eq!(
            (&item["messageId"], &item["conversationId"]),
            (&json!(id), &json!(conversation))
        );
        assert_eq!(
            (&item["error"], &item["message"]),
            (&Value::Null, &Value::Null)
        );
    }
    for frame in &frames {
        assert_eq!(frame["messageId"], id);
        assert_eq!(frame["conversationId"], conversation);
    }
    // The last item carries the stored reply; `/ws` sends it as its `message` frame.
    let done = next_data(&mut graphql, TRANSPORT_WS, "r").await["assistantReply"].clone();
    assert_eq!(
        done,
        json!({"conversationId": conversation, "messageId": id, "delta": "", "done": true,
               "error": null, "message": {"id": id, "role": "ASSISTANT", "content": "Hello, world!"}})
    );
    let last = ws.next().await;
    assert_eq!(
        (&last["type"], &last["message"]["id"]),
        (&json!("message"), &json!(id))
    );
}

#[tokio::test]
async fn a_reply_that_breaks_off_ends_its_stream_with_the_error_and_stores_nothing() {
    let model = FakeModel::start().await;
    let app = spawn_app_with_model(model.config()).await;
    let gate = Gate::default();
    model.script([Answer::stream(["Half", " of", " it"])
        .hold_after(1, &gate)
        .cut_after(2)
        .answer()]);
    let conversation = app.create_conversation("ada").await;
    let (mut graphql, mut ws) = watchers(&app, &conversation).await;
    let sent = {
        let (address, conversation) = (app.address, conversation.clone());
        tokio::spawn(async move { send_rest(address, &conversation, "Tell me").await })
    };
    assert_eq!(ws.next().await["type"], "message");
    let items = reply_items_until(&mut graphql, "Half").await;
    ws_deltas_until(&mut ws, "Half").await;
    gate.open();
    let (status, body) = sent.await.unwrap();
    assert_eq!(status, 502, "{body}");

    // Whatever else arrived of it, the reply's stream ends with its error.
    let id = &items[0]["messageId"];
    let end = loop {
        let item = next_data(&mut graphql, TRANSPORT_WS, "r").await["assistantReply"].clone();
        assert_eq!(&item["messageId"], id);
        if item["done"] == true {
            break item;
        }
    };
    assert_eq!(end["message"], Value::Null);
    assert_eq!(end["error"]["code"], "ASSISTANT_UNAVAILABLE");
    assert_eq!(end["error"]["message"], body["error"]["message"]);
    let failed = loop {
        let frame = ws.next().await;
        if frame["type"] != "delta" {
            break frame;
        }
    };
    assert_eq!(
        failed,
        json!({"type": "error", "conversationId": conversation, "messageId": id,
               "error": {"code": "ASSISTANT_UNAVAILABLE", "message": body["error"]["message"],
                         "details": {}}})
    );
    let messages = app
        .get(&format!("/api/conversations/{conversation}/messages"))
        .await;
    assert_eq!(
        messages.expect(200)["total"],
        1,
        "only the user's message is stored"
    );
    assert!(
        app.get(&format!("/api/messages/{}", id.as_str().unwrap()))
            .await
            .status
            .as_u16()
            == 404
    );
}

#[tokio::test]
async fn the_built_in_assistant_streams_its_replies_the_same_way() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let (mut graphql, mut ws) = watchers(&app, &conversation).await;
    let sent = app.send_message(&conversation, "thanks").await;
    let reply = sent["assistantMessage"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    let items = reply_items_until(&mut graphql, &reply).await;
    assert!(
        items
            .iter()
            .all(|i| i["messageId"] == sent["assistantMessage"]["id"])
    );
    let done = next_data(&mut graphql, TRANSPORT_WS, "r").await["assistantReply"].clone();
    assert_eq!(
        (&done["done"], &done["message"]["content"]),
        (&json!(true), &json!(reply))
    );
    assert_eq!(ws.next().await["type"], "message");
    ws_deltas_until(&mut ws, &reply).await;
    assert_eq!(ws.next().await["message"]["content"], reply);
}

#[tokio::test]
async fn assistant_reply_refuses_an_unknown_conversation() {
    let app = spawn_app().await;
    let mut graphql = graphql_socket(&app, TRANSPORT_WS).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    subscribe(
        &mut graphql,
        TRANSPORT_WS,
        "r",
        REPLIES,
        json!({"c": unknown}),
    )
    .await;
    let message = graphql.next().await;
    assert_eq!(message["type"], "next");
    assert_eq!(
        message["payload"]["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
    assert_eq!(graphql.next().await, json!({"type": "complete", "id": "r"}));
}
