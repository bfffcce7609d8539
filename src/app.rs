//! Builds the application (state, schema, router) and serves it until a shutdown signal.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::assistant::{BuiltinResponder, OpenAiConfig, OpenAiResponder, Responder};
use crate::config::{AssistantKind, Config};
use crate::domain::{Clock, SystemClock};
use crate::edge::Edge;
use crate::error::{AppError, ErrorCode};
use crate::graphql::ws::SharedExecutions;
use crate::graphql::{self, ChatSchema, QueryLimits};
use crate::playground;
use crate::readiness::Readiness;
use crate::request_id;
use crate::rest;
use crate::server::{self, ServerSettings};
use crate::service::ChatService;
use crate::store::{MemoryStore, PostgresStore, Store};
use crate::ws::{self, OpenAccess, SocketAuth, SocketSettings, Sockets};

/// Everything handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub service: ChatService,
    pub schema: ChatSchema,
    /// The executions that subscribers of the same selection share (on `schema`).
    pub executions: SharedExecutions,
    pub edge: Edge,
    /// Live sockets: their cap, their shutdown signal, their authentication hook.
    pub sockets: Sockets,
    /// Turns `/health/ready` to 503 as shutdown starts.
    pub readiness: Readiness,
}

impl FromRef<AppState> for Readiness {
    fn from_ref(state: &AppState) -> Self {
        state.readiness.clone()
    }
}

impl FromRef<AppState> for Sockets {
    fn from_ref(state: &AppState) -> Self {
        state.sockets.clone()
    }
}

impl FromRef<AppState> for ChatSchema {
    fn from_ref(state: &AppState) -> Self {
        state.schema.clone()
    }
}

impl FromRef<AppState> for SharedExecutions {
    fn from_ref(state: &AppState) -> Self {
        state.executions.clone()
    }
}

impl FromRef<AppState> for ChatService {
    fn from_ref(state: &AppState) -> Self {
        state.service.clone()
    }
}

impl AppState {
    /// State over the given parts; tests use it to inject a clock or a store.
    pub fn new(store: Arc<dyn Store>, responder: Arc<dyn Responder>) -> Self {
        let service = ChatService::new(store, responder);
        let schema = graphql::build_schema(service.clone(), QueryLimits::default());
        let sockets = Sockets::new(SocketSettings::default(), Arc::new(OpenAccess));
        Self {
            service,
            executions: SharedExecutions::new(schema.clone()),
            schema,
            edge: Edge::default(),
            sockets,
            readiness: Readiness::default(),
        }
    }

    /// The same state behind another edge (rate limit, CORS, keys); sockets check its keys.
    pub fn with_edge(mut self, edge: Edge) -> Self {
        let auth: Arc<dyn SocketAuth> = Arc::new(edge.keys().clone());
        self.edge = edge;
        self.with_socket_auth(auth)
    }

    /// The same state with other socket settings (a cap, a ping interval, an init timeout).
    pub fn with_socket_settings(mut self, settings: SocketSettings) -> Self {
        self.sockets = Sockets::new(settings, self.sockets.auth().clone());
        self
    }

    /// The same state with other GraphQL query limits (depth and cost).
    pub fn with_query_limits(mut self, limits: QueryLimits) -> Self {
        self.schema = graphql::build_schema(self.service.clone(), limits);
        self.executions = SharedExecutions::new(self.schema.clone());
        self
    }

    /// The same state with another socket authentication hook.
    pub fn with_socket_auth(mut self, auth: Arc<dyn SocketAuth>) -> Self {
        self.sockets = Sockets::new(self.sockets.settings().clone(), auth);
        self
    }

    /// State as the configuration asks for: with `--database-url`, the PostgreSQL store
    /// (connected and migrated before this returns), else the memory store.
    pub async fn from_config(config: &Config) -> Result<Self, String> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let store: Arc<dyn Store> = match &config.database_url {
            Some(url) => Arc::new(
                PostgresStore::connect(url, clock.clone())
                    .await
                    .map_err(|e| e.to_string())?,
            ),
            None => Arc::new(MemoryStore::new(clock.clone())),
        };
        let responder: Arc<dyn Responder> = match config.assistant {
            AssistantKind::Builtin => Arc::new(BuiltinResponder::new(clock)),
            AssistantKind::Openai => {
                let openai = OpenAiConfig::from_args(&config.openai)?;
                tracing::info!(
                    model = %openai.model,
                    host = openai.endpoint.host_str().unwrap_or_default(),
                    key = openai.api_key.is_some(),
                    "assistant: OpenAI-compatible"
                );
                Arc::new(OpenAiResponder::new(openai)?)
            }
        };
        let sockets = SocketSettings {
            max_sockets: config.max_websockets,
            max_operations: config.max_socket_operations,
            ..SocketSettings::default()
        };
        Ok(Self::new(store, responder)
            .with_query_limits(config.query_limits())
            .with_socket_settings(sockets)
            .with_edge(Edge::from_config(config)))
    }
}

impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.code().http_status();
        (status, Json(self.envelope())).into_response()
    }
}

async fn schema_sdl() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        graphql::sdl(),
    )
}

async fn not_found() -> AppError {
    AppError::new(ErrorCode::NotFound, "no such route")
}

/// Every path's wrong method, `/graphql`'s aside (it answers in GraphQL's shape itself); axum
/// adds the `Allow` header listing the methods the path takes.
async fn method_not_allowed() -> AppError {
    AppError::new(
        ErrorCode::MethodNotAllowed,
        "this path does not take that method",
    )
}

/// The complete router, behind the edge layers.
pub fn router(state: AppState) -> Router {
    let edge = state.edge.clone();
    let routes = Router::new()
        .route(
            ws::GRAPHQL_SOCKET_PATH,
            get(graphql::graphql_get)
                .post(graphql::graphql_handler)
                .fallback(graphql::graphql_handler),
        )
        .route(ws::JOIN_SOCKET_PATH, get(ws::join::join_socket))
        .route("/schema.graphql", get(schema_sdl))
        .merge(playground::router(edge.keys().enabled()))
        .merge(rest::router())
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(rest::body_limit())
        .with_state(state);
    // Request logs name the method, path, request id and status, never headers (where keys
    // travel).
    request_id::apply(edge.apply(routes), |inner| {
        inner.layer(
            TraceLayer::new_for_http()
                .make_span_with(request_id::span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
    })
}

/// Serves the application on `listener` until `shutdown` resolves, then stops in this order,
/// all within `timeout`: stop accepting connections; let in-flight HTTP requests finish (for at
/// most three quarters of `timeout`, so sockets keep time to close); let replies still being
/// written finish; let every WebSocket deliver
/// what its subscriptions hold, the events of those requests included; close the sockets with
/// 1001. Returns `false` if something was still running when `timeout` ran out.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()> + Send,
    timeout: Duration,
) -> bool {
    let sockets = state.sockets.clone();
    let service = state.service.clone();
    let (signalled, signalled_at) = tokio::sync::oneshot::channel();
    // `/health/ready` answers 503 from the moment the stop begins.
    let shutdown = state.readiness.drain_on(shutdown);
    let shutdown = async move {
        shutdown.await;
        let _ = signalled.send(Instant::now());
    };
    let http_drained =
        server::serve(listener, router(state), settings, shutdown, timeout * 3 / 4).await;
    // `server::serve` returns only after the shutdown future resolved.
    let deadline = signalled_at.await.unwrap_or_else(|_| Instant::now()) + timeout;
    // Replies still being written (their clients may have gone) are stored and announced
    // before the sockets that would carry them close.
    let replies_done = tokio::time::timeout_at(deadline, service.replies_finished())
        .await
        .is_ok();
    sockets.shut_down();
    let sockets_closed = tokio::time::timeout_at(deadline, sockets.drained())
        .await
        .is_ok();
    http_drained && replies_done && sockets_closed
}

/// Starts listening for SIGINT and SIGTERM at once (so a signal that arrives while the server
/// is still starting stops it gracefully instead of killing it) and resolves on the first.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt =
            signal(SignalKind::interrupt()).expect("installing the SIGINT handler succeeds");
        let mut terminate =
            signal(SignalKind::terminate()).expect("installing the SIGTERM handler succeeds");
        async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        tokio::signal::ctrl_c()
            .await
            .expect("installing the Ctrl-C handler succeeds");
    }
}

/// Runs chatgate with `config` until SIGINT or SIGTERM; in-flight work gets
/// `--shutdown-timeout` to finish.
pub async fn run(mut config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let signal = shutdown_signal();
    crate::capacity::fit_to_open_files(&mut config);
    let state = AppState::from_config(&config).await?;
    let listener = server::bind(config.host, config.port).await?;
    let address = listener.local_addr()?;
    let shown_host = if address.ip().is_unspecified() {
        "localhost".to_string()
    } else {
        address.ip().to_string()
    };
    tracing::info!(
        %address,
        playground = %format!("http://{shown_host}:{}/playground", address.port()),
        "chatgate listening"
    );
    let shutdown_timeout = config.shutdown_timeout;
    let signalled = async move {
        signal.await;
        tracing::info!(timeout_secs = shutdown_timeout, "shutting down");
    };
    let settings = config.server_settings();
    if !serve(
        listener,
        state,
        settings,
        signalled,
        config.shutdown_timeout(),
    )
    .await
    {
        tracing::warn!("in-flight work outlived the shutdown timeout; stopping anyway");
    }
    tracing::info!("stopped");
    Ok(())
}
