//! The `/ws` join protocol end to end (docs/api.md, "The /ws join protocol").

use std::sync::Arc;
use std::time::Duration;

use chatgate::ws::SocketSettings;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::graphql_ws_protocol::KeyInPayload;
use crate::helpers::{TestApp, spawn_app, spawn_app_with_clock, spawn_app_with_socket_auth};
use crate::ws_client::{
    Client, assert_frames_are_limited_to_1_mib, conversation_topic, wait_until,
};

async fn open(app: &TestApp) -> Client {
    Client::open(app, "/ws", None).await
}

async fn join(client: &mut Client, conversation: &str) {
    client
        .send(json!({"type": "join", "conversationId": conversation}))
        .await;
    assert_eq!(
        client.next().await,
        json!({"type": "joined", "conversationId": conversation.to_lowercase()})
    );
}

/// Proves nothing was queued before: the next frame answers this ping.
async fn assert_quiet(client: &mut Client) {
    client.send(json!({"type": "ping"})).await;
    assert_eq!(client.next().await, json!({"type": "pong"}));
}

fn error(code: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"code": code, "message": message, "details": {}}})
}

#[tokio::test]
async fn join_subscribes_before_answering_and_pushes_each_new_message_in_the_rest_shape() {
    let app = spawn_app_with_clock().await;
    let conversation = app.create_conversation("ada").await;
    let mut client = open(&app).await;
    join(&mut client, &conversation.to_uppercase()).await;
    assert_eq!(
        app.service
            .feed()
            .receiver_count(conversation_topic(&conversation)),
        1,
        "subscribed before `joined`"
    );

    let sent = app.send_message(&conversation, "hello").await;
    for (key, role) in [("userMessage", "user"), ("assistantMessage", "assistant")] {
        let mut next = client.next().await;
        if role == "assistant" {
            // The reply's pieces come first (see tests/api/assistant_stream.rs).
            let mut pieces = String::new();
            while next["type"] == "delta" {
                pieces.push_str(next["delta"].as_str().unwrap());
                next = client.next().await;
            }
            assert_eq!(pieces, sent[key]["content"].as_str().unwrap());
        }
        assert_eq!(
            next,
            json!({"type": "message", "message": {
                "id": sent[key]["id"],
                "conversationId": conversation,
                "role": role,
                "content": sent[key]["content"],
                "metadata": {},
                "createdAt": "2025-10-04T12:00:00.000Z",
            }})
        );
    }
}

#[tokio::test]
async fn joining_twice_is_harmless_and_leave_stops_the_pushes() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let topic = conversation_topic(&conversation);
    let mut client = open(&app).await;
    join(&mut client, &conversation).await;
    join(&mut client, &conversation).await;
    assert_eq!(app.service.feed().receiver_count(topic), 1);

    client
        .send(json!({"type": "leave", "conversationId": conversation}))
        .await;
    assert_eq!(
        client.next().await,
        json!({"type": "left", "conversationId": conversation})
    );
    wait_until(
        || app.service.feed().receiver_count(topic) == 0,
        "the subscription to end",
    )
    .await;
    app.send_message(&conversation, "nobody listens").await;
    assert_quiet(&mut client).await;
}

#[tokio::test]
async fn leave_for_a_conversation_not_joined_still_answers_left() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let mut client = open(&app).await;
    for id in [conversation.as_str(), "not-an-id"] {
        client
            .send(json!({"type": "leave", "conversationId": id}))
            .await;
        assert_eq!(
            client.next().await,
            json!({"type": "left", "conversationId": id})
        );
    }
}

#[tokio::test]
async fn a_deleted_conversation_is_announced_and_left() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("ada").await;
    let mut client = open(&app).await;
    join(&mut client, &conversation).await;
    app.service
        .delete_conversation(&conversation)
        .await
        .expect("deleted");
    assert_eq!(
        client.next().await,
        json!({"type": "deleted", "conversationId": conversation})
    );
    assert_eq!(
        app.service
            .feed()
            .receiver_count(conversation_topic(&conversation)),
        0
    );
    assert_quiet(&mut client).await;
}

#[tokio::test]
async fn unknown_or_malformed_conversations_are_not_found_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let mut client = open(&app).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    for id in [unknown.as_str(), "not-an-id", ""] {
        client
            .send(json!({"type": "join", "conversationId": id}))
            .await;
        let mut expected = error("NOT_FOUND", "conversation not found");
        expected["conversationId"] = json!(id);
        assert_eq!(client.next().await, expected);
    }
    assert_eq!(
        app.service
            .feed()
            .receiver_count(conversation_topic(&unknown)),
        0
    );
    assert_quiet(&mut client).await;
}

#[tokio::test]
async fn bad_frames_answer_validation_errors_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let mut client = open(&app).await;
    let fields = |field: &str, message: &str| {
        let mut frame = error("VALIDATION_ERROR", &format!("{field} {message}"));
        frame["error"]["details"] = json!({"fields": [{"field": field, "message": message}]});
        frame
    };
    let cases = [
        (
            "{nope",
            error("VALIDATION_ERROR", "frame is not valid JSON"),
        ),
        (
            "\"join\"",
            error("VALIDATION_ERROR", "frame must be a JSON object"),
        ),
        (
            r#"{"type":"shout"}"#,
            fields("type", "must be one of join, leave, ping, auth"),
        ),
        (r#"{"conversationId":"x"}"#, fields("type", "is required")),
        (
            r#"{"type":"join"}"#,
            fields("conversationId", "is required"),
        ),
        (
            r#"{"type":"leave","conversationId":5}"#,
            fields("conversationId", "must be a string"),
        ),
    ];
    for (frame, expected) in cases {
        client.send_text(frame).await;
        assert_eq!(client.next().await, expected, "for {frame}");
    }
    client.send_binary(b"{\"type\":\"ping\"}".to_vec()).await;
    assert_eq!(
        client.next().await,
        error(
            "VALIDATION_ERROR",
            "binary frames are not supported; send JSON text"
        )
    );
    assert_quiet(&mut client).await;
}

#[tokio::test]
async fn without_keys_an_auth_frame_is_answered_authenticated() {
    let app = spawn_app().await;
    let mut client = open(&app).await;
    client
        .send(json!({"type": "auth", "apiKey": "anything"}))
        .await;
    assert_eq!(client.next().await, json!({"type": "authenticated"}));
    client.send(json!({"type": "auth"})).await;
    assert_eq!(client.next().await, json!({"type": "authenticated"}));
}

#[tokio::test]
async fn when_the_hook_asks_for_it_the_first_frame_must_authenticate_or_the_socket_closes_4401() {
    let settings = SocketSettings {
        init_timeout: Duration::from_millis(50),
        ..SocketSettings::default()
    };
    let app = spawn_app_with_socket_auth(Arc::new(KeyInPayload), settings).await;
    let conversation = app.create_conversation("ada").await;

    let mut silent = open(&app).await;
    assert_eq!(silent.closed().await, (4401, "Unauthorized".into()));

    for first in [
        json!({"type": "join", "conversationId": conversation}),
        json!({"type": "auth", "apiKey": "wrong"}),
        json!({"type": "auth"}),
    ] {
        let mut client = open(&app).await;
        client.send(first.clone()).await;
        assert_eq!(
            client.closed().await,
            (4401, "Unauthorized".into()),
            "after {first}"
        );
    }

    let mut client = open(&app).await;
    client
        .send(json!({"type": "auth", "apiKey": "right"}))
        .await;
    assert_eq!(client.next().await, json!({"type": "authenticated"}));
    join(&mut client, &conversation).await;
    client
        .send(json!({"type": "auth", "apiKey": "wrong"}))
        .await;
    assert_eq!(
        client.next().await,
        json!({"type": "authenticated"}),
        "already authenticated"
    );
}

#[tokio::test]
async fn frames_over_1_mib_are_refused_with_close_1009() {
    let app = spawn_app().await;
    let mut client = open(&app).await;
    assert_frames_are_limited_to_1_mib(&mut client).await;
}

#[tokio::test]
async fn get_ws_without_an_upgrade_is_a_validation_error() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/ws")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
}

crate::helpers::postgres::again_on_postgres!(
    join_subscribes_before_answering_and_pushes_each_new_message_in_the_rest_shape,
    a_deleted_conversation_is_announced_and_left,
);
