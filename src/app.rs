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
use tokio_util::sync::CancellationToken;

use crate::assistant::{BuiltinResponder, OpenAiConfig, OpenAiResponder, Responder};
use crate::config::{AssistantKind, Config};
use crate::domain::{Clock, SystemClock};
use crate::edge::Edge;
use crate::error::{AppError, ErrorCode};
use crate::graphql::ws::SharedExecutions;
use crate::graphql::{self, ChatSchema, DocumentCache, Executor, QueryLimits};
use crate::metrics::{self, MeasuredResponder, MeasuredStore, Metrics, http::Exposure};
use crate::playground;
use crate::readiness::Readiness;
use crate::rest;
use crate::server::{self, ServerSettings};
use crate::service::ChatService;
use crate::store::{MemoryStore, PostgresStore, Store};
use crate::ws::{self, OpenAccess, SocketAuth, SocketSettings, Sockets};

/// Everything handlers share, behind one `Arc`: axum clones the state for every request, so a
/// clone is one reference count, not one per part.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

/// What [`AppState`] holds; read through it (`state.service`).
#[derive(Clone)]
pub struct AppParts {
    pub service: ChatService,
    /// Runs `/graphql` requests; its schema also runs subscriptions.
    pub graphql: Executor,
    /// The executions that subscribers of the same selection share (on `graphql`'s schema).
    pub executions: SharedExecutions,
    pub edge: Edge,
    /// Live sockets: their cap, their shutdown signal, their authentication hook.
    pub sockets: Sockets,
    /// Turns `/health/ready` to 503 as shutdown starts.
    pub readiness: Readiness,
    /// What the application records about itself; [`Metrics::off`] with `--metrics false`.
    pub metrics: Metrics,
    /// Whether `/metrics` is a route of the main router (not when it has its own listener).
    pub metrics_on_main: bool,
    /// Whether each answered request is logged (`--access-log`).
    pub access_log: bool,
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl FromRef<AppState> for Readiness {
    fn from_ref(state: &AppState) -> Self {
        state.readiness.clone()
    }
}

impl FromRef<AppState> for Edge {
    fn from_ref(state: &AppState) -> Self {
        state.edge.clone()
    }
}

impl FromRef<AppState> for Sockets {
    fn from_ref(state: &AppState) -> Self {
        state.sockets.clone()
    }
}

impl FromRef<AppState> for ChatSchema {
    fn from_ref(state: &AppState) -> Self {
        state.graphql.schema().clone()
    }
}

impl FromRef<AppState> for Executor {
    fn from_ref(state: &AppState) -> Self {
        state.graphql.clone()
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
    /// State over the given parts, with metrics on and served on the main port; tests use it
    /// to inject a clock or a store.
    pub fn new(store: Arc<dyn Store>, responder: Arc<dyn Responder>) -> Self {
        Self::measured(store, responder, Metrics::new())
    }

    /// State over the given parts recording into `metrics`: the store and the assistant are
    /// measured by wrappers, so every backend is measured the same way, in one place.
    pub fn measured(
        store: Arc<dyn Store>,
        responder: Arc<dyn Responder>,
        metrics: Metrics,
    ) -> Self {
        let store = MeasuredStore::wrap(store, &metrics);
        let responder = MeasuredResponder::wrap(responder, &metrics);
        let service = ChatService::new(store, responder).with_metrics(metrics.clone());
        let graphql = graphql::build_executor(
            service.clone(),
            QueryLimits::default(),
            &metrics,
            DocumentCache::default(),
        );
        let sockets = Sockets::new(SocketSettings::default(), Arc::new(OpenAccess))
            .with_metrics(metrics.clone());
        Self(Arc::new(AppParts {
            service,
            executions: SharedExecutions::new(graphql.schema().clone()),
            graphql,
            edge: Edge::default(),
            sockets,
            readiness: Readiness::default(),
            metrics_on_main: metrics.is_on(),
            metrics,
            access_log: true,
        }))
    }

    fn parts(&mut self) -> &mut AppParts {
        Arc::make_mut(&mut self.0)
    }

    /// The same state behind another edge (rate limit, CORS, keys); sockets check its keys.
    pub fn with_edge(mut self, edge: Edge) -> Self {
        let auth: Arc<dyn SocketAuth> = Arc::new(edge.keys().clone());
        self.parts().edge = edge;
        self.with_socket_auth(auth)
    }

    /// The same state with other socket settings (a cap, a ping interval, an init timeout).
    pub fn with_socket_settings(mut self, settings: SocketSettings) -> Self {
        let sockets = Sockets::new(settings, self.sockets.auth().clone());
        self.parts().sockets = sockets.with_metrics(self.metrics.clone());
        self
    }

    /// The same state with other GraphQL query limits (depth and cost).
    pub fn with_query_limits(mut self, limits: QueryLimits) -> Self {
        let graphql = graphql::build_executor(
            self.service.clone(),
            limits,
            &self.metrics,
            DocumentCache::default(),
        );
        self.parts().executions = SharedExecutions::new(graphql.schema().clone());
        self.parts().graphql = graphql;
        self
    }

    /// The same state with another socket authentication hook.
    pub fn with_socket_auth(mut self, auth: Arc<dyn SocketAuth>) -> Self {
        let sockets = Sockets::new(self.sockets.settings().clone(), auth);
        self.parts().sockets = sockets.with_metrics(self.metrics.clone());
        self
    }

    /// The same state with `/metrics` served as `exposure` says (on [`Exposure::Off`] the
    /// route is gone; recording stops only when the state was built with [`Metrics::off`]).
    pub fn with_metrics_exposure(mut self, exposure: Exposure) -> Self {
        let on_main = exposure == Exposure::Main && self.metrics.is_on();
        self.parts().metrics_on_main = on_main;
        self
    }

    /// The same state with the per-request log line on or off.
    pub fn with_access_log(mut self, on: bool) -> Self {
        self.parts().access_log = on;
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
        let exposure = config.metrics_exposure();
        let metrics = if exposure == Exposure::Off {
            Metrics::off()
        } else {
            Metrics::new()
        };
        Ok(Self::measured(store, responder, metrics)
            .with_query_limits(config.query_limits())
            .with_socket_settings(sockets)
            .with_edge(Edge::from_config(config).await?)
            .with_metrics_exposure(exposure)
            .with_access_log(config.access_log))
    }
}

impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.code().http_status();
        let mut response = (status, Json(self.envelope())).into_response();
        metrics::http::mark_error(&mut response, self.code());
        response
    }
}

async fn schema_sdl() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        graphql::sdl(),
    )
}

/// Every path no route takes: 404 in the error envelope.
pub(crate) async fn not_found() -> AppError {
    AppError::new(ErrorCode::NotFound, "no such route")
}

/// Every path's wrong method, `/graphql`'s aside (it answers in GraphQL's shape itself); axum
/// adds the `Allow` header listing the methods the path takes.
pub(crate) async fn method_not_allowed() -> AppError {
    AppError::new(
        ErrorCode::MethodNotAllowed,
        "this path does not take that method",
    )
}

/// The complete router, behind the edge layers.
pub fn router(state: AppState) -> Router {
    let edge = state.edge.clone();
    let metrics = state.metrics.clone();
    let access_log = state.access_log;
    let mut routes = Router::new();
    if state.metrics_on_main {
        routes = routes.route(metrics::http::PATH, get(metrics::http::scrape));
    }
    let routes = routes
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
    // One middleware around every route: metrics, the request id, the request's span and its
    // log line (method, path, request id and status, never headers, where keys travel), then
    // the edge's checks. Routed first, so metrics know the route template.
    edge.apply(routes, metrics, access_log)
}

/// Serves the application on `listener` until `shutdown` resolves, then stops in this order:
/// `/health/ready` turns 503 at once, and the server goes on accepting and answering for
/// `settings.drain_delay` (so a load balancer sees it and stops sending); then, all within
/// `timeout`: stop accepting connections; let in-flight HTTP requests finish (for at
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
    let drain_delay = settings.drain_delay;
    let shutdown = async move {
        shutdown.await;
        if !drain_delay.is_zero() {
            let drain_ms = u64::try_from(drain_delay.as_millis()).unwrap_or(u64::MAX);
            tracing::info!(
                drain_ms,
                "not ready; serving on until the drain delay is over"
            );
            tokio::time::sleep(drain_delay).await;
        }
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
    let settings = config.server_settings();
    let metrics_listener = match config.metrics_exposure() {
        Exposure::Own(address) => Some(serve_metrics(address, &state, settings).await?),
        Exposure::Main | Exposure::Off => None,
    };
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
    if let Some((stop, served)) = metrics_listener {
        stop.cancel();
        let _ = served.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Serves `/metrics` alone on `address` (`--metrics-addr`) until the returned token is
/// cancelled; the task ends once it stopped.
async fn serve_metrics(
    address: std::net::SocketAddr,
    state: &AppState,
    settings: ServerSettings,
) -> std::io::Result<(CancellationToken, tokio::task::JoinHandle<bool>)> {
    let listener = server::bind(address.ip(), address.port()).await?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "metrics listening");
    let stop = CancellationToken::new();
    let stopped = stop.clone().cancelled_owned();
    let router = metrics::http::own_router(state.clone());
    let drain = Duration::from_secs(1);
    let served = tokio::spawn(server::serve(listener, router, settings, stopped, drain));
    Ok((stop, served))
}
