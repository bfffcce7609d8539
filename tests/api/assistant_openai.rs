//! The OpenAI-compatible assistant against a real streaming model server inside the tests:
//! what it sends (key, model, history within its budget) and what it stores (the streamed
//! text whole, the model's name and token usage).

use serde_json::{Value, json};

use crate::helpers::openai::{Answer, FakeModel, KEY, MODEL};
use crate::helpers::{TestApp, spawn_app_with_model};

async fn app_with_model() -> (TestApp, FakeModel) {
    let model = FakeModel::start().await;
    let app = spawn_app_with_model(model.config()).await;
    (app, model)
}

#[tokio::test]
async fn a_reply_is_the_streamed_text_whole_with_the_model_and_its_usage() {
    let (app, model) = app_with_model().await;
    model.script([Answer::stream(["The answer", " is", " 42."]).answer()]);
    let conversation = app.rest_create_conversation("ada").await;
    let id = conversation["id"].as_str().unwrap();

    let sent = app.rest_send_message(id, "What is the answer?").await;
    let reply = &sent["assistantMessage"];
    assert_eq!(reply["role"], "assistant");
    assert_eq!(reply["content"], "The answer is 42.");
    assert_eq!(
        reply["metadata"],
        json!({"model": MODEL, "finishReason": "stop",
               "usage": {"promptTokens": 12, "completionTokens": 3, "totalTokens": 15}})
    );
    let stored = app
        .get(&format!("/api/messages/{}", reply["id"].as_str().unwrap()))
        .await;
    assert_eq!(stored.expect(200), reply);

    let [request] = model.requests().try_into().expect("one request");
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(request.body["model"], MODEL);
    assert_eq!(request.body["stream"], true);
    assert_eq!(
        request.body["stream_options"],
        json!({"include_usage": true})
    );
    assert_eq!(
        request.messages(),
        [("user".to_owned(), "What is the answer?".to_owned())]
    );
}

#[tokio::test]
async fn pieces_split_across_reads_keep_alive_comments_and_multibyte_text_arrive_whole() {
    let (app, model) = app_with_model().await;
    let deltas = ["Grüße", " aus ", "東京", " 🎉", "!\n\tDone"];
    model.script([Answer::stream(deltas)
        .split_every(3)
        .with_keepalives()
        .without_usage()
        .answer()]);
    let conversation = app.create_conversation("ada").await;
    let sent = app.send_message(&conversation, "Say hello").await;
    assert_eq!(sent["assistantMessage"]["content"], deltas.concat());
    assert_eq!(
        sent["assistantMessage"]["metadata"],
        json!({"model": MODEL, "finishReason": "stop"})
    );
}

#[tokio::test]
async fn without_a_key_no_authorization_is_sent_and_the_system_prompt_leads() {
    let model = FakeModel::start().await;
    let mut config = model.config();
    config.api_key = None;
    config.system_prompt = Some("You are terse.".into());
    config.temperature = Some(0.2);
    config.max_tokens = Some(50);
    let app = spawn_app_with_model(config).await;
    let conversation = app.create_conversation("ada").await;
    app.send_message(&conversation, "hi").await;

    let [request] = model.requests().try_into().expect("one request");
    assert_eq!(request.authorization, None);
    assert_eq!(
        request.messages(),
        [
            ("system".to_owned(), "You are terse.".to_owned()),
            ("user".to_owned(), "hi".to_owned())
        ]
    );
    assert_eq!(request.body["max_tokens"], 50);
    assert!((request.body["temperature"].as_f64().unwrap() - 0.2).abs() < 1e-6);
}

/// `(role, content)` pairs, for comparing what was sent.
fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(r, c)| ((*r).to_owned(), (*c).to_owned()))
        .collect()
}

#[tokio::test]
async fn the_history_goes_along_oldest_first_within_its_message_budget() {
    let model = FakeModel::start().await;
    let mut config = model.config();
    config.history.messages = 4;
    let app = spawn_app_with_model(config).await;
    model.script([
        Answer::stream(["one"]).answer(),
        Answer::stream(["two"]).answer(),
        Answer::stream(["three"]).answer(),
    ]);
    let conversation = app.create_conversation("ada").await;
    for text in ["1?", "2?", "3?"] {
        app.send_message(&conversation, text).await;
    }
    let requests = model.requests();
    assert_eq!(
        requests[1].messages(),
        pairs(&[("user", "1?"), ("assistant", "one"), ("user", "2?")])
    );
    // Four messages at most; the oldest that fits would be the assistant's "one", and a
    // history never opens with the assistant.
    assert_eq!(
        requests[2].messages(),
        pairs(&[("user", "2?"), ("assistant", "two"), ("user", "3?")])
    );
}

#[tokio::test]
async fn the_history_is_bounded_by_its_character_budget_but_the_question_goes_whole() {
    let model = FakeModel::start().await;
    let mut config = model.config();
    config.history.chars = 30;
    let app = spawn_app_with_model(config).await;
    let long_reply = "r".repeat(20);
    model.script([
        Answer::stream([long_reply.as_str()]).answer(),
        Answer::stream(["ok"]).answer(),
        Answer::stream(["ok"]).answer(),
    ]);
    let conversation = app.create_conversation("ada").await;
    app.send_message(&conversation, "first").await;
    app.send_message(&conversation, "second").await;
    let question = "q".repeat(40);
    app.send_message(&conversation, &question).await;

    let requests = model.requests();
    // 6 + 20 + 5 = 31 characters would not fit: "first" is left out, then the reply (which
    // would open the history) too.
    assert_eq!(requests[1].messages(), pairs(&[("user", "second")]));
    // The question alone is over the budget; it is sent whole, and alone.
    assert_eq!(
        requests[2].messages(),
        pairs(&[("user", question.as_str())])
    );
}

#[tokio::test]
async fn a_reply_longer_than_a_message_may_be_is_stored_cut_at_the_limit() {
    let (app, model) = app_with_model().await;
    let chunk = "x".repeat(10_000);
    model.script([Answer::stream([chunk.as_str(); 4]).answer()]);
    let conversation = app.create_conversation("ada").await;
    let sent = app.send_message(&conversation, "Write a lot").await;
    let reply = &sent["assistantMessage"];
    assert_eq!(reply["content"].as_str().unwrap().len(), 32_000);
    assert_eq!(reply["metadata"]["finishReason"], "length");
}

#[tokio::test]
async fn replies_in_different_conversations_run_at_the_same_time() {
    let (app, model) = app_with_model().await;
    let gate = crate::helpers::openai::Gate::default();
    model.script([
        Answer::stream(["slow", " reply"])
            .hold_after(1, &gate)
            .answer(),
        Answer::stream(["quick reply"]).answer(),
    ]);
    let slow = app.create_conversation("ada").await;
    let quick = app.create_conversation("bob").await;
    let held = {
        let address = app.address;
        let slow = slow.clone();
        tokio::spawn(async move { send_rest(address, &slow, "take your time").await })
    };
    model.wait_for_requests(1).await;
    // The first reply is held half-way; the other conversation is answered meanwhile.
    let sent = app.send_message(&quick, "be quick").await;
    assert_eq!(sent["assistantMessage"]["content"], "quick reply");
    assert!(!held.is_finished());
    gate.open();
    let (status, body) = held.await.unwrap();
    assert_eq!(status, 201);
    assert_eq!(body["assistantMessage"]["content"], "slow reply");
}

/// `POST /api/conversations/{id}/messages` from a client of its own: status and body.
pub async fn send_rest(
    address: std::net::SocketAddr,
    conversation: &str,
    text: &str,
) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!(
            "http://{address}/api/conversations/{conversation}/messages"
        ))
        .json(&json!({ "content": text }))
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}
