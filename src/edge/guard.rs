//! The rate-limit and API-key middleware.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use super::Edge;
use super::access::{Access, exempt_from_limit, is_preflight};
use super::api_keys::Presented;
use super::rate_limit::Decision;
use super::reply::{self, Protocol};
use crate::error::{AppError, ErrorCode};

/// The client's IP: the socket's peer, or with `trust_proxy` the last `X-Forwarded-For` entry
/// (the one our own proxy appended).
fn client_ip(edge: &Edge, request: &Request) -> Option<IpAddr> {
    if edge.trust_proxy {
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .last()
            .and_then(|ip| ip.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Counts the request against its client's window; refuses it with 429 beyond the limit.
pub async fn rate_limit(State(edge): State<Arc<Edge>>, request: Request, next: Next) -> Response {
    let Some(limiter) = edge.limiter.as_ref() else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    if exempt_from_limit(path) || is_preflight(&request) {
        return next.run(request).await;
    }
    let protocol = Protocol::of(path);
    let Some(ip) = client_ip(&edge, &request) else {
        let err = AppError::internal("no client address on a request; refusing it");
        return reply::error(protocol, request.headers(), &err);
    };
    let now = u64::try_from(edge.clock.now().millis()).unwrap_or(0);
    match limiter.check(ip, now).await {
        Decision::Admitted {
            limit,
            remaining,
            reset,
        } => {
            let mut response = next.run(request).await;
            reply::add_limit_headers(response.headers_mut(), limit, remaining, reset);
            response
        }
        Decision::Refused {
            limit,
            reset,
            retry_after,
        } => {
            let mut response = reply::rate_limited(protocol, request.headers(), retry_after);
            reply::add_limit_headers(response.headers_mut(), limit, 0, reset);
            response
        }
    }
}

/// With keys configured, refuses a request without a valid key (401) before routing, unless
/// [`Access::of`] says its route is open; a WebSocket handshake on a socket path may come
/// without a key (the socket then asks for one) but not with a wrong one.
pub async fn require_api_key(
    State(edge): State<Arc<Edge>>,
    request: Request,
    next: Next,
) -> Response {
    if !edge.keys.enabled() {
        return next.run(request).await;
    }
    let presented = edge.keys.check_headers(request.headers());
    let admitted = match Access::of(&request) {
        Access::Open => true,
        Access::Socket => presented != Presented::Invalid,
        Access::Key => presented == Presented::Valid,
    };
    if admitted {
        return next.run(request).await;
    }
    let message = if presented == Presented::Missing {
        "an API key is required (X-API-Key or Authorization: Bearer)"
    } else {
        "the API key is not valid"
    };
    let err = AppError::new(ErrorCode::Unauthorized, message);
    let protocol = Protocol::of(request.uri().path());
    let mut response = reply::error(protocol, request.headers(), &err);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"chatgate\""),
    );
    response
}

/// Answers 408, in the protocol's shape, when a request (reading its body included) outlives
/// `limit`. A WebSocket upgrade is answered at once, so a socket's life is not bounded by it.
pub async fn request_timeout(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let protocol = Protocol::of(request.uri().path());
    let accept = reply::accept_of(request.headers());
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let message = format!("the request did not complete within {limit:?}");
            reply::error(
                protocol,
                &accept,
                &AppError::new(ErrorCode::RequestTimeout, message),
            )
        }
    }
}

/// Gives every error answer the JSON shape of its protocol, whoever produced it: a framework
/// rejection (a path that is not UTF-8, say) or a mounted router such as Swagger UI may answer
/// in plain text or with no body at all. The status and the other headers are kept.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let protocol = Protocol::of(request.uri().path());
    let accept = reply::accept_of(request.headers());
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let code = ErrorCode::for_status(status);
    let (parts, body) = response.into_parts();
    // A framework's own words are fine to pass on for client errors; never for server errors.
    let text = axum::body::to_bytes(body, 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let message = match text.trim() {
        said if status.is_client_error() && !said.is_empty() => said.to_owned(),
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let mut replaced = reply::error(protocol, &accept, &AppError::new(code, message));
    *replaced.status_mut() = status;
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().append(name.clone(), value.clone());
        }
    }
    replaced
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::{get, post};
    use tower::ServiceExt;

    fn with_timeout(router: Router) -> Router {
        router.layer(axum::middleware::from_fn_with_state(
            Duration::from_millis(20),
            request_timeout,
        ))
    }

    async fn json_body(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        serde_json::from_slice(&bytes).expect("JSON")
    }

    #[tokio::test]
    async fn a_request_outliving_the_timeout_answers_408_in_its_protocol_shape() {
        let app = with_timeout(
            Router::new()
                .route("/slow", get(std::future::pending::<&'static str>))
                .route("/graphql", get(std::future::pending::<&'static str>)),
        );
        let rest = app
            .clone()
            .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(rest.status(), 408);
        assert_eq!(
            json_body(rest).await,
            serde_json::json!({"error": {
                "code": "REQUEST_TIMEOUT",
                "message": "the request did not complete within 20ms",
                "details": {},
            }})
        );
        let graphql = app
            .oneshot(Request::get("/graphql").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(graphql.status(), 408);
        assert_eq!(
            json_body(graphql).await["errors"][0]["extensions"]["code"],
            "REQUEST_TIMEOUT"
        );
    }

    #[tokio::test]
    async fn plain_text_and_empty_error_answers_get_the_json_shape() {
        let app = Router::new()
            .route(
                "/plain",
                get(|| async { (axum::http::StatusCode::BAD_REQUEST, "Invalid URL") }),
            )
            .route(
                "/graphql",
                get(|| async { axum::http::StatusCode::NOT_FOUND }),
            )
            .layer(axum::middleware::from_fn(json_errors));
        let plain = app
            .clone()
            .oneshot(Request::get("/plain").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(plain.status(), 400);
        assert_eq!(
            json_body(plain).await,
            serde_json::json!({"error": {
                "code": "VALIDATION_ERROR",
                "message": "Invalid URL",
                "details": {},
            }})
        );
        let graphql = app
            .oneshot(Request::get("/graphql").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(graphql.status(), 404);
        assert_eq!(
            json_body(graphql).await,
            serde_json::json!({"errors": [{
                "message": "not found",
                "extensions": {"code": "NOT_FOUND"},
            }]})
        );
    }

    #[tokio::test]
    async fn a_client_that_stalls_while_sending_its_body_gets_408() {
        let app =
            with_timeout(Router::new().route("/upload", post(|_: axum::body::Bytes| async {})));
        let stalled = futures::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
        let request = Request::post("/upload")
            .body(Body::from_stream(stalled))
            .unwrap();
        assert_eq!(app.oneshot(request).await.unwrap().status(), 408);
    }
}
