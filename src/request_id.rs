//! Request ids: one per HTTP request, so a user can quote it and an operator can find every log
//! line of that request.
//!
//! A client's `X-Request-Id` is kept when it is acceptable ([`is_acceptable`]); otherwise, or
//! when there is none, a UUID is generated. The edge's middleware assigns it first, echoes it
//! on every answer (edge refusals and socket upgrades included), names it in the request's
//! tracing span, and makes it readable with [`current`] while the request is handled, which is
//! how error answers quote it.

use std::future::Future;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use tracing::Span;

/// The header carrying the id, both ways.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id a client may choose; longer ones are replaced, so logs stay bounded.
pub const MAX_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: HeaderValue;
}

/// The id of the request being handled on this task, if any (none on socket tasks).
pub fn current() -> Option<String> {
    CURRENT
        .try_with(|id| id.to_str().ok().map(str::to_owned))
        .ok()
        .flatten()
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

/// A new id: a random UUID in its hyphenated lower-case form.
pub fn generate() -> HeaderValue {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
    HeaderValue::from_str(text).expect("a UUID is a valid header value")
}

/// Gives `request` its id and returns it: the client's single acceptable id, else a new one
/// that replaces whatever the client sent in the header.
pub fn assign(request: &mut Request) -> HeaderValue {
    let headers = request.headers_mut();
    let kept = {
        let mut values = headers.get_all(&HEADER).iter();
        match (values.next(), values.next()) {
            (Some(id), None) if is_acceptable(id) => Some(id.clone()),
            _ => None,
        }
    };
    kept.unwrap_or_else(|| {
        let id = generate();
        headers.insert(HEADER, id.clone());
        id
    })
}

/// The request's id as text (set by [`assign`] before anything else runs).
pub fn of(request: &Request) -> &str {
    request
        .headers()
        .get(&HEADER)
        .and_then(|id| id.to_str().ok())
        .unwrap_or("")
}

/// Runs `handling` with `id` readable through [`current`].
pub fn scope<F: Future>(id: HeaderValue, handling: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(id, handling)
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
