//! `/health` and `/health/db`: liveness of the process and of its store; `/health/ready`:
//! whether this instance should be sent traffic.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::{DbHealthView, HealthView, ReadyView};
use crate::app::AppState;
use crate::domain::{Clock, SystemClock};
use crate::edge::Edge;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::readiness::Readiness;
use crate::service::ChatService;

/// When the router was built, which is when the server started serving.
#[derive(Debug, Clone, Copy)]
pub struct Started(Instant);

/// The health routes; uptime counts from this call.
pub fn router() -> OpenApiRouter<AppState> {
    let uptime: OpenApiRouter<AppState> = OpenApiRouter::new()
        .routes(routes!(health))
        .with_state(Started(Instant::now()));
    uptime
        .routes(routes!(health_db))
        .routes(routes!(health_ready))
}

/// Whether the process is up.
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    responses((status = 200, description = "The server is up", body = HealthView))
)]
pub async fn health(State(Started(started)): State<Started>) -> Json<HealthView> {
    Json(HealthView {
        status: "ok",
        timestamp: SystemClock.now(),
        uptime: started.elapsed().as_secs(),
        service: "micro-chatbot",
    })
}

/// Whether the store answers; times one real round trip to it.
#[utoipa::path(
    get,
    path = "/health/db",
    tag = "health",
    responses(
        (status = 200, description = "The store answered", body = DbHealthView),
        (status = 503, description = "The store did not answer", body = DbDownView)
    )
)]
pub async fn health_db(State(service): State<ChatService>) -> Response {
    let start = Instant::now();
    if service.ping_store().await.is_err() {
        let error = AppError::new(ErrorCode::ServiceUnavailable, "the database is unreachable")
            .with_details(serde_json::json!({ "database": "disconnected" }));
        let body = DbDownView {
            status: "error",
            database: "disconnected",
            error: error.envelope()["error"].take(),
        };
        let mut response = (error.code().http_status(), Json(body)).into_response();
        crate::metrics::http::mark_error(&mut response, error.code());
        return response;
    }
    Json(DbHealthView {
        status: "ok",
        database: "connected",
        latency: whole_millis(start.elapsed()),
    })
    .into_response()
}

/// `GET /health/db` while the store does not answer: the error envelope, plus the health
/// fields a monitor reads (`status` is `error`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DbDown)]
pub struct DbDownView {
    /// `error`.
    pub status: &'static str,
    /// `disconnected`.
    pub database: &'static str,
    #[schema(value_type = super::openapi::ErrorBody)]
    pub error: serde_json::Value,
}

/// Whether a load balancer should send this instance traffic: the store answers and the
/// server is not shutting down. Turns 503 the moment shutdown starts. With the rate limit in
/// Redis it also says where requests are counted; Redis being away does not make the instance
/// unready, since it keeps limiting on its own.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    responses(
        (status = 200, description = "Ready for traffic", body = ReadyView),
        (status = 503, description = "Draining, or the store did not answer", body = super::openapi::ErrorEnvelope)
    )
)]
pub async fn health_ready(
    State(service): State<ChatService>,
    State(readiness): State<Readiness>,
    State(edge): State<Edge>,
) -> AppResult<Json<ReadyView>> {
    let draining = readiness.is_draining();
    let connected = service.ping_store().await.is_ok();
    let rate_limit = edge.rate_limit_backend().map(|backend| backend.as_str());
    if draining || !connected {
        let message = if draining {
            "the server is shutting down"
        } else {
            "the database is unreachable"
        };
        let mut details = serde_json::json!({
            "draining": draining,
            "database": if connected { "connected" } else { "disconnected" },
        });
        if let Some(rate_limit) = rate_limit {
            details["rateLimit"] = rate_limit.into();
        }
        return Err(AppError::new(ErrorCode::ServiceUnavailable, message).with_details(details));
    }
    Ok(Json(ReadyView {
        status: "ready",
        database: "connected",
        rate_limit,
    }))
}

fn whole_millis(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}
