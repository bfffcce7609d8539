//! The messages of the two GraphQL-over-WebSocket subprotocols: strict parsing of what clients
//! send and rendering of what the server sends. No I/O and no state here.
//!
//! - `graphql-transport-ws` is the protocol of the `graphql-ws` npm library
//!   (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md); a message of a type or
//!   shape it does not define is an error the session answers with close 4400.
//! - `graphql-ws` (despite its name) is the legacy protocol of `subscriptions-transport-ws`:
//!   `start`/`stop`/`connection_terminate` from clients, `data`/`ka`/`connection_error` from us.

use async_graphql::{Request, Response};
use axum::http::{HeaderMap, header};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::error::AppError;
use crate::graphql::{finish_response, request_error};

/// A GraphQL WebSocket subprotocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subprotocol {
    /// `graphql-transport-ws`.
    TransportWs,
    /// `graphql-ws`, the legacy subscriptions-transport-ws protocol.
    LegacyWs,
}

impl Subprotocol {
    /// The protocol named exactly `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "graphql-transport-ws" => Some(Self::TransportWs),
            "graphql-ws" => Some(Self::LegacyWs),
            _ => None,
        }
    }

    /// Its `Sec-WebSocket-Protocol` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::TransportWs => "graphql-transport-ws",
            Self::LegacyWs => "graphql-ws",
        }
    }

    /// The first protocol the client offers, in the order of its `Sec-WebSocket-Protocol`
    /// header(s), that the server speaks: a client offering both gets the one it prefers
    /// (Python's gql lists `graphql-ws` first and expects it).
    pub fn preferred_by_client(headers: &HeaderMap) -> Option<Self> {
        headers
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .find_map(|name| Self::from_name(name.trim()))
    }
}

/// A message a client sent, checked.
#[derive(Debug)]
pub enum ClientMessage {
    /// `connection_init`, with its payload (empty when absent or null).
    ConnectionInit(Map<String, Value>),
    /// `ping` (graphql-transport-ws only), with its payload to echo.
    Ping(Option<Map<String, Value>>),
    /// `pong` (graphql-transport-ws only).
    Pong,
    /// `subscribe` (legacy: `start`): run `request` as operation `id`.
    Subscribe { id: String, request: Box<Request> },
    /// `complete` (legacy: `stop`): the client stops listening to operation `id`.
    Complete { id: String },
    /// Legacy `connection_terminate`: the client is leaving.
    Terminate,
}

/// Why a message was refused; the reason of the 4400 close.
pub type Invalid = String;

/// Parses and checks one text frame.
pub fn parse(protocol: Subprotocol, frame: &[u8]) -> Result<ClientMessage, Invalid> {
    let Ok(Value::Object(mut message)) = serde_json::from_slice::<Value>(frame) else {
        return Err("Invalid message received".into());
    };
    let kind = match message.remove("type") {
        Some(Value::String(kind)) => kind,
        _ => return Err("Invalid message received: missing type".into()),
    };
    use Subprotocol::{LegacyWs, TransportWs};
    match (protocol, kind.as_str()) {
        (_, "connection_init") => Ok(ClientMessage::ConnectionInit(
            optional_object(&mut message, "payload")?.unwrap_or_default(),
        )),
        (TransportWs, "ping") => Ok(ClientMessage::Ping(optional_object(
            &mut message,
            "payload",
        )?)),
        (TransportWs, "pong") => {
            optional_object(&mut message, "payload")?;
            Ok(ClientMessage::Pong)
        }
        (TransportWs, "subscribe") | (LegacyWs, "start") => {
            let id = id(&mut message)?;
            let Some(Value::Object(payload)) = message.remove("payload") else {
                return Err("Invalid message received: payload must be an object".into());
            };
            let request = request(payload)?;
            Ok(ClientMessage::Subscribe {
                id,
                request: Box::new(request),
            })
        }
        (TransportWs, "complete") | (LegacyWs, "stop") => Ok(ClientMessage::Complete {
            id: id(&mut message)?,
        }),
        (LegacyWs, "connection_terminate") => Ok(ClientMessage::Terminate),
        (_, other) => Err(format!("Unexpected message of type {other} received")),
    }
}

/// `field` as an object, or `None` when absent or null; anything else is invalid.
fn optional_object(
    message: &mut Map<String, Value>,
    field: &str,
) -> Result<Option<Map<String, Value>>, Invalid> {
    match message.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(format!(
            "Invalid message received: {field} must be an object"
        )),
    }
}

/// The operation id: a non-empty string.
fn id(message: &mut Map<String, Value>) -> Result<String, Invalid> {
    match message.remove("id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id),
        _ => Err("Invalid message received: id must be a non-empty string".into()),
    }
}

/// The GraphQL request of a `subscribe` payload, read like a GraphQL-over-HTTP request body.
fn request(payload: Map<String, Value>) -> Result<Request, Invalid> {
    crate::graphql::request::from_object(payload).map_err(|wrong| {
        let first = wrong.first().map_or(String::new(), |e| {
            format!(": payload.{} {}", e.field, e.message)
        });
        format!("Invalid message received{first}")
    })
}

/// `connection_ack`.
pub fn connection_ack() -> String {
    json!({ "type": "connection_ack" }).to_string()
}

/// The legacy protocol's refusal of `connection_init`, sent before close 4403.
pub fn connection_error(message: &str) -> String {
    json!({ "type": "connection_error", "payload": { "message": message } }).to_string()
}

/// The server's keep-alive: `ping` (legacy: `ka`).
pub fn keepalive(protocol: Subprotocol) -> String {
    let kind = match protocol {
        Subprotocol::TransportWs => "ping",
        Subprotocol::LegacyWs => "ka",
    };
    json!({ "type": kind }).to_string()
}

/// The answer to a client's `ping`, echoing its payload.
pub fn pong(payload: Option<Map<String, Value>>) -> String {
    match payload {
        Some(payload) => json!({ "type": "pong", "payload": payload }),
        None => json!({ "type": "pong" }),
    }
    .to_string()
}

/// `complete` for operation `id`.
pub fn complete(id: &str) -> String {
    json!({ "id": id, "type": "complete" }).to_string()
}

/// Refuses operation `id` before it runs: a graphql-transport-ws `error` message (no
/// `complete` follows); the legacy protocol sends the error as `data` without a `data` entry,
/// then `complete`. The id stays free.
pub fn refusal(protocol: Subprotocol, id: &str, err: &AppError) -> Vec<String> {
    let errors = [request_error(err)];
    match protocol {
        Subprotocol::TransportWs => vec![operation_frame(id, "error", &errors)],
        Subprotocol::LegacyWs => vec![
            operation_frame(id, "data", &json!({ "errors": errors })),
            complete(id),
        ],
    }
}

/// How one result of an operation goes out.
#[derive(Debug, PartialEq)]
pub struct Outgoing {
    pub frame: String,
    /// The frame ends the operation: no `complete` may follow (a graphql-transport-ws `error`).
    pub ends_operation: bool,
}

/// Renders one result of operation `id`. Every error gets `extensions.code`. A request that
/// failed before execution (parse, validation) is an `error` message in graphql-transport-ws;
/// the legacy protocol sends it as `data` without a `data` entry, `complete` following. All
/// other results, execution errors included, are `next` (legacy: `data`).
pub fn result(protocol: Subprotocol, id: &str, response: Response) -> Outgoing {
    let finished = finish_response(response);
    if finished.request_failed() && protocol == Subprotocol::TransportWs {
        return Outgoing {
            frame: operation_frame(id, "error", finished.errors()),
            ends_operation: true,
        };
    }
    let kind = match protocol {
        Subprotocol::TransportWs => "next",
        Subprotocol::LegacyWs => "data",
    };
    Outgoing {
        frame: operation_frame(id, kind, &finished),
        ends_operation: false,
    }
}

/// The payload of a `next` (legacy: `data`): `response` with every error's `extensions.code`,
/// serialized once so a group of subscribers can share it ([`shared_result`]).
pub fn payload(response: Response) -> String {
    serde_json::to_string(&finish_response(response)).expect("a response serializes")
}

/// A `next` (legacy: `data`) of operation `id` carrying a `payload` serialized once for many
/// subscribers: only the id is written here, the payload is copied as it is. The same bytes
/// [`result`] writes for a result of that payload.
pub fn shared_result(protocol: Subprotocol, id: &str, payload: &str) -> String {
    let kind = match protocol {
        Subprotocol::TransportWs => "next",
        Subprotocol::LegacyWs => "data",
    };
    let id = serde_json::to_string(id).expect("a string serializes");
    let mut frame = String::with_capacity(payload.len() + id.len() + 32);
    frame.push_str("{\"id\":");
    frame.push_str(&id);
    frame.push_str(",\"type\":\"");
    frame.push_str(kind);
    frame.push_str("\",\"payload\":");
    frame.push_str(payload);
    frame.push('}');
    frame
}

/// A message about operation `id` carrying `payload`, serialised in one pass so the payload's
/// objects keep their order (the selection order of a result).
fn operation_frame<P: Serialize + ?Sized>(id: &str, kind: &str, payload: &P) -> String {
    #[derive(Serialize)]
    struct Frame<'a, P: ?Sized> {
        id: &'a str,
        #[serde(rename = "type")]
        kind: &'a str,
        payload: &'a P,
    }
    serde_json::to_string(&Frame { id, kind, payload }).expect("an operation frame serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_transport(text: &str) -> Result<ClientMessage, Invalid> {
        parse(Subprotocol::TransportWs, text.as_bytes())
    }

    #[test]
    fn transport_messages_of_the_wrong_shape_are_invalid() {
        for bad in [
            "not json",
            "[]",
            r#"{"id":"1"}"#,
            r#"{"type":"connection_init","payload":"key"}"#,
            r#"{"type":"subscribe","id":"","payload":{"query":"{ a }"}}"#,
            r#"{"type":"subscribe","id":1,"payload":{"query":"{ a }"}}"#,
            r#"{"type":"subscribe","id":"1","payload":{"query":1}}"#,
            r#"{"type":"subscribe","id":"1","payload":{"query":"{ a }","variables":[]}}"#,
            r#"{"type":"subscribe","id":"1","payload":{"query":"{ a }","operationName":2}}"#,
            r#"{"type":"complete"}"#,
            r#"{"type":"start","id":"1","payload":{"query":"{ a }"}}"#,
            r#"{"type":"next","id":"1","payload":{}}"#,
        ] {
            assert!(parse_transport(bad).is_err(), "{bad} should be invalid");
        }
    }

    #[test]
    fn transport_messages_parse_with_optional_fields_null_or_absent() {
        assert!(matches!(
            parse_transport(r#"{"type":"connection_init","payload":null}"#),
            Ok(ClientMessage::ConnectionInit(p)) if p.is_empty()
        ));
        assert!(matches!(
            parse_transport(r#"{"type":"ping","payload":{"t":1}}"#),
            Ok(ClientMessage::Ping(Some(_)))
        ));
        let subscribe = parse_transport(
            r#"{"type":"subscribe","id":"a","payload":{"query":"{ a }","operationName":null,"variables":{"x":1},"extensions":null}}"#,
        );
        let Ok(ClientMessage::Subscribe { id, request }) = subscribe else {
            panic!("subscribe parses: {subscribe:?}");
        };
        assert_eq!((id.as_str(), request.query.as_str()), ("a", "{ a }"));
    }

    #[test]
    fn legacy_messages_use_their_own_names() {
        let legacy = |text: &str| parse(Subprotocol::LegacyWs, text.as_bytes());
        assert!(matches!(
            legacy(r#"{"type":"start","id":"1","payload":{"query":"{ a }"}}"#),
            Ok(ClientMessage::Subscribe { .. })
        ));
        assert!(matches!(
            legacy(r#"{"type":"stop","id":"1"}"#),
            Ok(ClientMessage::Complete { .. })
        ));
        assert!(matches!(
            legacy(r#"{"type":"connection_terminate"}"#),
            Ok(ClientMessage::Terminate)
        ));
        assert!(legacy(r#"{"type":"ping"}"#).is_err());
        assert!(legacy(r#"{"type":"subscribe","id":"1","payload":{"query":"{ a }"}}"#).is_err());
    }

    #[test]
    fn the_client_s_first_supported_protocol_wins() {
        let offering = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(header::SEC_WEBSOCKET_PROTOCOL, value.parse().unwrap());
            }
            Subprotocol::preferred_by_client(&headers)
        };
        use Subprotocol::{LegacyWs, TransportWs};
        assert_eq!(
            offering(&["graphql-ws, graphql-transport-ws"]),
            Some(LegacyWs)
        );
        assert_eq!(
            offering(&["graphql-transport-ws,graphql-ws"]),
            Some(TransportWs)
        );
        assert_eq!(
            offering(&["chat", "graphql-ws", "graphql-transport-ws"]),
            Some(LegacyWs)
        );
        assert_eq!(offering(&["chat, GraphQL-WS"]), None);
        assert_eq!(offering(&[]), None);
    }

    #[test]
    fn a_shared_payload_makes_the_same_frame_as_its_own_result() {
        for protocol in [Subprotocol::TransportWs, Subprotocol::LegacyWs] {
            let response = || {
                let mut data = async_graphql::indexmap::IndexMap::new();
                data.insert(
                    async_graphql::Name::new("b"),
                    async_graphql::Value::from("x\"y"),
                );
                data.insert(async_graphql::Name::new("a"), async_graphql::Value::from(1));
                Response::new(async_graphql::Value::Object(data))
            };
            let own = result(protocol, "op \"1\"", response());
            let shared = shared_result(protocol, "op \"1\"", &payload(response()));
            assert_eq!(shared, own.frame);
        }
    }

    #[test]
    fn pong_echoes_the_ping_payload() {
        let parsed = |text: String| serde_json::from_str::<Value>(&text).unwrap();
        assert_eq!(parsed(pong(None)), json!({"type": "pong"}));
        let payload = json!({"t": 1}).as_object().cloned();
        assert_eq!(
            parsed(pong(payload)),
            json!({"type": "pong", "payload": {"t": 1}})
        );
    }
}
