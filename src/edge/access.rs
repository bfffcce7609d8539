//! Which requests need an API key, and which the rate limit never counts: the one place that
//! decides both, from the route (method and path) and, for the two socket paths, whether the
//! request is a real WebSocket handshake. `/metrics` on the main port needs a key like the API
//! (it tells about traffic) but is never rate-limited.
//! Headers alone never open anything: upgrade headers on any other path or method change
//! nothing (docs/api.md, "Authentication").

use axum::extract::Request;
use axum::http::{Method, header};

use super::reply::under;
use crate::ws::{GRAPHQL_SOCKET_PATH, JOIN_SOCKET_PATH, is_websocket_handshake};

/// What a request must show to reach a handler when keys are configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Open to anyone: CORS preflights, health checks, the playground and the API's
    /// descriptions.
    Open,
    /// A WebSocket handshake on a socket path: it may come without a key and authenticate
    /// inside the socket (browsers cannot set headers on an upgrade), but a wrong key is refused.
    Socket,
    /// Everything else: a valid key.
    Key,
}

impl Access {
    /// What `request` must show.
    pub fn of(request: &Request) -> Self {
        let path = request.uri().path();
        if is_preflight(request) || open_path(path) {
            Self::Open
        } else if (path == GRAPHQL_SOCKET_PATH || path == JOIN_SOCKET_PATH)
            && is_websocket_handshake(request)
        {
            Self::Socket
        } else {
            Self::Key
        }
    }
}

/// Paths open without a key, whatever the method.
fn open_path(path: &str) -> bool {
    path == "/"
        || under(path, "/health")
        || under(path, "/playground")
        || under(path, "/docs")
        || path == "/openapi.json"
        || path == "/schema.graphql"
        || path == "/favicon.ico"
}

/// Paths the rate limit never counts: health checks, the playground's static files, and
/// `/metrics` (a scraper polling it must never be refused, nor use up a client's quota).
pub fn exempt_from_limit(path: &str) -> bool {
    under(path, "/health")
        || under(path, "/playground")
        || path == "/favicon.ico"
        || path == crate::metrics::http::PATH
}

/// A CORS preflight: exempt from the limit and from keys.
pub fn is_preflight(request: &Request) -> bool {
    request.method() == Method::OPTIONS
        && request.headers().contains_key(header::ORIGIN)
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    const HANDSHAKE: [(&str, &str); 4] = [
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).expect("a valid request")
    }

    #[test]
    fn only_a_get_handshake_on_a_socket_path_goes_on_without_a_key() {
        assert_eq!(
            Access::of(&request("GET", "/graphql", &HANDSHAKE)),
            Access::Socket
        );
        assert_eq!(
            Access::of(&request("GET", "/ws", &HANDSHAKE)),
            Access::Socket
        );
        for (method, path) in [
            ("POST", "/graphql"),
            ("GET", "/chats"),
            ("POST", "/chats"),
            ("DELETE", "/chats/x"),
            ("GET", "/ws/x"),
            ("GET", "/graphql/"),
            ("POST", "/ws"),
        ] {
            assert_eq!(
                Access::of(&request(method, path, &HANDSHAKE)),
                Access::Key,
                "{method} {path}"
            );
        }
        let partial = &HANDSHAKE[..2];
        assert_eq!(
            Access::of(&request("GET", "/graphql", partial)),
            Access::Key
        );
        assert_eq!(Access::of(&request("GET", "/ws", partial)), Access::Key);
    }

    #[test]
    fn open_paths_are_open_whatever_the_method() {
        for path in [
            "/",
            "/health",
            "/health/db",
            "/playground/chat",
            "/docs/",
            "/openapi.json",
        ] {
            assert_eq!(
                Access::of(&request("POST", path, &[])),
                Access::Open,
                "{path}"
            );
        }
        assert_eq!(Access::of(&request("GET", "/healthz", &[])), Access::Key);
        assert_eq!(Access::of(&request("GET", "/metrics", &[])), Access::Key);
    }

    #[test]
    fn health_playground_and_metrics_are_never_rate_limited() {
        for path in [
            "/health",
            "/health/ready",
            "/playground/chat",
            "/favicon.ico",
            "/metrics",
        ] {
            assert!(exempt_from_limit(path), "{path}");
        }
        for path in ["/metrics/x", "/metricsx", "/chats", "/graphql", "/"] {
            assert!(!exempt_from_limit(path), "{path}");
        }
    }
}
