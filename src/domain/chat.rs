//! Chat sessions: the record, its input rules, updates and list filters.

use serde::Serialize;
use uuid::Uuid;

use super::field::{Checker, Field};
use super::text::{Description, Title, UserId};
use super::time::Timestamp;
use crate::error::AppResult;

/// A chat session's importance; REST spells it lowercase, GraphQL uppercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    #[default]
    Medium,
    High,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::Low, Priority::Medium, Priority::High];

    /// Parses the exact lowercase REST spelling (`HIGH` is not accepted).
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "low" => Ok(Self::Low),
            "medium" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            _ => Err("must be one of low, medium, high".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// A stored chat session.
#[derive(Debug, Clone, PartialEq)]
pub struct Chat {
    pub id: Uuid,
    /// How many changes the chat has seen: 1 at creation, one more for each update that changes
    /// a value, each toggle and the deletion. Set by the store; orders a chat's live changes and
    /// is never rendered.
    pub version: Version,
    pub title: String,
    pub description: Option<String>,
    pub active: bool,
    pub priority: Priority,
    pub user_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A chat's change count; see [`Chat::version`].
pub type Version = u64;

/// The writable chat fields as a transport decoded them, before any rule is checked.
#[derive(Debug, Clone, Default)]
pub struct ChatFields {
    pub title: Field<String>,
    pub description: Field<String>,
    pub active: Field<bool>,
    pub priority: Field<Priority>,
    pub user_id: Field<String>,
}

/// A valid chat to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewChat {
    pub title: Title,
    pub description: Option<Description>,
    pub active: bool,
    pub priority: Priority,
    pub user_id: Option<UserId>,
}

/// A valid partial update: `None` leaves a field alone; `Some(None)` clears an optional one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatPatch {
    pub title: Option<Title>,
    pub description: Option<Option<Description>>,
    pub active: Option<bool>,
    pub priority: Option<Priority>,
    pub user_id: Option<Option<UserId>>,
}

/// Which chats a list asks for; `None` matches any value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ChatFilter {
    pub active: Option<bool>,
    pub priority: Option<Priority>,
    pub user_id: Option<String>,
}

impl ChatFilter {
    pub fn matches(&self, chat: &Chat) -> bool {
        self.active.is_none_or(|a| a == chat.active)
            && self.priority.is_none_or(|p| p == chat.priority)
            && self
                .user_id
                .as_deref()
                .is_none_or(|u| chat.user_id.as_deref() == Some(u))
    }
}

impl NewChat {
    /// Checks a create request: `title` required; the rest optional with their defaults.
    pub fn parse(fields: ChatFields) -> AppResult<Self> {
        let mut check = Checker::default();
        let title = check.required("title", fields.title, Title::parse);
        let description = check.value("description", fields.description, Description::parse);
        // On create, `null` for an optional field means "use the default".
        let active = check.value("active", fields.active, Ok);
        let priority = check.value("priority", fields.priority, Ok);
        let user_id = check.value("userId", fields.user_id, UserId::parse);
        check.finish(|| NewChat {
            title: title.expect("a missing or invalid title was reported"),
            description: description.flatten(),
            active: active.flatten().unwrap_or(true),
            priority: priority.flatten().unwrap_or_default(),
            user_id: user_id.flatten(),
        })
    }
}

impl ChatPatch {
    /// Checks an update: every field optional; `null` clears `description` and `userId` and is
    /// an error for `title`, `active` and `priority`.
    pub fn parse(fields: ChatFields) -> AppResult<Self> {
        let mut check = Checker::default();
        let title = check.non_null("title", fields.title, Title::parse);
        let description = check.value("description", fields.description, Description::parse);
        let active = check.non_null("active", fields.active, Ok);
        let priority = check.non_null("priority", fields.priority, Ok);
        let user_id = check.value("userId", fields.user_id, UserId::parse);
        check.finish(|| ChatPatch {
            title,
            description,
            active,
            priority,
            user_id,
        })
    }

    /// The chat after this update, or `None` when it would change no value (so `updatedAt`
    /// stays and no event is sent).
    pub fn apply(&self, chat: &Chat, now: Timestamp) -> Option<Chat> {
        let mut next = chat.clone();
        if let Some(title) = &self.title {
            next.title = title.as_str().to_owned();
        }
        if let Some(description) = &self.description {
            next.description = description.as_ref().map(|d| d.as_str().to_owned());
        }
        if let Some(active) = self.active {
            next.active = active;
        }
        if let Some(priority) = self.priority {
            next.priority = priority;
        }
        if let Some(user_id) = &self.user_id {
            next.user_id = user_id.as_ref().map(|u| u.as_str().to_owned());
        }
        if next == *chat {
            return None;
        }
        next.updated_at = Timestamp::next_after(chat.updated_at, now);
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{AppError, ErrorCode};
    use serde_json::json;

    fn fields_with_title(title: &str) -> ChatFields {
        ChatFields {
            title: Field::Value(title.into()),
            ..Default::default()
        }
    }

    fn field_errors(err: AppError) -> serde_json::Value {
        assert_eq!(err.code(), ErrorCode::ValidationError);
        err.details().expect("validation errors have details")["fields"].clone()
    }

    #[test]
    fn new_chat_applies_defaults_and_trims_title() {
        let chat = NewChat::parse(fields_with_title("  Hello ")).unwrap();
        assert_eq!(chat.title.as_str(), "Hello");
        assert_eq!((chat.active, chat.priority), (true, Priority::Medium));
        assert_eq!((chat.description, chat.user_id), (None, None));
    }

    #[test]
    fn new_chat_reports_every_bad_field() {
        let err = NewChat::parse(ChatFields {
            title: Field::Absent,
            description: Field::Value("x".repeat(1001)),
            priority: Field::Invalid("must be one of low, medium, high".into()),
            active: Field::Invalid("must be a boolean".into()),
            user_id: Field::Value(" ".into()),
        })
        .unwrap_err();
        assert_eq!(
            field_errors(err),
            json!([
                {"field": "title", "message": "is required"},
                {"field": "description", "message": "must be at most 1000 characters"},
                {"field": "active", "message": "must be a boolean"},
                {"field": "priority", "message": "must be one of low, medium, high"},
                {"field": "userId", "message": "must not be blank"},
            ])
        );
    }

    #[test]
    fn null_optionals_on_create_take_their_defaults() {
        let chat = NewChat::parse(ChatFields {
            title: Field::Value("t".into()),
            description: Field::Null,
            active: Field::Null,
            priority: Field::Null,
            user_id: Field::Null,
        })
        .unwrap();
        assert_eq!((chat.active, chat.priority), (true, Priority::Medium));
        assert_eq!((chat.description, chat.user_id), (None, None));
    }

    #[test]
    fn null_title_on_create_is_required_and_blank_title_is_blank() {
        let null_title = ChatFields {
            title: Field::Null,
            ..Default::default()
        };
        assert_eq!(
            field_errors(NewChat::parse(null_title).unwrap_err()),
            json!([{"field": "title", "message": "is required"}])
        );
        assert_eq!(
            field_errors(NewChat::parse(fields_with_title("   ")).unwrap_err()),
            json!([{"field": "title", "message": "must not be blank"}])
        );
    }

    #[test]
    fn patch_null_clears_optionals_and_rejects_required() {
        let patch = ChatPatch::parse(ChatFields {
            description: Field::Null,
            user_id: Field::Null,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(patch.description, Some(None));
        assert_eq!(patch.user_id, Some(None));
        let err = ChatPatch::parse(ChatFields {
            title: Field::Null,
            active: Field::Null,
            priority: Field::Null,
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            field_errors(err),
            json!([
                {"field": "title", "message": "must not be null"},
                {"field": "active", "message": "must not be null"},
                {"field": "priority", "message": "must not be null"},
            ])
        );
    }

    fn sample_chat() -> Chat {
        Chat {
            id: Uuid::new_v4(),
            version: 1,
            title: "T".into(),
            description: Some("d".into()),
            active: true,
            priority: Priority::Medium,
            user_id: None,
            created_at: Timestamp::from_millis(10),
            updated_at: Timestamp::from_millis(10),
        }
    }

    #[test]
    fn patch_that_changes_nothing_is_a_no_op() {
        let chat = sample_chat();
        let same = ChatPatch::parse(ChatFields {
            title: Field::Value(" T ".into()),
            active: Field::Value(true),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(same.apply(&chat, Timestamp::from_millis(99)), None);
    }

    #[test]
    fn patch_moves_updated_at_forward_even_within_one_millisecond() {
        let chat = sample_chat();
        let patch = ChatPatch::parse(ChatFields {
            description: Field::Value(String::new()),
            ..Default::default()
        })
        .unwrap();
        let next = patch.apply(&chat, Timestamp::from_millis(10)).unwrap();
        assert_eq!(next.description.as_deref(), Some(""));
        assert_eq!(next.updated_at, Timestamp::from_millis(11));
        assert_eq!(next.created_at, chat.created_at);
    }

    #[test]
    fn filter_matches_every_given_criterion() {
        let chat = sample_chat();
        assert!(ChatFilter::default().matches(&chat));
        let high = ChatFilter {
            priority: Some(Priority::High),
            ..Default::default()
        };
        assert!(!high.matches(&chat));
        let user = ChatFilter {
            user_id: Some("u".into()),
            ..Default::default()
        };
        assert!(!user.matches(&chat));
    }

    #[test]
    fn priority_parse_is_exact_lowercase() {
        assert_eq!(Priority::parse("high"), Ok(Priority::High));
        assert!(Priority::parse("HIGH").is_err());
    }
}
