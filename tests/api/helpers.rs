//! Spawns the real application on an ephemeral port and talks to it like a client would.
#![allow(dead_code)] // Shared helpers: not every feature file uses every one.

use std::net::SocketAddr;
use std::sync::Arc;

use chatgate::app::{self, AppState};
use chatgate::assistant::BuiltinResponder;
use chatgate::domain::{Clock, ManualClock, SystemClock, Timestamp};
use chatgate::service::ChatService;
use chatgate::store::MemoryStore;
use chatgate::ws::{SocketAuth, SocketSettings, Sockets};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running chatgate on `127.0.0.1:<random port>`; stops when dropped.
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    pub service: ChatService,
    /// The app's live sockets (how many are open).
    pub sockets: Sockets,
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

/// Spawns the app with the system clock.
pub async fn spawn_app() -> TestApp {
    spawn_with(Arc::new(SystemClock), None).await
}

/// Spawns the app with a manual clock starting at 2025-10-04T12:00:00.000Z.
pub async fn spawn_app_with_clock() -> TestApp {
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2025-10-04T12:00:00.000Z").expect("valid instant"),
    ));
    spawn_with(clock.clone(), Some(clock)).await
}

/// Spawns the app with the given socket settings (cap, ping interval, init timeout).
pub async fn spawn_app_with_sockets(settings: SocketSettings) -> TestApp {
    spawn_state(system_state().with_socket_settings(settings), None).await
}

/// Spawns the app with the given socket authentication hook and socket settings.
pub async fn spawn_app_with_socket_auth(
    auth: Arc<dyn SocketAuth>,
    settings: SocketSettings,
) -> TestApp {
    let state = system_state()
        .with_socket_settings(settings)
        .with_socket_auth(auth);
    spawn_state(state, None).await
}

fn system_state() -> AppState {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(MemoryStore::new(clock.clone()));
    AppState::new(store, Arc::new(BuiltinResponder::new(clock)))
}

async fn spawn_with(clock: Arc<dyn Clock>, manual: Option<Arc<ManualClock>>) -> TestApp {
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let state = AppState::new(store, Arc::new(BuiltinResponder::new(clock)));
    spawn_state(state, manual).await
}

async fn spawn_state(state: AppState, manual: Option<Arc<ManualClock>>) -> TestApp {
    let service = state.service.clone();
    let sockets = state.sockets.clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let address = listener.local_addr().expect("bound address");
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = sockets.shutdown_on(async {
        let _ = stopped.await;
    });
    let server = tokio::spawn(app::serve(listener, app::router(state), shutdown));
    TestApp {
        address,
        client: reqwest::Client::new(),
        service,
        sockets,
        clock: manual,
        stop: Some(stop),
        server: Some(server),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.address, path)
    }

    /// POSTs a GraphQL request as JSON.
    pub async fn graphql(&self, query: &str, variables: Value) -> GraphqlReply {
        let body = json!({ "query": query, "variables": variables });
        self.graphql_request(self.client.post(self.url("/graphql")).json(&body))
            .await
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
                "mutation($t: String!) { createChat(input: {title: $t}) \
                 { id title description active priority userId createdAt updatedAt } }",
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
                "mutation($c: ID!, $t: String!) { sendMessage(input: {conversationId: $c, content: $t}) \
                 { userMessage { id role content createdAt } assistantMessage { id role content createdAt } } }",
                json!({ "c": conversation_id, "t": content }),
            )
            .await;
        reply.data()["sendMessage"].clone()
    }

    /// Stops the server gracefully and waits for it and every socket to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server ran");
        }
        tokio::time::timeout(std::time::Duration::from_secs(10), self.sockets.drained())
            .await
            .expect("every socket closes within the drain time");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
