//! When the model fails, nothing is lost: the user's message is stored and announced first, a
//! failed reply stores nothing, the client learns `ASSISTANT_UNAVAILABLE` with the stored
//! message, and `regenerateReply` / `POST /api/messages/:id/reply` produce the reply later.
//! The reply belongs to the service: a client that goes away cancels nothing.

use std::time::Duration;

use serde_json::{Value, json};

use crate::assistant_openai::send_rest;
use crate::helpers::openai::{Answer, FakeModel, Gate};
use crate::helpers::{MESSAGE_FIELDS, TestApp, spawn_app_with_model};
use crate::ws_client::{
    TRANSPORT_WS, conversation_topic, graphql_socket, next_data, subscribe, wait_for_subscribers,
};

async fn app_with_model() -> (TestApp, FakeModel) {
    let model = FakeModel::start().await;
    let app = spawn_app_with_model(model.config()).await;
    (app, model)
}

/// The conversation's messages as `(role, content)`, oldest first.
async fn stored(app: &TestApp, conversation: &str) -> Vec<(String, String)> {
    let page = app
        .get(&format!("/api/conversations/{conversation}/messages"))
        .await;
    page.expect(200)["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_owned(),
                m["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn user(text: &str) -> (String, String) {
    ("user".to_owned(), text.to_owned())
}

fn assistant(text: &str) -> (String, String) {
    ("assistant".to_owned(), text.to_owned())
}

/// Posts `text` over REST and asserts 502 `ASSISTANT_UNAVAILABLE`; returns the error.
async fn send_failing(app: &TestApp, conversation: &str, text: &str) -> Value {
    let reply = app
        .post_json(
            &format!("/api/conversations/{conversation}/messages"),
            &json!({ "content": text }),
        )
        .await;
    let details = reply.expect_error(502, "ASSISTANT_UNAVAILABLE");
    let message = details["userMessage"].clone();
    assert_eq!(message["role"], "user");
    assert_eq!(message["content"], text);
    // The stored message, in its one wire shape.
    let id = message["id"].as_str().expect("the stored message's id");
    assert_eq!(
        app.get(&format!("/api/messages/{id}")).await.expect(200),
        &message
    );
    reply.body["error"].clone()
}

#[tokio::test]
async fn an_upstream_500_after_the_retries_is_a_502_with_the_stored_message_and_no_reply() {
    let (app, model) = app_with_model().await;
    model.script(vec![Answer::error(500, "The server had an error"); 3]);
    let conversation = app.rest_create_conversation("ada").await;
    let id = conversation["id"].as_str().unwrap();

    let error = send_failing(&app, id, "Hello?").await;
    assert_eq!(
        error["message"],
        "The assistant is unavailable: the model server answered 500 (3 attempts)"
    );
    assert_eq!(
        model.requests().len(),
        3,
        "two retries after the first attempt"
    );
    assert_eq!(stored(&app, id).await, [user("Hello?")]);
}

#[tokio::test]
async fn graphql_reports_the_same_code_with_the_stored_message() {
    let (app, model) = app_with_model().await;
    model.script(vec![Answer::error(503, "overloaded"); 3]);
    let conversation = app.create_conversation("ada").await;
    let reply = app
        .graphql(
            &format!(
                "mutation($c: ID!) {{ sendMessage(input: {{conversationId: $c, content: \"hi\"}}) \
                 {{ assistantMessage {{ {MESSAGE_FIELDS} }} }} }}"
            ),
            json!({ "c": conversation }),
        )
        .await;
    let error = reply.only_error();
    assert_eq!(error["extensions"]["code"], "ASSISTANT_UNAVAILABLE");
    let message = &error["extensions"]["details"]["userMessage"];
    assert_eq!(
        (&message["conversationId"], &message["content"]),
        (&json!(conversation), &json!("hi"))
    );
    assert_eq!(reply.body["data"], Value::Null);
    assert_eq!(stored(&app, &conversation).await, [user("hi")]);
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after_and_then_the_reply_is_stored() {
    let (app, model) = app_with_model().await;
    model.script([
        Answer::rate_limited("0"),
        Answer::stream(["Back", " again."]).answer(),
    ]);
    let conversation = app.create_conversation("ada").await;
    let sent = app.send_message(&conversation, "Are you there?").await;
    assert_eq!(sent["assistantMessage"]["content"], "Back again.");
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].body, requests[1].body,
        "the same request is sent again"
    );
}

#[tokio::test]
async fn a_refusal_is_not_retried() {
    let (app, model) = app_with_model().await;
    model.script([Answer::error(401, "Incorrect API key provided")]);
    let conversation = app.create_conversation("ada").await;
    let error = send_failing(&app, &conversation, "hi").await;
    assert_eq!(
        error["message"],
        "The assistant is unavailable: the model server answered 401"
    );
    assert_eq!(model.requests().len(), 1);
}

#[tokio::test]
async fn a_model_that_sends_no_first_token_in_time_is_retried_then_reported() {
    let model = FakeModel::start().await;
    let mut config = model.config();
    config.first_token_timeout = Duration::from_millis(300);
    config.retries = 1;
    let app = spawn_app_with_model(config).await;
    model.script([Answer::Stall, Answer::Stall]);
    let conversation = app.create_conversation("ada").await;
    let error = send_failing(&app, &conversation, "hi").await;
    assert_eq!(
        error["message"],
        "The assistant is unavailable: the model server sent no reply within 0.3 s (2 attempts)"
    );
    assert_eq!(model.requests().len(), 2);
    assert_eq!(stored(&app, &conversation).await, [user("hi")]);
}

#[tokio::test]
async fn a_stream_cut_mid_reply_stores_nothing_and_is_not_started_over() {
    let (app, model) = app_with_model().await;
    model.script([Answer::stream(["Half", " a", " reply"])
        .cut_after(2)
        .answer()]);
    let conversation = app.create_conversation("ada").await;
    let error = send_failing(&app, &conversation, "Tell me everything").await;
    assert_eq!(
        error["message"],
        "The assistant is unavailable: the reply broke off before it was complete"
    );
    assert_eq!(model.requests().len(), 1, "text was passed on: no retry");
    assert_eq!(
        stored(&app, &conversation).await,
        [user("Tell me everything")]
    );
}

#[tokio::test]
async fn an_unreachable_model_server_is_retried_then_reported() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let model = FakeModel::start().await;
    let mut config = model.config();
    config.endpoint = format!("http://{closed}/v1/chat/completions")
        .parse()
        .expect("a URL");
    let app = spawn_app_with_model(config).await;
    let conversation = app.create_conversation("ada").await;
    let error = send_failing(&app, &conversation, "anyone?").await;
    assert_eq!(
        error["message"],
        "The assistant is unavailable: the model server could not be reached (3 attempts)"
    );
    assert_eq!(stored(&app, &conversation).await, [user("anyone?")]);
}

#[tokio::test]
async fn a_reply_that_outlasts_the_overall_timeout_stores_nothing() {
    let model = FakeModel::start().await;
    let mut config = model.config();
    config.first_token_timeout = Duration::from_millis(400);
    config.timeout = Duration::from_millis(400);
    let app = spawn_app_with_model(config).await;
    let never = Gate::default();
    model.script([Answer::stream(["Started", " but"])
        .hold_after(1, &never)
        .answer()]);
    let conversation = app.create_conversation("ada").await;
    let error = send_failing(&app, &conversation, "Take forever").await;
    assert_eq!(
        error["message"],
        "The assistant is unavailable: the reply took longer than 0.4 s"
    );
    assert_eq!(model.requests().len(), 1);
    assert_eq!(stored(&app, &conversation).await, [user("Take forever")]);
}

#[tokio::test]
async fn regenerate_reply_answers_a_message_whose_reply_failed_over_graphql_and_rest() {
    let (app, model) = app_with_model().await;
    model.script(vec![Answer::error(500, "down"); 3]);
    model.script([Answer::stream(["Sorry,", " here it is."]).answer()]);
    let conversation = app.create_conversation("ada").await;
    let error = send_failing(&app, &conversation, "Question one").await;
    let asked = error["details"]["userMessage"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let query =
        format!("mutation($m: ID!) {{ regenerateReply(messageId: $m) {{ {MESSAGE_FIELDS} }} }}");
    let reply = app.graphql(&query, json!({ "m": asked })).await;
    let regenerated = &reply.data()["regenerateReply"];
    assert_eq!(
        (&regenerated["role"], &regenerated["content"]),
        (&json!("ASSISTANT"), &json!("Sorry, here it is."))
    );
    assert_eq!(
        stored(&app, &conversation).await,
        [user("Question one"), assistant("Sorry, here it is.")]
    );
    // The model saw the question again, as the latest message.
    let last = model.requests().pop().unwrap();
    assert_eq!(last.messages().last().unwrap(), &user("Question one"));

    // The same over REST, under both prefixes.
    for prefix in ["/api", "/api/v1"] {
        model.script(vec![Answer::error(500, "down"); 3]);
        model.script([Answer::stream([format!("Answer via {prefix}")]).answer()]);
        let error = send_failing(&app, &conversation, prefix).await;
        let asked = error["details"]["userMessage"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let reply = app
            .post_empty(&format!("{prefix}/messages/{asked}/reply"))
            .await;
        let body = reply.expect(201);
        assert_eq!(body["role"], "assistant");
        assert_eq!(body["content"], format!("Answer via {prefix}"));
        assert_eq!(body["conversationId"], json!(conversation));
    }
}

#[tokio::test]
async fn regenerate_reply_refuses_answered_assistant_and_unknown_messages() {
    let (app, model) = app_with_model().await;
    let conversation = app.create_conversation("ada").await;
    let sent = app.send_message(&conversation, "hi").await;
    let answered = sent["userMessage"]["id"].as_str().unwrap();
    let reply_id = sent["assistantMessage"]["id"].as_str().unwrap();

    let fields = app
        .post_empty(&format!("/api/messages/{answered}/reply"))
        .await
        .expect_fields();
    assert_eq!(fields[0]["field"], "messageId");
    assert!(
        fields[0]["message"]
            .as_str()
            .unwrap()
            .contains("already has a reply")
    );
    let fields = app
        .post_empty(&format!("/api/messages/{reply_id}/reply"))
        .await
        .expect_fields();
    assert_eq!(
        fields,
        json!([{"field": "messageId", "message": "must name a user message"}])
    );
    for unknown in [uuid::Uuid::new_v4().to_string(), "nope".to_owned()] {
        app.post_empty(&format!("/api/messages/{unknown}/reply"))
            .await
            .expect_error(404, "NOT_FOUND");
    }
    let reply = app
        .graphql(
            "mutation($m: ID!) { regenerateReply(messageId: $m) { id } }",
            json!({ "m": answered }),
        )
        .await;
    assert_eq!(reply.error_codes(), ["VALIDATION_ERROR"]);
    assert_eq!(
        model.requests().len(),
        1,
        "only the first reply asked the model"
    );
    assert_eq!(stored(&app, &conversation).await.len(), 2);
}

#[tokio::test]
async fn a_client_that_disconnects_mid_reply_still_gets_the_reply_stored_and_announced() {
    let (app, model) = app_with_model().await;
    let gate = Gate::default();
    model.script([Answer::stream(["Still", " here."])
        .hold_after(1, &gate)
        .answer()]);
    let conversation = app.create_conversation("ada").await;
    let mut watcher = graphql_socket(&app, TRANSPORT_WS).await;
    let query = "subscription($c: ID!) { messageAdded(conversationId: $c) { role content } }";
    subscribe(
        &mut watcher,
        TRANSPORT_WS,
        "m",
        query,
        json!({"c": conversation}),
    )
    .await;
    wait_for_subscribers(&app, conversation_topic(&conversation), 1).await;

    let request = {
        let (address, conversation) = (app.address, conversation.clone());
        tokio::spawn(async move { send_rest(address, &conversation, "Are you still there?").await })
    };
    model.wait_for_requests(1).await;
    // The client gives up half-way through the reply: its connection closes.
    request.abort();
    assert!(request.await.unwrap_err().is_cancelled());
    gate.open();

    let announced = [
        json!({"messageAdded": {"role": "USER", "content": "Are you still there?"}}),
        json!({"messageAdded": {"role": "ASSISTANT", "content": "Still here."}}),
    ];
    for want in announced {
        assert_eq!(next_data(&mut watcher, TRANSPORT_WS, "m").await, want);
    }
    assert_eq!(
        stored(&app, &conversation).await,
        [user("Are you still there?"), assistant("Still here.")]
    );
}

#[tokio::test]
async fn a_second_message_waits_for_the_reply_being_written_so_exchanges_stay_in_order() {
    let (app, model) = app_with_model().await;
    let gate = Gate::default();
    model.script([
        Answer::stream(["First", " answer"])
            .hold_after(1, &gate)
            .answer(),
        Answer::stream(["Second answer"]).answer(),
    ]);
    let conversation = app.create_conversation("ada").await;
    let send = |text: &'static str| {
        let (address, conversation) = (app.address, conversation.clone());
        tokio::spawn(async move { send_rest(address, &conversation, text).await })
    };
    let first = send("one");
    model.wait_for_requests(1).await;
    let second = send("two");
    // Gives the second request every chance to get ahead; it must wait for its turn.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(stored(&app, &conversation).await, [user("one")]);
    gate.open();
    assert_eq!(first.await.unwrap().0, 201);
    assert_eq!(second.await.unwrap().0, 201);
    assert_eq!(
        stored(&app, &conversation).await,
        [
            user("one"),
            assistant("First answer"),
            user("two"),
            assistant("Second answer")
        ]
    );
    // The second reply was asked with the first exchange complete.
    let requests = model.requests();
    assert_eq!(
        requests[1].messages(),
        [user("one"), assistant("First answer"), user("two")]
    );
    assert_eq!(app.service.exchanges_in_progress(), 0);
}
