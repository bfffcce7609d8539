//! Conversations: a user's thread of messages with free-form metadata.

use serde_json::Value;
use uuid::Uuid;

use super::field::{Checker, Field, Metadata};
use super::text::UserId;
use super::time::Timestamp;
use crate::error::AppResult;

/// A stored conversation, with the number of messages it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub id: Uuid,
    pub user_id: String,
    pub metadata: Metadata,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub message_count: u64,
}

/// A valid conversation to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConversation {
    pub user_id: UserId,
    pub metadata: Metadata,
}

impl NewConversation {
    /// Checks a create request: `userId` required, `metadata` an optional object.
    pub fn parse(user_id: Field<String>, metadata: Field<Value>) -> AppResult<Self> {
        let mut check = Checker::default();
        let user_id = check.required("userId", user_id, UserId::parse);
        let metadata = check.metadata("metadata", metadata);
        check.finish(|| NewConversation {
            user_id: user_id.expect("a missing or invalid userId was reported"),
            metadata,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_id_is_required_and_metadata_defaults_to_empty() {
        let ok = NewConversation::parse(Field::Value("u1".into()), Field::Absent).unwrap();
        assert_eq!(ok.user_id.as_str(), "u1");
        assert!(ok.metadata.is_empty());
        let err = NewConversation::parse(Field::Absent, Field::Value(json!("x"))).unwrap_err();
        assert_eq!(
            err.details().unwrap()["fields"],
            json!([
                {"field": "userId", "message": "is required"},
                {"field": "metadata", "message": "must be a JSON object"},
            ])
        );
    }
}
