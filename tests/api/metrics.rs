//! `GET /metrics` scraped from a real server after real REST, GraphQL and socket traffic:
//! every family's names, labels and values move, route labels are templates (no raw ids), and
//! operation names outside the bounded set fold into `other`.

use serde_json::json;

use crate::helpers::openai::{Answer, FakeModel};
use crate::helpers::{TestApp, spawn_app, spawn_app_with_model};
use crate::ws_client::{
    Client, TRANSPORT_WS, conversation_topic, graphql_socket, next_data, subscribe,
    wait_for_subscribers, wait_until,
};

/// The text of `GET /metrics`, checked to be Prometheus text.
pub async fn scrape(app: &TestApp, key: Option<&str>) -> String {
    let mut request = app.client.get(app.url("/metrics"));
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    let response = request.send().await.expect("answered");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    response.text().await.expect("a text body")
}

/// The value of the sample `series` (name and labels exactly as written), if listed.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().expect("a number"))
        .next()
}

/// Like [`sample`], failing the test when the series is not listed.
pub fn value(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or_else(|| panic!("{series} is not listed in:\n{text}"))
}

/// Scrapes until `series` reads `expected` (what a socket's task records as it winds down),
/// failing the test after 10 s.
pub async fn eventually(app: &TestApp, series: &str, expected: f64) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = scrape(app, None).await;
        if sample(&text, series) == Some(expected) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{series} never read {expected}:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn rest_requests_are_counted_by_route_template_method_and_status_never_by_raw_path() {
    let app = spawn_app().await;
    let chat = app.rest_create_chat(json!({"title": "Counted"})).await;
    let id = chat["id"].as_str().expect("an id");
    app.get(&format!("/chats/{id}")).await.expect(200);
    app.get(&format!("/chats/{id}")).await.expect(200);
    let unknown = "00000000-0000-4000-8000-000000000000";
    app.get(&format!("/chats/{unknown}"))
        .await
        .expect_error(404, "NOT_FOUND");
    app.get("/no/such/route/abc123")
        .await
        .expect_error(404, "NOT_FOUND");

    let text = scrape(&app, None).await;
    let requests = |route: &str, method: &str, status: u16| {
        sample(
            &text,
            &format!(
                "chatgate_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(requests("/chats", "POST", 201), Some(1.0));
    assert_eq!(requests("/chats/{id}", "GET", 200), Some(2.0));
    assert_eq!(requests("/chats/{id}", "GET", 404), Some(1.0));
    assert_eq!(requests("unmatched", "GET", 404), Some(1.0));
    assert_eq!(
        value(
            &text,
            "chatgate_http_request_duration_seconds_count{route=\"/chats/{id}\",method=\"GET\"}"
        ),
        3.0
    );
    assert_eq!(
        value(
            &text,
            "chatgate_http_request_duration_seconds_bucket{route=\"/chats/{id}\",method=\"GET\",le=\"+Inf\"}"
        ),
        3.0
    );
    assert_eq!(
        value(&text, "chatgate_errors_total{code=\"NOT_FOUND\"}"),
        2.0
    );
    assert_eq!(
        value(
            &text,
            "chatgate_store_operation_duration_seconds_count{operation=\"create_chat\",outcome=\"ok\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "chatgate_store_operation_duration_seconds_count{operation=\"get_chat\",outcome=\"ok\"}"
        ),
        3.0
    );
    for raw in [id, unknown, "abc123"] {
        assert!(!text.contains(raw), "{raw} is a label value:\n{text}");
    }
}

#[tokio::test]
async fn graphql_operations_are_counted_by_type_bounded_name_and_outcome() {
    let app = spawn_app().await;
    let listed = app
        .graphql("query ListChats { chats { total } }", json!({}))
        .await;
    assert_eq!(listed.data(), &json!({"chats": {"total": 0}}));
    app.graphql("query ListChats { chats { total } }", json!({}))
        .await;
    app.graphql(
        "mutation Make($t: String!) { createChat(input: {title: $t}) { id } }",
        json!({"t": "x"}),
    )
    .await;
    app.graphql("{ chats { total } }", json!({})).await;
    app.graphql("{ chat(id: \"nope\") { id } }", json!({}))
        .await;
    app.graphql("query {", json!({})).await;
    let body = json!({"query": "query A { chats { total } }", "operationName": "NotInTheDocument"});
    app.graphql_request(app.client.post(app.url("/graphql")).json(&body))
        .await;

    let text = scrape(&app, None).await;
    let operations = |ty: &str, name: &str, outcome: &str| {
        sample(
            &text,
            &format!(
                "chatgate_graphql_operations_total{{operation_type=\"{ty}\",operation_name=\"{name}\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    assert_eq!(operations("query", "ListChats", "ok"), Some(2.0));
    assert_eq!(operations("mutation", "Make", "ok"), Some(1.0));
    assert_eq!(
        operations("query", "other", "ok"),
        Some(2.0),
        "unnamed (an unknown id is null, not an error)"
    );
    assert_eq!(operations("query", "other", "error"), None);
    assert_eq!(operations("unknown", "other", "error"), Some(2.0));
    assert!(
        !text.contains("NotInTheDocument"),
        "names the document does not define fold into other"
    );
    assert_eq!(
        value(
            &text,
            "chatgate_graphql_operation_duration_seconds_count{operation_type=\"query\",operation_name=\"ListChats\"}"
        ),
        2.0
    );
    assert_eq!(
        value(
            &text,
            "chatgate_errors_total{code=\"GRAPHQL_PARSE_FAILED\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "chatgate_errors_total{code=\"GRAPHQL_VALIDATION_FAILED\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "chatgate_http_requests_total{route=\"/graphql\",method=\"POST\",status=\"200\"}"
        ),
        7.0
    );
}

async fn message_subscription(app: &TestApp, conversation: &str) -> Client {
    let mut socket = graphql_socket(app, TRANSPORT_WS).await;
    let query = "subscription Watch($c: ID!) { messageAdded(conversationId: $c) { content } }";
    subscribe(
        &mut socket,
        TRANSPORT_WS,
        "1",
        query,
        json!({"c": conversation}),
    )
    .await;
    wait_for_subscribers(app, conversation_topic(conversation), 1).await;
    socket
}

#[tokio::test]
async fn sockets_subscriptions_events_and_the_assistant_are_counted() {
    let app = spawn_app().await;
    let conversation = app.rest_create_conversation("ada").await;
    let conversation = conversation["id"].as_str().expect("an id").to_owned();
    let mut graphql = message_subscription(&app, &conversation).await;
    let mut join = Client::open(&app, "/ws", None).await;
    join.send(json!({"type": "join", "conversationId": conversation}))
        .await;
    assert_eq!(join.next().await["type"], "joined");

    let text = scrape(&app, None).await;
    let open = |text: &str, protocol: &str| {
        value(
            text,
            &format!("chatgate_websockets_open{{protocol=\"{protocol}\"}}"),
        )
    };
    assert_eq!(open(&text, "graphql-transport-ws"), 1.0);
    assert_eq!(open(&text, "join"), 1.0);
    assert_eq!(value(&text, "chatgate_subscriptions_active"), 2.0);
    assert_eq!(value(&text, "chatgate_events_delivered_total"), 0.0);

    app.rest_send_message(&conversation, "hello").await;
    for _ in 0..2 {
        let data = next_data(&mut graphql, TRANSPORT_WS, "1").await;
        assert!(data["messageAdded"]["content"].is_string());
    }
    let text = scrape(&app, None).await;
    // Two messages, each to both subscribers, and the reply's pieces to the join socket.
    assert!(
        value(&text, "chatgate_events_delivered_total") >= 4.0,
        "{text}"
    );
    assert_eq!(value(&text, "chatgate_assistant_requests_total"), 1.0);
    assert_eq!(value(&text, "chatgate_assistant_failures_total"), 0.0);
    assert_eq!(
        value(&text, "chatgate_assistant_first_token_seconds_count"),
        1.0
    );
    assert_eq!(value(&text, "chatgate_subscribers_lagged_total"), 0.0);

    graphql.send(json!({"type": "complete", "id": "1"})).await;
    drop(join);
    wait_until(
        || app.sockets.open() == 1,
        "the join socket to be counted out",
    )
    .await;
    eventually(&app, "chatgate_subscriptions_active", 0.0).await;
    let watched = "chatgate_graphql_operations_total{operation_type=\"subscription\",operation_name=\"Watch\",outcome=\"ok\"}";
    eventually(&app, watched, 1.0).await;
    let text = scrape(&app, None).await;
    assert_eq!(open(&text, "join"), 0.0);
    assert_eq!(open(&text, "graphql-transport-ws"), 1.0);
    assert_eq!(
        value(
            &text,
            "chatgate_http_requests_total{route=\"/ws\",method=\"GET\",status=\"101\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn the_models_tokens_and_failures_are_counted() {
    let model = FakeModel::start().await;
    let app = spawn_app_with_model(model.config()).await;
    model.script([
        Answer::stream(["The answer", " is", " 42."]).answer(),
        Answer::error(400, "bad request"),
    ]);
    let conversation = app.rest_create_conversation("ada").await;
    let id = conversation["id"].as_str().expect("an id");
    app.rest_send_message(id, "What is the answer?").await;
    app.post_json(
        &format!("/api/conversations/{id}/messages"),
        &json!({"content": "again"}),
    )
    .await
    .expect_error(502, "ASSISTANT_UNAVAILABLE");

    let text = scrape(&app, None).await;
    assert_eq!(value(&text, "chatgate_assistant_requests_total"), 2.0);
    assert_eq!(value(&text, "chatgate_assistant_failures_total"), 1.0);
    assert_eq!(
        value(&text, "chatgate_assistant_first_token_seconds_count"),
        1.0
    );
    assert_eq!(
        value(&text, "chatgate_assistant_tokens_total{kind=\"prompt\"}"),
        12.0
    );
    assert_eq!(
        value(
            &text,
            "chatgate_assistant_tokens_total{kind=\"completion\"}"
        ),
        3.0
    );
    assert_eq!(
        value(
            &text,
            "chatgate_errors_total{code=\"ASSISTANT_UNAVAILABLE\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn ws_error_frames_are_counted_by_code() {
    let app = spawn_app().await;
    let mut join = Client::open(&app, "/ws", None).await;
    let unknown = "00000000-0000-4000-8000-000000000000";
    join.send(json!({"type": "join", "conversationId": unknown}))
        .await;
    let refused = join.next().await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["error"]["code"], "NOT_FOUND");
    join.send_text("not a frame").await;
    let malformed = join.next().await;
    assert_eq!(malformed["type"], "error");
    assert_eq!(malformed["error"]["code"], "VALIDATION_ERROR");

    let text = scrape(&app, None).await;
    assert_eq!(
        value(&text, "chatgate_errors_total{code=\"NOT_FOUND\"}"),
        1.0
    );
    assert_eq!(
        value(&text, "chatgate_errors_total{code=\"VALIDATION_ERROR\"}"),
        1.0
    );
}
