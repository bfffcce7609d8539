//! Spawns the real application on an ephemeral port and talks to it like a client would.
#![allow(dead_code)] // Shared helpers: not every feature file uses every one.

pub mod binary;
mod graphql;
pub mod openai;
pub mod ordered_json;
pub mod pg_cluster;
pub mod pg_proxy;
pub mod postgres;
pub mod quotes;
pub mod redis_server;
mod rest;
pub mod schema_facts;

use std::net::SocketAddr;
use std::sync::Arc;

use chatgate::app::{self, AppState};
use chatgate::assistant::{BuiltinResponder, OpenAiConfig, OpenAiResponder, Responder};
use chatgate::domain::{Clock, ManualClock, SystemClock, Timestamp};
use chatgate::edge::Edge;
use chatgate::graphql::QueryLimits;
use chatgate::graphql::ws::SharedExecutions;
use chatgate::readiness::Readiness;
use chatgate::server::{self, ServerSettings};
use chatgate::service::ChatService;
use chatgate::store::{MemoryStore, Store};
use chatgate::ws::{SocketAuth, SocketSettings, Sockets};
use tokio::sync::oneshot;

use postgres::TestSchema;

pub use graphql::GraphqlReply;
pub use rest::RestReply;

/// A running chatgate on `127.0.0.1:<random port>`; stops when dropped.
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    pub service: ChatService,
    pub edge: Edge,
    /// The app's live sockets (how many are open).
    pub sockets: Sockets,
    /// The executions subscribers of one selection share; counts them.
    pub executions: SharedExecutions,
    /// Whether `/health/ready` says the app takes traffic; shutdown turns it off first.
    pub readiness: Readiness,
    /// Set when the app was spawned with a manual clock.
    pub clock: Option<Arc<ManualClock>>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<bool>>,
}

/// Every field of `Chat`, for whole-object assertions.
pub const CHAT_FIELDS: &str = "id title description active priority userId createdAt updatedAt";
/// Every scalar field of `Conversation`, for whole-object assertions.
pub const CONVERSATION_FIELDS: &str = "id userId metadata createdAt updatedAt messageCount";
/// Every scalar field of `Message`, for whole-object assertions.
pub const MESSAGE_FIELDS: &str = "id conversationId role content metadata createdAt";

/// The shutdown timeout of every test app: how long a graceful stop may take.
pub const SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

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
    spawn_state(system_state().await, None).await
}

/// Spawns the app with a manual clock starting at [`START`].
pub async fn spawn_app_with_clock() -> TestApp {
    let clock = manual_clock();
    let store = default_store(clock.clone()).await;
    spawn_state(state(store, clock.clone()), Some(clock)).await
}

/// Spawns the app over `store` (say, a decorator around a real store reading `clock`),
/// injected through `AppState::new` like production wiring.
pub async fn spawn_app_with_store(store: Arc<dyn Store>, clock: Arc<ManualClock>) -> TestApp {
    spawn_state(state(store, clock.clone()), Some(clock)).await
}

/// Spawns the app behind the given edge (rate limit, CORS, API keys).
pub async fn spawn_app_with_edge(edge: Edge) -> TestApp {
    spawn_state(system_state().await.with_edge(edge), None).await
}

/// Spawns the app with other GraphQL query limits (depth and cost).
pub async fn spawn_app_with_query_limits(limits: QueryLimits) -> TestApp {
    spawn_state(system_state().await.with_query_limits(limits), None).await
}

/// Spawns the app with the given socket settings (cap, ping interval, init timeout).
pub async fn spawn_app_with_sockets(settings: SocketSettings) -> TestApp {
    spawn_state(system_state().await.with_socket_settings(settings), None).await
}

/// Spawns the app with the given socket authentication hook and socket settings.
pub async fn spawn_app_with_socket_auth(
    auth: Arc<dyn SocketAuth>,
    settings: SocketSettings,
) -> TestApp {
    let state = system_state()
        .await
        .with_socket_settings(settings)
        .with_socket_auth(auth);
    spawn_state(state, None).await
}

/// Spawns the app behind `edge` (whose keys the sockets check too) with these socket settings.
pub async fn spawn_app_with_edge_and_sockets(edge: Edge, settings: SocketSettings) -> TestApp {
    let state = system_state()
        .await
        .with_socket_settings(settings)
        .with_edge(edge);
    spawn_state(state, None).await
}

/// Spawns the app with the OpenAI-compatible assistant configured by `config` (say, pointing
/// at a [`openai::FakeModel`]).
pub async fn spawn_app_with_model(config: OpenAiConfig) -> TestApp {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let responder = OpenAiResponder::new(config).expect("the HTTP client starts");
    let state = AppState::new(Arc::new(MemoryStore::new(clock)), Arc::new(responder));
    spawn_state(state, None).await
}

/// The store behind every app spawned without one of its own: the memory store, or a
/// PostgreSQL store in a fresh schema (dropped with the store) when the test runs on PostgreSQL
/// ([`postgres::wanted`]), so the behaviour suites run against both.
async fn default_store(clock: Arc<dyn Clock>) -> Arc<dyn Store> {
    if postgres::wanted() {
        let schema = TestSchema::create()
            .await
            .expect("a test on PostgreSQL needs a reachable PostgreSQL");
        // Bursts of hundreds of parallel requests on a busy test machine may queue for a
        // connection longer than production would let them.
        let settings = chatgate::store::PostgresSettings {
            acquire_timeout: std::time::Duration::from_secs(20),
            operation_timeout: std::time::Duration::from_secs(25),
            ..chatgate::store::PostgresSettings::default()
        };
        let store = schema.store_with_settings(settings, clock).await;
        return Arc::new(store.owning(schema));
    }
    Arc::new(MemoryStore::new(clock))
}

async fn system_state() -> AppState {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    state(default_store(clock.clone()).await, clock)
}

fn state(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> AppState {
    AppState::new(store, Arc::new(BuiltinResponder::new(clock)))
}

/// Spawns the app over a state built by the test (say, with metrics off).
pub async fn spawn_app_with_state(state: AppState) -> TestApp {
    spawn_state(state, None).await
}

/// A memory store and the built-in assistant on the system clock, for tests that build their
/// own state around them.
pub fn memory_parts() -> (Arc<dyn Store>, Arc<dyn Responder>) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(MemoryStore::new(clock.clone()));
    (store, Arc::new(BuiltinResponder::new(clock)))
}

/// Spawns the app with `responder` as its assistant.
pub async fn spawn_app_with_responder(responder: Arc<dyn Responder>) -> TestApp {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Arc::new(MemoryStore::new(clock));
    spawn_state(AppState::new(store, responder), None).await
}

/// Spawns the app with the given HTTP connection timeouts.
pub async fn spawn_app_with_server(settings: ServerSettings) -> TestApp {
    spawn_serving(system_state().await, None, settings).await
}

async fn spawn_state(state: AppState, manual: Option<Arc<ManualClock>>) -> TestApp {
    spawn_serving(state, manual, ServerSettings::default()).await
}

async fn spawn_serving(
    state: AppState,
    manual: Option<Arc<ManualClock>>,
    settings: ServerSettings,
) -> TestApp {
    let service = state.service.clone();
    let edge = state.edge.clone();
    let sockets = state.sockets.clone();
    let executions = state.executions.clone();
    let readiness = state.readiness.clone();
    let loopback = std::net::Ipv4Addr::LOCALHOST.into();
    let listener = server::bind(loopback, 0).await.expect("bind port 0");
    let address = listener.local_addr().expect("bound address");
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async {
        let _ = stopped.await;
    };
    let server = tokio::spawn(app::serve(
        listener,
        state,
        settings,
        shutdown,
        SHUTDOWN_TIMEOUT,
    ));
    TestApp {
        address,
        client: reqwest::Client::new(),
        service,
        edge,
        sockets,
        executions,
        readiness,
        clock: manual,
        stop: Some(stop),
        server: Some(server),
    }
}

/// A loopback port nothing listens on (as of now): for a server of our own, or for an address
/// that refuses connections.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.address, path)
    }

    /// The manual clock; panics for an app spawned with the system clock.
    pub fn clock(&self) -> &ManualClock {
        self.clock
            .as_deref()
            .expect("app spawned with a manual clock")
    }

    /// How many clients the edge's rate limiter tracks now.
    pub fn tracked_clients(&self) -> usize {
        self.edge.tracked_clients()
    }

    /// Starts a graceful stop (as SIGTERM does) without waiting for it: the listener closes,
    /// requests in flight go on.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Stops the server gracefully and waits for it and every socket to finish.
    pub async fn shutdown(mut self) {
        self.begin_shutdown();
        if let Some(server) = self.server.take() {
            let in_time = server.await.expect("server task");
            assert!(
                in_time,
                "requests and sockets finish within the shutdown timeout"
            );
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
