//! Requests refused from their head alone, through the real server: a declared body over 1 MiB
//! is a 413 at once (nothing of the body is awaited), a long URI a 414 and oversized headers a
//! 431, each in the shape of the API the path belongs to. Heads the HTTP parser cannot read get
//! its bare answer.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::helpers::quotes::{quoted_json, set_aside_request_id};
use crate::helpers::{TestApp, spawn_app};

/// Far shorter than the 30-second request timeout a declared body used to wait for.
const GUARD: Duration = Duration::from_secs(10);

/// Sends `head` (no body follows) and reads until the server closes the connection.
async fn raw_exchange(app: &TestApp, head: &str) -> String {
    let mut stream = TcpStream::connect(app.address).await.expect("connect");
    stream
        .write_all(head.as_bytes())
        .await
        .expect("head written");
    let mut answer = Vec::new();
    timeout(GUARD, stream.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes the connection at once")
        .expect("answer readable");
    String::from_utf8(answer).expect("UTF-8 answer")
}

/// The status line and the JSON body of a raw answer.
/// The status line and the JSON body of a raw answer, its request-id quotes checked against
/// its `X-Request-Id` header and set aside.
fn status_and_body(answer: &str) -> (&str, Value) {
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.lines().next().expect("a status line");
    let code = status
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code");
    let request_id = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("x-request-id")
            .then(|| value.trim())
    });
    let mut body = serde_json::from_str(body).expect("a JSON body");
    set_aside_request_id(code, request_id, &mut body);
    (status, body)
}

/// The REST error envelope with `code` and `message` (and no details beyond an empty object).
fn assert_envelope(body: &Value, code: &str, message: &str) {
    let error = body["error"].as_object().expect("an error envelope");
    assert_eq!(
        (&error["code"], &error["message"]),
        (&json!(code), &json!(message))
    );
    assert!(
        error
            .get("details")
            .is_none_or(|details| *details == json!({})),
        "{body}"
    );
}

fn declaring_two_mib(method_and_path: &str) -> String {
    format!(
        "{method_and_path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: 2097152\r\n\r\n"
    )
}

#[tokio::test]
async fn a_declared_body_over_1_mib_is_refused_with_413_before_any_of_it_arrives() {
    let app = spawn_app().await;
    let conversation = app.create_conversation("u1").await;
    let rest_paths = [
        "POST /chats".to_owned(),
        format!("PUT /chats/{}", uuid::Uuid::new_v4()),
        "POST /api/conversations".to_owned(),
        format!("POST /api/v1/conversations/{conversation}/messages"),
    ];
    for method_and_path in rest_paths {
        let answer = raw_exchange(&app, &declaring_two_mib(&method_and_path)).await;
        let (status, body) = status_and_body(&answer);
        assert_eq!(
            status, "HTTP/1.1 413 Payload Too Large",
            "{method_and_path}"
        );
        assert_envelope(
            &body,
            "PAYLOAD_TOO_LARGE",
            "request body is larger than 1 MiB",
        );
    }
    let answer = raw_exchange(&app, &declaring_two_mib("POST /graphql")).await;
    let (status, body) = status_and_body(&answer);
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    assert_eq!(
        body,
        json!({"errors": [{
            "message": "request body is larger than 1 MiB",
            "extensions": {"code": "PAYLOAD_TOO_LARGE"},
        }]})
    );
}

#[tokio::test]
async fn a_declared_body_of_exactly_1_mib_is_still_read() {
    let app = spawn_app().await;
    let mut body = br#"{"title":"padded"}"#.to_vec();
    body.resize(1_048_576, b' ');
    let response = app
        .client
        .post(app.url("/chats"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::CREATED);
}

async fn get(app: &TestApp, path: &str, headers: &[(String, String)]) -> (StatusCode, Value) {
    let mut request = app.client.get(app.url(path));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("answered");
    (response.status(), quoted_json(response).await)
}

#[tokio::test]
async fn a_uri_over_8_kib_is_a_414_in_the_shape_of_its_api() {
    let app = spawn_app().await;
    let long = "x".repeat(9_000);
    let (status, body) = get(&app, &format!("/chats?userId={long}"), &[]).await;
    assert_eq!(status, StatusCode::URI_TOO_LONG);
    assert_envelope(
        &body,
        "VALIDATION_ERROR",
        "the request URI is longer than 8192 bytes",
    );
    let query = format!("{{ chats(userId: \"{long}\") {{ total }} }}");
    let (status, body) = get(&app, &format!("/graphql?query={query}"), &[]).await;
    assert_eq!(status, StatusCode::URI_TOO_LONG);
    assert_eq!(
        body,
        json!({"errors": [{
            "message": "the request URI is longer than 8192 bytes",
            "extensions": {"code": "VALIDATION_ERROR"},
        }]})
    );
}

#[tokio::test]
async fn headers_over_32_kib_or_over_100_lines_are_a_431_in_the_shape_of_its_api() {
    let app = spawn_app().await;
    let cookie = [("cookie".to_owned(), "c".repeat(40_000))];
    let (status, body) = get(&app, "/api/conversations", &cookie).await;
    assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_envelope(
        &body,
        "VALIDATION_ERROR",
        "the request headers are larger than 32768 bytes",
    );
    let many: Vec<(String, String)> = (0..150)
        .map(|i| (format!("x-extra-{i}"), "1".to_owned()))
        .collect();
    let (status, body) = get(&app, "/graphql?query={chats{total}}", &many).await;
    assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(
        body,
        json!({"errors": [{
            "message": "the request has more than 100 headers",
            "extensions": {"code": "VALIDATION_ERROR"},
        }]})
    );
}

#[tokio::test]
async fn a_request_line_that_is_not_http_gets_the_parsers_bare_400() {
    let app = spawn_app().await;
    let answer = raw_exchange(&app, "HELLO THERE\r\n\r\n").await;
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("\r\n\r\n"), "no body: {answer}");
}
