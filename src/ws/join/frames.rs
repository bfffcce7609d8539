//! The frames of the `/ws` join protocol (docs/api.md, "The /ws join protocol"): checking what
//! clients send and rendering what the server sends. No I/O and no state here.

use serde_json::{Map, Value, json};

use crate::domain::Message;
use crate::error::{AppError, ErrorCode};
use crate::events::Change;

/// A frame a client sent, checked.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientFrame {
    /// `{"type":"join","conversationId":…[,"after":…]}` with the ids as sent.
    Join {
        conversation_id: String,
        after: Option<String>,
    },
    /// `{"type":"leave","conversationId":…}` with the id as sent.
    Leave(String),
    /// `{"type":"ping"}`.
    Ping,
    /// `{"type":"auth","apiKey":…}`; the key when it is a string.
    Auth(Option<String>),
}

/// Checks one text frame; a frame that is not one of the protocol's is a `VALIDATION_ERROR`.
/// Fields the protocol does not use are ignored.
pub fn parse(text: &str) -> Result<ClientFrame, AppError> {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Err(invalid("frame is not valid JSON"));
    };
    let Value::Object(mut frame) = value else {
        return Err(invalid("frame must be a JSON object"));
    };
    let kind = match frame.remove("type") {
        Some(Value::String(kind)) => kind,
        None | Some(Value::Null) => return Err(AppError::invalid_field("type", "is required")),
        Some(_) => return Err(AppError::invalid_field("type", "must be a string")),
    };
    match kind.as_str() {
        "join" => Ok(ClientFrame::Join {
            conversation_id: conversation_id(&mut frame)?,
            after: after(&mut frame)?,
        }),
        "leave" => Ok(ClientFrame::Leave(conversation_id(&mut frame)?)),
        "ping" => Ok(ClientFrame::Ping),
        "auth" => Ok(ClientFrame::Auth(match frame.remove("apiKey") {
            Some(Value::String(key)) => Some(key),
            _ => None,
        })),
        _ => Err(AppError::invalid_field(
            "type",
            "must be one of join, leave, ping, auth",
        )),
    }
}

/// The answer to a binary frame: the protocol is JSON text.
pub fn binary_refused() -> AppError {
    invalid("binary frames are not supported; send JSON text")
}

fn invalid(message: &str) -> AppError {
    AppError::new(ErrorCode::ValidationError, message)
}

fn conversation_id(frame: &mut Map<String, Value>) -> Result<String, AppError> {
    match frame.remove("conversationId") {
        Some(Value::String(id)) => Ok(id),
        None | Some(Value::Null) => Err(AppError::invalid_field("conversationId", "is required")),
        Some(_) => Err(AppError::invalid_field(
            "conversationId",
            "must be a string",
        )),
    }
}

/// The message a join resumes after, when it names one.
fn after(frame: &mut Map<String, Value>) -> Result<Option<String>, AppError> {
    match frame.remove("after") {
        Some(Value::String(id)) => Ok(Some(id)),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(AppError::invalid_field("after", "must be a string")),
    }
}

/// `{"type":"joined","conversationId":…}`.
pub fn joined(conversation_id: &str) -> String {
    json!({ "type": "joined", "conversationId": conversation_id }).to_string()
}

/// `{"type":"left","conversationId":…}`.
pub fn left(conversation_id: &str) -> String {
    json!({ "type": "left", "conversationId": conversation_id }).to_string()
}

/// `{"type":"deleted","conversationId":…}`: the conversation is gone and the socket left it.
pub fn deleted(conversation_id: &str) -> String {
    json!({ "type": "deleted", "conversationId": conversation_id }).to_string()
}

/// `{"type":"message","message":{…}}` in the REST message shape.
pub fn message(message: &Message) -> String {
    json!({ "type": "message", "message": message }).to_string()
}

/// `{"type":"delta","conversationId","messageId","delta"}`: a piece of an assistant reply being
/// written. The pieces of one reply, appended in order, are the `content` of the `message`
/// frame that ends it.
pub fn delta(conversation_id: &str, message_id: &str, delta: &str) -> String {
    json!({
        "type": "delta",
        "conversationId": conversation_id,
        "messageId": message_id,
        "delta": delta,
    })
    .to_string()
}

/// The error frame of a reply that failed: with `conversationId` and the `messageId` its pieces
/// carried; nothing is stored under that id.
pub fn reply_failed(conversation_id: &str, message_id: &str, err: &AppError) -> String {
    let mut frame = error_frame(err, Some(conversation_id));
    frame["messageId"] = json!(message_id);
    frame.to_string()
}

/// The frame a change on a joined conversation's topic sends (`None`: it sends nothing). It
/// depends on the change alone, so every socket that joined sends the same bytes.
pub fn change(change: &Change) -> Option<String> {
    match change {
        Change::MessageAdded(added) => Some(message(added)),
        Change::ConversationDeleted(id) => Some(deleted(&id.to_string())),
        Change::AssistantDelta {
            conversation_id,
            message_id,
            delta: piece,
        } => Some(delta(
            &conversation_id.to_string(),
            &message_id.to_string(),
            piece,
        )),
        Change::AssistantFailed {
            conversation_id,
            message_id,
            code,
            message,
        } => {
            let err = AppError::new(*code, message.clone());
            Some(reply_failed(
                &conversation_id.to_string(),
                &message_id.to_string(),
                &err,
            ))
        }
        _ => None,
    }
}

/// `{"type":"pong"}`.
pub fn pong() -> String {
    json!({ "type": "pong" }).to_string()
}

/// `{"type":"authenticated"}`.
pub fn authenticated() -> String {
    json!({ "type": "authenticated" }).to_string()
}

/// `{"type":"error","error":{"code","message","details"}}`, with the `conversationId` the
/// error is about when there is one.
pub fn error(err: &AppError, conversation_id: Option<&str>) -> String {
    error_frame(err, conversation_id).to_string()
}

fn error_frame(err: &AppError, conversation_id: Option<&str>) -> Value {
    let mut frame = err.envelope();
    frame["type"] = json!("error");
    if let Some(id) = conversation_id {
        frame["conversationId"] = json!(id);
    }
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_of_the_protocol_parse_and_extra_fields_are_ignored() {
        assert_eq!(
            parse(r#"{"type":"join","conversationId":"abc","extra":1}"#),
            Ok(ClientFrame::Join {
                conversation_id: "abc".into(),
                after: None
            })
        );
        assert_eq!(
            parse(r#"{"type":"join","conversationId":"abc","after":"m1"}"#),
            Ok(ClientFrame::Join {
                conversation_id: "abc".into(),
                after: Some("m1".into())
            })
        );
        assert_eq!(
            parse(r#"{"type":"leave","conversationId":"abc"}"#),
            Ok(ClientFrame::Leave("abc".into()))
        );
        assert_eq!(parse(r#"{"type":"ping"}"#), Ok(ClientFrame::Ping));
        assert_eq!(
            parse(r#"{"type":"auth","apiKey":"k"}"#),
            Ok(ClientFrame::Auth(Some("k".into())))
        );
        assert_eq!(parse(r#"{"type":"auth"}"#), Ok(ClientFrame::Auth(None)));
    }

    #[test]
    fn anything_else_is_a_validation_error_naming_the_problem() {
        let message = |text: &str| parse(text).unwrap_err().message().to_owned();
        assert_eq!(message("{"), "frame is not valid JSON");
        assert_eq!(message("[1]"), "frame must be a JSON object");
        assert_eq!(message(r#"{"conversationId":"a"}"#), "type is required");
        assert_eq!(
            message(r#"{"type":"shout"}"#),
            "type must be one of join, leave, ping, auth"
        );
        assert_eq!(message(r#"{"type":"join"}"#), "conversationId is required");
        assert_eq!(
            message(r#"{"type":"join","conversationId":7}"#),
            "conversationId must be a string"
        );
        assert_eq!(
            message(r#"{"type":"join","conversationId":"a","after":7}"#),
            "after must be a string"
        );
        assert_eq!(parse("{").unwrap_err().code(), ErrorCode::ValidationError);
    }

    #[test]
    fn error_frames_carry_the_envelope_and_the_conversation() {
        let frame: Value =
            serde_json::from_str(&error(&AppError::not_found("conversation"), Some("x"))).unwrap();
        assert_eq!(
            frame,
            json!({
                "type": "error",
                "conversationId": "x",
                "error": {"code": "NOT_FOUND", "message": "conversation not found", "details": {}}
            })
        );
    }

    #[test]
    fn reply_frames_name_the_conversation_and_the_reply() {
        let delta: Value = serde_json::from_str(&delta("c", "m", "Hel")).unwrap();
        assert_eq!(
            delta,
            json!({"type": "delta", "conversationId": "c", "messageId": "m", "delta": "Hel"})
        );
        let err = AppError::new(ErrorCode::AssistantUnavailable, "down");
        let failed: Value = serde_json::from_str(&reply_failed("c", "m", &err)).unwrap();
        assert_eq!(
            failed,
            json!({"type": "error", "conversationId": "c", "messageId": "m",
                   "error": {"code": "ASSISTANT_UNAVAILABLE", "message": "down", "details": {}}})
        );
    }
}
