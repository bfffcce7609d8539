//! GraphQL over HTTP from the client side, plus raw HTTP for what reqwest would normalise.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::quotes::set_aside_request_id;
use super::{CHAT_FIELDS, MESSAGE_FIELDS, TestApp};

/// A GraphQL answer: HTTP status, `Content-Type` and the JSON body.
#[derive(Debug)]
pub struct GraphqlReply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

/// An HTTP answer read off the wire: status, headers (names lowercase) and JSON body.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl RawResponse {
    fn parse(text: &str) -> Self {
        let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .expect("a status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let mut body =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {body}"));
        let request_id = headers
            .iter()
            .find(|(n, _)| n == "x-request-id")
            .map(|(_, v)| v.as_str());
        set_aside_request_id(status, request_id, &mut body);
        Self {
            status,
            headers,
            body,
        }
    }

    /// The value of header `name` (lowercase), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl GraphqlReply {
    /// `data`, after asserting there were no errors.
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.body
        );
        &self.body["data"]
    }

    /// The one error, after asserting there is exactly one.
    pub fn only_error(&self) -> &Value {
        match self.body["errors"].as_array().map(Vec::as_slice) {
            Some([error]) => error,
            _ => panic!("expected exactly one error in {}", self.body),
        }
    }

    /// The `extensions.code` of every error, in order.
    pub fn error_codes(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors in {}", self.body))
            .iter()
            .map(|e| {
                e["extensions"]["code"]
                    .as_str()
                    .unwrap_or("<none>")
                    .to_owned()
            })
            .collect()
    }
}

impl TestApp {
    /// POSTs a GraphQL request as JSON.
    pub async fn graphql(&self, query: &str, variables: Value) -> GraphqlReply {
        let body = json!({ "query": query, "variables": variables });
        self.graphql_request(self.client.post(self.url("/graphql")).json(&body))
            .await
    }

    /// GETs a GraphQL request: the query and, when given, the variables as a JSON parameter.
    pub async fn graphql_get(&self, query: &str, variables: Option<Value>) -> GraphqlReply {
        let mut params = vec![("query", query.to_owned())];
        if let Some(variables) = variables {
            params.push(("variables", variables.to_string()));
        }
        let request = self.client.get(self.url("/graphql")).query(&params);
        self.graphql_request(request).await
    }

    /// POSTs a GraphQL request as JSON with the given `Accept` header.
    pub async fn graphql_accepting(&self, accept: &str, query: &str) -> GraphqlReply {
        let request = self
            .client
            .post(self.url("/graphql"))
            .header("accept", accept)
            .json(&json!({ "query": query }));
        self.graphql_request(request).await
    }

    /// Sends `request` (the head without `Host` and `Connection`, which are added) and `body`
    /// over a fresh TCP connection, byte for byte, so no client adds headers of its own.
    pub async fn raw_http(&self, head: &str, body: &str) -> RawResponse {
        let mut stream = TcpStream::connect(self.address).await.expect("connect");
        let request = format!(
            "{head}\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            self.address,
            body.len()
        );
        let mut answer = Vec::new();
        timeout(Duration::from_secs(10), async {
            stream.write_all(request.as_bytes()).await?;
            stream.read_to_end(&mut answer).await
        })
        .await
        .expect("the server answers within 10 s")
        .expect("the exchange succeeds");
        RawResponse::parse(&String::from_utf8(answer).expect("UTF-8 answer"))
    }

    /// Sends any prepared request and decodes the answer as a GraphQL reply.
    pub async fn graphql_request(&self, request: reqwest::RequestBuilder) -> GraphqlReply {
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().expect("ASCII content type").to_owned())
            .unwrap_or_default();
        let request_id = response
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().expect("ASCII request id").to_owned());
        let text = response.text().await.expect("body is readable");
        let mut body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"));
        set_aside_request_id(status.as_u16(), request_id.as_deref(), &mut body);
        GraphqlReply {
            status,
            content_type,
            body,
        }
    }

    /// Creates a chat with the given title; returns its JSON.
    pub async fn create_chat(&self, title: &str) -> Value {
        let reply = self
            .graphql(
                &format!("mutation($t: String!) {{ createChat(input: {{title: $t}}) {{ {CHAT_FIELDS} }} }}"),
                json!({ "t": title }),
            )
            .await;
        reply.data()["createChat"].clone()
    }

    /// Creates a conversation for `user_id`; returns its id.
    pub async fn create_conversation(&self, user_id: &str) -> String {
        let reply = self
            .graphql(
                "mutation($u: String!) { createConversation(input: {userId: $u}) { id } }",
                json!({ "u": user_id }),
            )
            .await;
        reply.data()["createConversation"]["id"]
            .as_str()
            .expect("id is a string")
            .to_owned()
    }

    /// Sends a message; returns the `sendMessage` payload JSON.
    pub async fn send_message(&self, conversation_id: &str, content: &str) -> Value {
        let reply = self
            .graphql(
                &format!(
                    "mutation($c: ID!, $t: String!) {{ sendMessage(input: {{conversationId: $c, content: $t}}) \
                     {{ userMessage {{ {MESSAGE_FIELDS} }} assistantMessage {{ {MESSAGE_FIELDS} }} }} }}"
                ),
                json!({ "c": conversation_id, "t": content }),
            )
            .await;
        reply.data()["sendMessage"].clone()
    }
}
