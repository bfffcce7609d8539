//! The REST face: `chat-sessions-api.md` under `/chats`, `chatbot-api.md` under `/api` and
//! `/api/v1`, health checks, the OpenAPI document and Swagger UI.
//!
//! Handlers decode input with [`extract`] and [`input`], call one service operation and
//! render [`views`]; every failure, axum's own included (unknown route, wrong method, body
//! problems, timeout), answers the error envelope of CONTRACT.md section 5.

mod chats;
mod conversations;
mod extract;
mod health;
mod input;
mod messages;
pub mod openapi;
mod views;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::app::AppState;
use crate::error::{AppError, ErrorCode};

pub use extract::BODY_LIMIT;

/// How long a request may take, reading its body included, before it is answered 408.
/// Generous for the slowest operation (a message with an assistant backend's reply) while still
/// freeing a connection whose client stalls.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Every REST route with its documentation.
fn api() -> OpenApiRouter<AppState> {
    let chatbot = || conversations::router().merge(messages::router());
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(chats::router())
        .nest("/api", chatbot())
        .nest("/api/v1", chatbot())
        .merge(health::router())
}

/// The OpenAPI document `/openapi.json` serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi::finish(api().into_openapi())
}

/// The REST router: the API, `/openapi.json`, `/docs`, and the enveloped 404 and 405 answers.
/// Requests get [`REQUEST_TIMEOUT`]; the body limit is [`body_limit`], layered by the caller
/// over every route (GraphQL included).
pub fn router() -> Router<AppState> {
    let (routes, doc) = api().split_for_parts();
    routes
        .merge(
            SwaggerUi::new("/docs")
                .url("/openapi.json", openapi::finish(doc))
                // The default validator badge loads from the internet; /docs works offline.
                .config(Config::default().validator_url("none")),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(REQUEST_TIMEOUT, timeout))
}

/// The 1 MiB body limit; a larger body makes body extractors fail with 413.
pub fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(BODY_LIMIT)
}

async fn not_found() -> AppError {
    AppError::new(ErrorCode::NotFound, "no such route")
}

/// axum adds the `Allow` header listing the methods the path takes.
async fn method_not_allowed() -> AppError {
    AppError::new(
        ErrorCode::MethodNotAllowed,
        "this path does not take that method",
    )
}

/// Answers 408 when the request (reading its body included) outlives `limit`.
async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => AppError::new(
            ErrorCode::RequestTimeout,
            format!("the request did not complete within {limit:?}"),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_request_outliving_the_timeout_answers_408_in_the_envelope() {
        let app = Router::new()
            .route("/slow", get(std::future::pending::<&'static str>))
            .layer(middleware::from_fn_with_state(
                Duration::from_millis(20),
                timeout,
            ));
        let response = app
            .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 408);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {
                "code": "REQUEST_TIMEOUT",
                "message": "the request did not complete within 20ms"
            }})
        );
    }

    #[tokio::test]
    async fn a_client_that_stalls_while_sending_its_body_gets_408() {
        let app = Router::new()
            .route(
                "/upload",
                axum::routing::post(|_: axum::body::Bytes| async {}),
            )
            .layer(middleware::from_fn_with_state(
                Duration::from_millis(20),
                timeout,
            ));
        let stalled = futures::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
        let request = Request::post("/upload")
            .body(Body::from_stream(stalled))
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 408);
    }
}
