//! The REST face: the chat-sessions API under `/chats`, the chatbot API under `/api` and
//! `/api/v1`, health checks, the OpenAPI document and Swagger UI.
//!
//! Handlers decode input with [`extract`] and [`input`], call one service operation and
//! render [`views`]; every failure, axum's own included (unknown route, wrong method, body
//! problems), answers the error envelope of docs/api.md ("Errors").

mod chats;
mod conversations;
mod extract;
mod health;
mod input;
mod messages;
pub mod openapi;
mod openapi_schemas;
mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::app::AppState;

pub use crate::body::BODY_LIMIT;

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

/// The REST router: the API, `/openapi.json` and `/docs`. The body limit ([`body_limit`]),
/// the enveloped 404 and 405 answers and the edge's request timeout are layered by the caller
/// over every route (GraphQL included).
pub fn router() -> Router<AppState> {
    let (routes, doc) = api().split_for_parts();
    routes.merge(
        SwaggerUi::new("/docs")
            .url("/openapi.json", openapi::finish(doc))
            // The default validator badge loads from the internet; /docs works offline.
            .config(Config::default().validator_url("none")),
    )
}

/// The 1 MiB body limit; a larger body makes body extractors fail with 413.
pub fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(BODY_LIMIT)
}
