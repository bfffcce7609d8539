//! Messages: what a user or the assistant said in a conversation.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::field::{Checker, Field, Metadata};
use super::text::MessageContent;
use super::time::Timestamp;
use crate::error::AppResult;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    /// Parses the exact lowercase REST spelling.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "user" => Ok(Self::User),
            "assistant" => Ok(Self::Assistant),
            _ => Err("must be one of user, assistant".into()),
        }
    }
}

/// A stored message. One shape everywhere: REST, `/ws` and GraphQL.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: Uuid,
    pub conversation_id: Uuid,
    /// Where the message stands in its conversation: 1, 2, 3, … in stored order, assigned by
    /// the store inside the write. Live subscribers are served and resumed in this order; it is
    /// never rendered (clients resume by message id).
    #[serde(skip)]
    pub position: Position,
    pub role: Role,
    pub content: String,
    pub metadata: Metadata,
    pub created_at: Timestamp,
}

/// A message's place in its conversation, starting at 1 and without gaps.
pub type Position = u64;

/// A valid message to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// The id it will be stored under, chosen before it is written: the pieces of an assistant
    /// reply announced while it is being written name the message they will become.
    pub id: Uuid,
    pub role: Role,
    pub content: MessageContent,
    pub metadata: Metadata,
}

impl NewMessage {
    /// Checks a message a client sends: `content` required, `metadata` an optional object.
    pub fn parse_user(content: Field<String>, metadata: Field<Value>) -> AppResult<Self> {
        let mut check = Checker::default();
        let content = check.required("content", content, MessageContent::parse);
        let metadata = check.metadata("metadata", metadata);
        check.finish(|| NewMessage {
            id: Uuid::new_v4(),
            role: Role::User,
            content: content.expect("missing or invalid content was reported"),
            metadata,
        })
    }
}

/// Which messages of a conversation a list asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MessageFilter {
    pub role: Option<Role>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_is_required_and_checked() {
        let err = NewMessage::parse_user(Field::Null, Field::Absent).unwrap_err();
        assert_eq!(
            err.details().unwrap()["fields"],
            json!([{"field": "content", "message": "is required"}])
        );
        let err = NewMessage::parse_user(Field::Value("  ".into()), Field::Absent).unwrap_err();
        assert_eq!(
            err.details().unwrap()["fields"],
            json!([{"field": "content", "message": "must not be blank"}])
        );
        let ok = NewMessage::parse_user(Field::Value("hi".into()), Field::Value(json!({"k": 1})))
            .unwrap();
        assert_eq!((ok.role, ok.content.as_str()), (Role::User, "hi"));
    }

    #[test]
    fn role_parse_is_exact() {
        assert_eq!(Role::parse("assistant"), Ok(Role::Assistant));
        assert!(Role::parse("USER").is_err());
    }
}
