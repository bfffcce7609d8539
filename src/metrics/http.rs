//! The HTTP side of the metrics: the layer that times and counts every request by its route
//! template, and the `GET /metrics` answer, on the main port or on a listener of its own.

use std::hash::{Hash, Hasher};
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};
use tokio::time::Instant;

use super::Metrics;
use crate::app::AppState;
use crate::error::ErrorCode;

/// The path `/metrics` is served on.
pub const PATH: &str = "/metrics";

/// The media type of the Prometheus text format.
const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Where `/metrics` is served (`--metrics`, `--metrics-addr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// On the main port, behind the same API keys as the API.
    Main,
    /// On a listener of its own, and not on the main port.
    Own(SocketAddr),
    /// Nowhere, and nothing is recorded.
    Off,
}

/// A request's route template as a label value: the router's matched path (`/chats/{id}`), or
/// `unmatched` for a path no route takes, so raw paths never become label values.
#[derive(Clone, Debug)]
pub struct Route(Option<MatchedPath>);

impl Route {
    /// The route `request` was matched to.
    pub fn of(request: &Request) -> Self {
        Self(request.extensions().get::<MatchedPath>().cloned())
    }

    /// The label of requests no route took.
    pub fn unmatched() -> Self {
        Self(None)
    }

    fn as_str(&self) -> &str {
        self.0.as_ref().map_or("unmatched", MatchedPath::as_str)
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl Hash for Route {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// A method as a label value: the standard ones by name, anything else `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Marks `response` as an error answer with `code`, so the layer counts it once whoever
/// rendered it (a handler, the edge, a transport refusal).
pub fn mark_error(response: &mut Response, code: ErrorCode) {
    response.extensions_mut().insert(code);
}

/// Marks `response` as a refusal of the rate limit.
pub fn mark_rate_limited(response: &mut Response) {
    mark_error(response, ErrorCode::RateLimited);
    response.extensions_mut().insert(RateLimited);
}

/// One request being counted and timed under its route template, from before the edge's
/// checks until its answer, whoever rendered that answer: recorded by [`Tracking::finish`].
pub struct Tracking {
    route: Route,
    method: &'static str,
    started: Instant,
}

impl Tracking {
    /// Starts timing `request` (routed already, so its route template is known).
    pub fn start(request: &Request) -> Self {
        Self {
            route: Route::of(request),
            method: method_label(request.method()),
            started: Instant::now(),
        }
    }

    /// Records the answer into `metrics`: the request under its route, method and status, and
    /// the error code the answer was marked with.
    pub fn finish(self, metrics: &Metrics, response: &Response) {
        if let Some(code) = response.extensions().get::<ErrorCode>() {
            metrics.error(*code);
        }
        if response.extensions().get::<RateLimited>().is_some() {
            metrics.rate_limited();
        }
        let status = response.status().as_u16();
        metrics.http_request(self.route, self.method, status, self.started.elapsed());
    }
}

/// Marks a response as a refusal of the rate limit, counted by [`Tracking`].
#[derive(Debug, Clone, Copy)]
pub struct RateLimited;

/// `GET /metrics`: everything the application recorded, as Prometheus text.
pub async fn scrape(State(state): State<AppState>) -> Response {
    let text = state.metrics.render(state.edge.tracked_clients());
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// The router of a metrics listener of its own: `/metrics` and nothing else (404 in the error
/// envelope), needing no key.
pub fn own_router(state: AppState) -> Router {
    Router::new()
        .route(PATH, get(scrape))
        .fallback(crate::app::not_found)
        .method_not_allowed_fallback(crate::app::method_not_allowed)
        .with_state(state)
}
