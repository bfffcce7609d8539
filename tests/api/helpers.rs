//! Spawns the real application on an ephemeral port and talks to it like a client would.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chatgate::app::{self, AppState};
use chatgate::assistant::BuiltinResponder;
use chatgate::domain::{Clock, ManualClock, SystemClock, Timestamp};
use chatgate::service::ChatService;
use chatgate::store::{MemoryStore, Store};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::time::timeout;

/// A running chatgate on `127.0.0.1:<random port>`; stops when dropped.
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    pub service: ChatService,
    /// Set when the app was spawned with [`spawn_app_with_clock`].
    pub clock: Option<Arc<ManualClock>>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

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
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let body =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {body}"));
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

/// Every field of `Chat`, for whole-object assertions.
pub const CHAT_FIELDS: &str = "id title description active priority userId createdAt updatedAt";
/// Every scalar field of `Conversation`, for whole-object assertions.
pub const CONVERSATION_FIELDS: &str = "id userId metadata createdAt updatedAt messageCount";
/// Every scalar field of `Message`, for whole-object assertions.
pub const MESSAGE_FIELDS: &str = "id conversationId role content metadata createdAt";

/// The instant every manual clock starts at.
pub const START: &str = "2025-10-04T12:00:00.000Z";

/// `2025-10-04T<time>Z`, e.g. `at("12:00:00.001")`: instants of the manual clock's day.
pub fn at(time: &str) -> String {
    format!("2025-10-04T{time}Z")
}

/// A manual clock standing at [`START`].
pub fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Timestamp::parse(START).expect("valid instant"),
    ))
}

/// Spawns the app with the system clock.
pub async fn spawn_app() -> TestApp {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(MemoryStore::new(clock.clone()));
    spawn_with(store, clock, None).await
}

/// Spawns the app with a manual clock starting at [`START`].
pub async fn spawn_app_with_clock() -> TestApp {
    let clock = manual_clock();
    let store = Arc::new(MemoryStore::new(clock.clone()));
    spawn_with(store, clock.clone(), Some(clock)).await
}

/// Spawns the app over `store` (say, a decorator around a real store reading `clock`),
/// injected through `AppState::new` like production wiring.
pub async fn spawn_app_with_store(store: Arc<dyn Store>, clock: Arc<ManualClock>) -> TestApp {
    spawn_with(store, clock.clone(), Some(clock)).await
}

async fn spawn_with(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    manual: Option<Arc<ManualClock>>,
) -> TestApp {
    let state = AppState::new(store, Arc::new(BuiltinResponder::new(clock)));
    let service = state.service.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let address = listener.local_addr().expect("bound address");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(listener, app::router(state), async {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        client: reqwest::Client::new(),
        service,
        clock: manual,
        stop: Some(stop),
        server: Some(server),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// The manual clock; panics for an app spawned with the system clock.
    pub fn clock(&self) -> &ManualClock {
        self.clock
            .as_deref()
            .expect("app spawned with a manual clock")
    }

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
        let text = response.text().await.expect("body is readable");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"));
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

    /// Stops the server gracefully and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server ran");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
