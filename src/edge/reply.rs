//! How the edge's refusals look, in the shape of the protocol the request speaks: the REST
//! envelope, the chatbot API's own 429 body under `/api`, or a GraphQL response on `/graphql`.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{AppError, ErrorCode};
use crate::graphql::{request_error, respond_negotiated};
use crate::metrics::http::{mark_error, mark_rate_limited};

pub const LIMIT: &str = "x-ratelimit-limit";
pub const REMAINING: &str = "x-ratelimit-remaining";
pub const RESET: &str = "x-ratelimit-reset";

/// Which error shape a path answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Graphql,
    Chatbot,
    Rest,
}

impl Protocol {
    pub fn of(path: &str) -> Self {
        if under(path, "/graphql") {
            Self::Graphql
        } else if under(path, "/api") {
            Self::Chatbot
        } else {
            Self::Rest
        }
    }
}

/// Whether `path` is `prefix` or lies beneath it (`/api` covers `/api/x`, not `/apix`).
pub fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The request's `Accept` values alone: all a refusal needs to pick its media type.
pub fn accept_of(headers: &HeaderMap) -> HeaderMap {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .map(|value| (header::ACCEPT, value.clone()))
        .collect()
}

/// What a refusal of a request in `protocol` needs of its headers, kept before the request is
/// handed on: the `Accept` values on `/graphql`, nothing elsewhere (no allocation).
pub fn accept_for(protocol: Protocol, headers: &HeaderMap) -> HeaderMap {
    match protocol {
        Protocol::Graphql => accept_of(headers),
        Protocol::Chatbot | Protocol::Rest => HeaderMap::new(),
    }
}

/// An error in the protocol's shape with its status; on `/graphql` in the media type the
/// request's `Accept` asks for.
pub fn error(protocol: Protocol, accept: &HeaderMap, err: &AppError) -> Response {
    let status = err.code().http_status();
    let mut response = match protocol {
        Protocol::Graphql => {
            respond_negotiated(accept, status, json!({ "errors": [request_error(err)] }))
        }
        Protocol::Chatbot | Protocol::Rest => (status, Json(err.envelope())).into_response(),
    };
    mark_error(&mut response, err.code());
    response
}

/// The 429 answer: each protocol's body, plus `Retry-After`.
pub fn rate_limited(protocol: Protocol, accept: &HeaderMap, retry_after: u64) -> Response {
    const MESSAGE: &str = "Rate limit exceeded";
    let body = match protocol {
        Protocol::Chatbot => json!({
            "error": MESSAGE,
            "message": "Too many requests, please try again later",
            "retryAfter": retry_after,
        }),
        Protocol::Graphql => json!({ "errors": [{
            "message": MESSAGE,
            "extensions": {
                "code": ErrorCode::RateLimited.as_str(),
                "retryAfter": retry_after,
                "requestId": crate::request_id::current(),
            },
        }]}),
        Protocol::Rest => AppError::new(ErrorCode::RateLimited, MESSAGE)
            .with_details(json!({ "retryAfter": retry_after }))
            .envelope(),
    };
    let mut response = match protocol {
        Protocol::Graphql => respond_negotiated(accept, StatusCode::TOO_MANY_REQUESTS, body),
        Protocol::Chatbot | Protocol::Rest => {
            (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response()
        }
    };
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    mark_rate_limited(&mut response);
    response
}

/// Adds the `X-RateLimit-*` headers.
pub fn add_limit_headers(headers: &mut HeaderMap, limit: u32, remaining: u32, reset: u64) {
    headers.insert(LIMIT, HeaderValue::from(limit));
    headers.insert(REMAINING, HeaderValue::from(remaining));
    headers.insert(RESET, HeaderValue::from(reset));
}
