//! GraphQL subscriptions over WebSocket on the one path `/graphql`: a WebSocket handshake
//! ([`ws::is_websocket_handshake`]) opens a socket, any other `GET` is GraphQL over HTTP.
//!
//! Both subprotocols, `graphql-transport-ws` and the legacy `graphql-ws`, run in our own socket
//! loop ([`session`]) rather than async-graphql's `http::WebSocket`, which differs from the
//! protocol where clients notice: it echoes `complete` after a client's `complete` (racing a
//! reused id), sends `next` + `complete` instead of `error` for invalid operations, replaces a
//! duplicate id silently instead of closing 4409, closes 1011/1002 where the protocol says
//! 4401/4403, has no 4408, and never pings. async-graphql still executes every operation.

mod protocol;
mod session;
mod shared;

use axum::extract::{FromRequestParts, Request, State, WebSocketUpgrade};
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

pub use protocol::Subprotocol;
use session::GraphqlSession;
pub use session::close;
pub use shared::{Feed, SharedExecutions, Tap};

use super::Executor;
use super::http::{graphql_handler, transport_error};
use crate::error::{AppError, ErrorCode};
use crate::ws::{self, RETRY_AFTER_SECS, Sockets};

/// `GET /graphql`: a WebSocket handshake opens a subscription socket; anything else is a
/// GraphQL-over-HTTP query.
pub async fn graphql_get(
    State(executor): State<Executor>,
    State(executions): State<SharedExecutions>,
    State(sockets): State<Sockets>,
    request: Request,
) -> Response {
    if !ws::is_websocket_handshake(&request) {
        return graphql_handler.call(request, executor).await;
    }
    let (mut parts, _body) = request.into_parts();
    let headers = parts.headers.clone();
    let mut upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            let message = format!("invalid WebSocket upgrade: {rejection}");
            return transport_error(
                &headers,
                &AppError::new(ErrorCode::ValidationError, message),
            );
        }
    };
    // Chosen here, not by `WebSocketUpgrade::protocols`: axum keeps the offered names in a
    // sorted set, so it cannot honour the client's order.
    let Some(protocol) = Subprotocol::preferred_by_client(&headers) else {
        let message = "Sec-WebSocket-Protocol must offer graphql-transport-ws or graphql-ws";
        return transport_error(
            &headers,
            &AppError::new(ErrorCode::ValidationError, message),
        );
    };
    upgrade.set_selected_protocol(HeaderValue::from_static(protocol.name()));
    let Some(ticket) = sockets.admit(protocol.name()) else {
        return busy(&headers);
    };
    let session = GraphqlSession::new(protocol, executions, sockets, headers);
    ws::configure_upgrade(upgrade)
        .on_upgrade(move |socket| ws::serve_socket(socket, ticket, session))
}

/// 503 with `Retry-After`, as a GraphQL response: every socket is taken.
fn busy(headers: &HeaderMap) -> Response {
    let err = AppError::new(
        ErrorCode::ServiceUnavailable,
        "too many open WebSockets; retry later",
    );
    let mut response = transport_error(headers, &err);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    response
}
