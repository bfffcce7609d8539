//! REST from the client side.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::TestApp;
use super::quotes::set_aside_request_id;

/// A REST answer: status, headers and the JSON body (`Value::Null` when the body is empty).
#[derive(Debug)]
pub struct RestReply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl RestReply {
    /// The body after asserting the status.
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {}",
            self.body
        );
        &self.body
    }

    /// Asserts an error envelope with this status and code, whose `details` is an object
    /// (`{}` when there is nothing to add); returns `error.details`.
    pub fn expect_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {}",
            self.body
        );
        let error = &self.body["error"];
        assert_eq!(error["code"], code, "unexpected body: {}", self.body);
        assert!(error["message"].is_string(), "no message in {}", self.body);
        let keys: Vec<&String> = self.body.as_object().expect("envelope").keys().collect();
        assert_eq!(
            keys,
            ["error"],
            "envelope has exactly one key: {}",
            self.body
        );
        let details = error.get("details").cloned().unwrap_or(Value::Null);
        assert!(details.is_object(), "details is an object: {}", self.body);
        details
    }

    /// Asserts a `VALIDATION_ERROR` and returns `details.fields`.
    pub fn expect_fields(&self) -> Value {
        self.expect_error(400, "VALIDATION_ERROR")["fields"].clone()
    }

    /// The value of a response header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }
}

impl TestApp {
    /// Sends a prepared REST request and decodes the answer.
    pub async fn rest(&self, request: reqwest::RequestBuilder) -> RestReply {
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body is readable");
        let mut body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
        };
        let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok());
        set_aside_request_id(status.as_u16(), request_id, &mut body);
        RestReply {
            status,
            headers,
            body,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> RestReply {
        self.rest(self.client.get(self.url(path))).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> RestReply {
        self.rest(self.client.post(self.url(path)).json(body)).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put_json(&self, path: &str, body: &Value) -> RestReply {
        self.rest(self.client.put(self.url(path)).json(body)).await
    }

    /// `POST path` without a body or content type (toggle).
    pub async fn post_empty(&self, path: &str) -> RestReply {
        self.rest(self.client.post(self.url(path))).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> RestReply {
        self.rest(self.client.delete(self.url(path))).await
    }

    /// Any method with raw body bytes and an optional content type.
    pub async fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> RestReply {
        let mut request = self.client.request(method, self.url(path)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        self.rest(request).await
    }

    /// Creates a chat over REST; returns its JSON after asserting 201.
    pub async fn rest_create_chat(&self, body: Value) -> Value {
        self.post_json("/chats", &body).await.expect(201).clone()
    }

    /// Creates a conversation over REST; returns its JSON after asserting 201.
    pub async fn rest_create_conversation(&self, user_id: &str) -> Value {
        self.post_json("/api/conversations", &json!({ "userId": user_id }))
            .await
            .expect(201)
            .clone()
    }

    /// Posts a message over REST; returns `{userMessage, assistantMessage}` after asserting 201.
    pub async fn rest_send_message(&self, conversation_id: &str, content: &str) -> Value {
        let path = format!("/api/conversations/{conversation_id}/messages");
        self.post_json(&path, &json!({ "content": content }))
            .await
            .expect(201)
            .clone()
    }
}
