//! The edge's checks, each a plain function the edge's one middleware calls in turn: the rate
//! limit, API keys, the request timeout and the JSON shape of error answers.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

#[cfg(test)]
use axum::extract::State;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderValue, header};
#[cfg(test)]
use axum::middleware::Next;
use axum::response::Response;

use super::Edge;
use super::access::{Access, exempt_from_limit, is_preflight};
use super::api_keys::Presented;
use super::rate_limit::{Decision, Limiter};
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

/// Whom a request counts against under the rate limit.
pub(super) enum Counted<'a> {
    /// Nobody: no limit, an exempt path, or a preflight.
    Not,
    /// This client, in this limiter.
    Client(&'a Limiter, IpAddr),
    /// A request to count without a client address: refused as a server error.
    NoAddress(Response),
}

/// Whom `request` counts against.
pub(super) fn client_to_count<'a>(edge: &'a Edge, request: &Request) -> Counted<'a> {
    let Some(limiter) = edge.limiter.as_deref() else {
        return Counted::Not;
    };
    let path = request.uri().path();
    if exempt_from_limit(path) || is_preflight(request) {
        return Counted::Not;
    }
    match client_ip(edge, request) {
        Some(ip) => Counted::Client(limiter, ip),
        None => {
            let err = AppError::internal("no client address on a request; refusing it");
            Counted::NoAddress(reply::error(Protocol::of(path), request.headers(), &err))
        }
    }
}

/// Counts a request of `ip` against its window, now.
pub(super) async fn count(edge: &Edge, limiter: &Limiter, ip: IpAddr) -> Decision {
    let now = u64::try_from(edge.clock.now().millis()).unwrap_or(0);
    limiter.check(ip, now).await
}

/// The 429 answer to a request over its client's limit, in its protocol's shape.
pub(super) fn over_limit(
    protocol: Protocol,
    headers: &HeaderMap,
    limit: u32,
    reset: u64,
    retry_after: u64,
) -> Response {
    let mut response = reply::rate_limited(protocol, headers, retry_after);
    reply::add_limit_headers(response.headers_mut(), limit, 0, reset);
    response
}

/// With keys configured, the 401 for a request without a valid key (checked before routing),
/// unless [`Access::of`] says its route is open; a WebSocket handshake on a socket path may
/// come without a key (the socket then asks for one) but not with a wrong one.
pub(super) fn key_refusal(edge: &Edge, request: &Request) -> Option<Response> {
    if !edge.keys.enabled() {
        return None;
    }
    let presented = edge.keys.check_headers(request.headers());
    let admitted = match Access::of(request) {
        Access::Open => true,
        Access::Socket => presented != Presented::Invalid,
        Access::Key => presented == Presented::Valid,
    };
    if admitted {
        return None;
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
    Some(response)
}

/// Runs `answer` for at most `limit`, reading the request's body included; past it, answers
/// 408 in the protocol's shape. A WebSocket upgrade is answered at once, so a socket's life
/// is not bounded by it.
pub(super) async fn within(
    limit: Duration,
    protocol: Protocol,
    accept: &HeaderMap,
    answer: impl Future<Output = Response>,
) -> Response {
    match tokio::time::timeout(limit, answer).await {
        Ok(response) => response,
        Err(_) => {
            let message = format!("the request did not complete within {limit:?}");
            reply::error(
                protocol,
                accept,
                &AppError::new(ErrorCode::RequestTimeout, message),
            )
        }
    }
}

/// Gives an error answer the JSON shape of its protocol, whoever produced it: a framework
/// rejection (a path that is not UTF-8, say) or a mounted router such as Swagger UI may answer
/// in plain text or with no body at all. The status and the other headers are kept.
pub(super) async fn as_json(
    protocol: Protocol,
    accept: &HeaderMap,
    response: Response,
) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if is_json {
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
    let mut replaced = reply::error(protocol, accept, &AppError::new(code, message));
    *replaced.status_mut() = status;
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().append(name.clone(), value.clone());
        }
    }
    replaced
}

/// [`within`] as a middleware of its own, to test it apart from the rest of the edge.
#[cfg(test)]
pub async fn request_timeout(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let protocol = Protocol::of(request.uri().path());
    let accept = reply::accept_of(request.headers());
    within(limit, protocol, &accept, next.run(request)).await
}

/// [`as_json`] as a middleware of its own, to test it apart from the rest of the edge.
#[cfg(test)]
pub async fn json_errors(request: Request, next: Next) -> Response {
    let protocol = Protocol::of(request.uri().path());
    let accept = reply::accept_of(request.headers());
    as_json(protocol, &accept, next.run(request).await).await
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
