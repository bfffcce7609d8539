//! Request ids: one per HTTP request, so a user can quote it and an operator can find every log
//! line of that request.
//!
//! A client's `X-Request-Id` is kept when it is acceptable ([`is_acceptable`]); otherwise, or
//! when there is none, a UUID is generated. The id is echoed on every answer (edge refusals and
//! socket upgrades included), named in the request's tracing span, and readable with
//! [`current`] while the request is handled, which is how error answers quote it.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tracing::Span;

/// The header carrying the id, both ways.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id a client may choose; longer ones are replaced, so logs stay bounded.
pub const MAX_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being handled on this task, if any (none on socket tasks).
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Whether a client's id is kept: 1 to [`MAX_LEN`] printable ASCII characters (spaces
/// allowed inside), so it can be logged and quoted as it is.
pub fn is_acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_LEN
        && bytes.iter().all(|b| (0x20..=0x7e).contains(b))
        && bytes.iter().any(|b| *b != b' ')
}

/// Generates a UUID for a request without an acceptable id.
#[derive(Debug, Clone, Copy, Default)]
pub struct GenerateRequestId;

impl MakeRequestId for GenerateRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let id = uuid::Uuid::new_v4().to_string();
        let value = HeaderValue::from_str(&id).expect("a UUID is a valid header value");
        Some(RequestId::new(value))
    }
}

/// Drops a client's id that is not acceptable, so [`GenerateRequestId`] replaces it.
fn drop_unacceptable(mut request: Request) -> Request {
    let headers = request.headers_mut();
    let acceptable = {
        let mut values = headers.get_all(&HEADER).iter();
        matches!((values.next(), values.next()), (Some(v), None) if is_acceptable(v))
    };
    if !acceptable {
        headers.remove(&HEADER);
    }
    request
}

/// The request's id as text (set by [`apply`] before anything else runs).
pub fn of(request: &Request) -> &str {
    request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("")
}

/// Makes the id readable with [`current`] while the rest of the request is handled.
async fn in_scope(request: Request, next: Next) -> Response {
    let id = of(&request).to_owned();
    CURRENT.scope(id, next.run(request)).await
}

/// The span every log line of a request is written in: method, path and id (never headers,
/// where keys travel). On `/graphql` the query string (which carries the document and its
/// variables) is left out; the GraphQL layer fills in the operation's type and name instead.
pub fn span(request: &Request<Body>) -> Span {
    let uri = request.uri();
    let shown = if uri.path() == crate::ws::GRAPHQL_SOCKET_PATH {
        uri.path()
    } else {
        uri.path_and_query().map_or(uri.path(), |p| p.as_str())
    };
    tracing::info_span!(
        "request",
        method = %request.method(),
        uri = shown,
        version = ?request.version(),
        request_id = %of(request),
        graphql_operation_type = tracing::field::Empty,
        graphql_operation_name = tracing::field::Empty,
    )
}

/// Wraps `router` (the routes behind the edge) so that every request has an id before `trace`
/// (which adds the trace layer) opens its span, every answer carries it, and everything inside
/// can read it with [`current`].
pub fn apply(router: Router, trace: impl FnOnce(Router) -> Router) -> Router {
    let scoped = router.layer(axum::middleware::from_fn(in_scope));
    trace(scoped)
        .layer(PropagateRequestIdLayer::new(HEADER))
        .layer(SetRequestIdLayer::new(HEADER, GenerateRequestId))
        .layer(tower::util::MapRequestLayer::new(drop_unacceptable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bounded_printable_ascii_ids_are_acceptable() {
        let ok = |s: &str| is_acceptable(&HeaderValue::from_str(s).expect("header value"));
        assert!(ok("abc-123"));
        assert!(ok("trace 42"));
        assert!(ok(&"x".repeat(MAX_LEN)));
        assert!(!ok(&"x".repeat(MAX_LEN + 1)));
        assert!(!ok(""));
        assert!(!ok("   "));
        assert!(!ok("tab\there"));
        assert!(!is_acceptable(
            &HeaderValue::from_bytes(b"caf\xc3\xa9").expect("obs-text is a header value")
        ));
    }
}
