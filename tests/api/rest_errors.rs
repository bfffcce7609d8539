//! Transport failures on REST routes all answer the error envelope: bad bodies, media types,
//! unknown routes, wrong methods and oversized bodies (REST and `/graphql`).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// A body route of each resource, with a body that would succeed there.
async fn body_routes(app: &TestApp) -> Vec<(Method, String, Value)> {
    let chat = app.rest_create_chat(json!({"title": "t"})).await;
    let conversation = app.rest_create_conversation("u").await;
    vec![
        (Method::POST, "/chats".into(), json!({"title": "t"})),
        (
            Method::PUT,
            format!("/chats/{}", chat["id"].as_str().unwrap()),
            json!({"title": "u"}),
        ),
        (
            Method::POST,
            "/api/conversations".into(),
            json!({"userId": "u"}),
        ),
        (
            Method::POST,
            format!(
                "/api/v1/conversations/{}/messages",
                conversation["id"].as_str().unwrap()
            ),
            json!({"content": "hi"}),
        ),
    ]
}

#[tokio::test]
async fn malformed_json_and_bodies_that_are_not_objects_are_400s() {
    let app = spawn_app().await;
    for (method, path, _) in body_routes(&app).await {
        for (raw, message) in [
            (
                "{\"title\": ",
                "request body is not valid JSON: EOF while parsing a value at line 1 column 10",
            ),
            (
                "{'title': 'x'}",
                "request body is not valid JSON: key must be a string at line 1 column 2",
            ),
            ("[1, 2]", "request body must be a JSON object"),
            ("\"title\"", "request body must be a JSON object"),
            ("null", "request body must be a JSON object"),
            ("42", "request body must be a JSON object"),
            ("", "request body is empty"),
        ] {
            let reply = app
                .send_raw(method.clone(), &path, Some("application/json"), raw)
                .await;
            assert_eq!(
                reply.body,
                json!({"error": {"code": "VALIDATION_ERROR", "message": message, "details": {}}}),
                "{method} {path} {raw:?}"
            );
            assert_eq!(reply.status, 400);
        }
    }
}

#[tokio::test]
async fn an_empty_body_is_400_whether_or_not_a_json_type_is_declared() {
    let app = spawn_app().await;
    let mut routes: Vec<(Method, String)> = body_routes(&app)
        .await
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    routes.push((Method::POST, "/graphql".to_owned()));
    for (method, path) in routes {
        for content_type in [None, Some("application/json")] {
            let reply = app.send_raw(method.clone(), &path, content_type, "").await;
            assert_eq!(
                reply.status, 400,
                "{method} {path} {content_type:?}: {}",
                reply.body
            );
            let message = if path == "/graphql" {
                &reply.body["errors"][0]["message"]
            } else {
                &reply.body["error"]["message"]
            };
            assert_eq!(message, "request body is empty", "{method} {path}");
        }
    }
}

#[tokio::test]
async fn a_body_not_declared_json_is_415_and_json_with_parameters_is_fine() {
    let app = spawn_app().await;
    for (method, path, good) in body_routes(&app).await {
        let raw = good.to_string();
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("application/jsonx"),
            Some("application/merge-patch+json"),
        ] {
            let reply = app
                .send_raw(method.clone(), &path, content_type, raw.clone())
                .await;
            assert_eq!(
                reply.body,
                json!({"error": {
                    "code": "UNSUPPORTED_MEDIA_TYPE",
                    "message": "request body must be application/json",
                    "details": {},
                }}),
                "{method} {path} {content_type:?}"
            );
            assert_eq!(reply.status, 415);
        }
        for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
            let reply = app
                .send_raw(method.clone(), &path, Some(content_type), raw.clone())
                .await;
            assert!(
                reply.status.is_success(),
                "{method} {path} {content_type}: {}",
                reply.body
            );
        }
    }
}

#[tokio::test]
async fn routes_that_need_no_body_ignore_the_content_type() {
    let app = spawn_app().await;
    let chat = app.rest_create_chat(json!({"title": "t"})).await;
    let id = chat["id"].as_str().unwrap();
    for content_type in [None, Some("text/plain"), Some("application/json")] {
        let reply = app
            .send_raw(
                Method::POST,
                &format!("/chats/{id}/toggle"),
                content_type,
                "",
            )
            .await;
        reply.expect(200);
    }
    let conversation = app.rest_create_conversation("u").await;
    let reply = app
        .send_raw(
            Method::DELETE,
            &format!(
                "/api/conversations/{}",
                conversation["id"].as_str().unwrap()
            ),
            Some("application/xml"),
            "",
        )
        .await;
    reply.expect(204);
    let reply = app
        .send_raw(
            Method::DELETE,
            &format!("/chats/{id}"),
            Some("text/plain"),
            "",
        )
        .await;
    reply.expect(204);
}

#[tokio::test]
async fn unknown_routes_answer_404_in_the_envelope() {
    let app = spawn_app().await;
    let chat = app.rest_create_chat(json!({"title": "t"})).await;
    let id = chat["id"].as_str().unwrap();
    for (method, path) in [
        (Method::GET, "/nope".to_owned()),
        (Method::GET, "/chats/".to_owned()),
        (Method::POST, format!("/chats/{id}/archive")),
        (Method::GET, "/api/v2/conversations".to_owned()),
        (Method::GET, "/api/chats".to_owned()),
        (Method::DELETE, "/api/messages".to_owned()),
        (Method::GET, "/healthz".to_owned()),
    ] {
        let reply = app.send_raw(method.clone(), &path, None, "").await;
        assert_eq!(
            reply.body,
            json!({"error": {"code": "NOT_FOUND", "message": "no such route", "details": {}}}),
            "{method} {path}"
        );
        assert_eq!(reply.status, 404);
    }
}

#[tokio::test]
async fn wrong_methods_answer_405_with_allow() {
    let app = spawn_app().await;
    let id = uuid::Uuid::new_v4();
    let cases = [
        (Method::PATCH, "/chats".to_owned(), "GET,HEAD,POST"),
        (Method::DELETE, "/chats".to_owned(), "GET,HEAD,POST"),
        (Method::POST, format!("/chats/{id}"), "GET,HEAD,PUT,DELETE"),
        (Method::GET, format!("/chats/{id}/toggle"), "POST"),
        (
            Method::PUT,
            "/api/conversations".to_owned(),
            "GET,HEAD,POST",
        ),
        (
            Method::PUT,
            format!("/api/conversations/{id}"),
            "GET,HEAD,DELETE",
        ),
        (
            Method::DELETE,
            format!("/api/v1/conversations/{id}/messages"),
            "GET,HEAD,POST",
        ),
        (Method::DELETE, format!("/api/v1/messages/{id}"), "GET,HEAD"),
        (Method::POST, "/health".to_owned(), "GET,HEAD"),
        (Method::PUT, "/health/db".to_owned(), "GET,HEAD"),
        (Method::POST, "/openapi.json".to_owned(), "GET,HEAD"),
        (Method::POST, "/schema.graphql".to_owned(), "GET,HEAD"),
        (Method::POST, "/ws".to_owned(), "GET,HEAD"),
        (Method::POST, "/".to_owned(), "GET,HEAD"),
        (Method::DELETE, "/playground".to_owned(), "GET,HEAD"),
        (Method::PUT, "/playground/chat".to_owned(), "GET,HEAD"),
    ];
    for (method, path, allow) in cases {
        let reply = app
            .send_raw(method.clone(), &path, Some("application/json"), "{}")
            .await;
        assert_eq!(
            reply.body,
            json!({"error": {
                "code": "METHOD_NOT_ALLOWED",
                "message": "this path does not take that method",
                "details": {},
            }}),
            "{method} {path}"
        );
        assert_eq!(reply.status, 405);
        assert_eq!(reply.header("allow"), Some(allow), "{method} {path}");
    }
}

const MIB: usize = 1_048_576;

/// `prefix`, then spaces, then `suffix`: valid JSON of exactly `len` bytes.
fn padded(prefix: &str, suffix: &str, len: usize) -> String {
    let pad = len - prefix.len() - suffix.len();
    format!("{prefix}{}{suffix}", " ".repeat(pad))
}

#[tokio::test]
async fn rest_bodies_of_exactly_1_mib_pass_and_one_byte_more_is_413() {
    let app = spawn_app().await;
    for (method, path, good) in body_routes(&app).await {
        let text = good.to_string();
        let prefix = &text[..text.len() - 1];
        let reply = app
            .send_raw(
                method.clone(),
                &path,
                Some("application/json"),
                padded(prefix, "}", MIB),
            )
            .await;
        assert!(reply.status.is_success(), "{method} {path}: {}", reply.body);
        let reply = app
            .send_raw(
                method.clone(),
                &path,
                Some("application/json"),
                padded(prefix, "}", MIB + 1),
            )
            .await;
        assert_eq!(
            reply.body,
            json!({"error": {
                "code": "PAYLOAD_TOO_LARGE",
                "message": "request body is larger than 1 MiB",
                "details": {},
            }}),
            "{method} {path}"
        );
        assert_eq!(reply.status, 413);
    }
}

#[tokio::test]
async fn a_conversation_with_1_mib_of_metadata_is_stored_whole() {
    let app = spawn_app().await;
    let prefix = r#"{"userId":"u","metadata":{"pad":""#;
    let suffix = r#""}}"#;
    let pad = "x".repeat(MIB - prefix.len() - suffix.len());
    let body = format!("{prefix}{pad}{suffix}");
    assert_eq!(body.len(), MIB);
    let reply = app
        .send_raw(
            Method::POST,
            "/api/conversations",
            Some("application/json"),
            body,
        )
        .await;
    assert_eq!(
        reply.expect(201)["metadata"]["pad"].as_str().unwrap().len(),
        pad.len()
    );
}

#[tokio::test]
async fn graphql_bodies_of_exactly_1_mib_pass_and_one_byte_more_is_413() {
    let app = spawn_app().await;
    let prefix = r#"{"query": "{ chats { total } }""#;
    let request = |len| {
        app.client
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(padded(prefix, "}", len))
    };
    let ok = app.graphql_request(request(MIB)).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.data(), &json!({"chats": {"total": 0}}));
    let too_large = app.graphql_request(request(MIB + 1)).await;
    assert_eq!(too_large.status, 413);
    assert_eq!(too_large.error_codes(), ["PAYLOAD_TOO_LARGE"]);
}

#[tokio::test]
async fn a_chunked_body_over_1_mib_is_413_too() {
    let app = spawn_app().await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        std::iter::once(b"{\"title\":\"t\"".to_vec())
            .chain((0..65).map(|_| vec![b' '; 16 * 1024]))
            .chain(std::iter::once(b"}".to_vec()))
            .map(Ok)
            .collect();
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let reply = app
        .send_raw(Method::POST, "/chats", Some("application/json"), body)
        .await;
    reply.expect_error(413, "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn framework_answers_are_enveloped_too() {
    let app = spawn_app().await;
    let bad_path = app.get("/playground/%FF").await;
    assert_eq!(bad_path.status, 400, "{}", bad_path.body);
    assert_eq!(bad_path.body["error"]["code"], "VALIDATION_ERROR");
    let no_docs_file = app.get("/docs/no-such-file.js").await;
    assert_eq!(no_docs_file.status, 404, "{}", no_docs_file.body);
    assert_eq!(no_docs_file.body["error"]["code"], "NOT_FOUND");
}
