//! The hook that decides who may use a socket. Sockets authenticate inside the connection
//! (browsers cannot set headers on an upgrade): GraphQL sockets by their `connection_init`
//! payload, `/ws` sockets by a first `{"type":"auth","apiKey":…}` frame. Both also see the
//! upgrade request's headers, so a key sent there can count.
//!
//! This module only defines the decision points and the open policy; API keys plug in here.

use async_trait::async_trait;
use axum::http::HeaderMap;
use serde_json::{Map, Value};

/// What the hook decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The socket may be used.
    Accept,
    /// GraphQL sockets close with 4403 (legacy `graphql-ws`: `connection_error` first);
    /// `/ws` sockets close with 4401.
    Refuse,
}

/// Decides whether a socket may be used.
#[async_trait]
pub trait SocketAuth: Send + Sync + 'static {
    /// A GraphQL socket's `connection_init`: `payload` is its payload (empty when absent),
    /// `headers` those of the upgrade request. Nothing runs on the socket before `Accept`.
    async fn on_connection_init(
        &self,
        headers: &HeaderMap,
        payload: &Map<String, Value>,
    ) -> Admission;

    /// Whether a `/ws` socket opened with `headers` must send an `auth` frame first.
    fn ws_needs_auth_frame(&self, headers: &HeaderMap) -> bool;

    /// A `/ws` socket's first `auth` frame; `api_key` is its `apiKey` when that is a string.
    async fn on_auth_frame(&self, headers: &HeaderMap, api_key: Option<&str>) -> Admission;
}

/// No authentication: every socket is accepted and `auth` frames are simply acknowledged.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAccess;

#[async_trait]
impl SocketAuth for OpenAccess {
    async fn on_connection_init(&self, _: &HeaderMap, _: &Map<String, Value>) -> Admission {
        Admission::Accept
    }

    fn ws_needs_auth_frame(&self, _: &HeaderMap) -> bool {
        false
    }

    async fn on_auth_frame(&self, _: &HeaderMap, _: Option<&str>) -> Admission {
        Admission::Accept
    }
}
