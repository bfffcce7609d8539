//! Rows as the database returns them, and their conversion into domain records.
//!
//! Enums travel as their lowercase labels (`priority::text`), metadata as JSON text (the column
//! is `json`, kept exactly as written), times as `timestamptz` at millisecond precision.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::errors::corrupt;
use crate::domain::{Chat, Conversation, Message, Metadata, Priority, Role, Timestamp};
use crate::error::AppResult;

/// The columns every chat query selects, in [`ChatRow`]'s shape.
pub const CHAT_COLUMNS: &str = "id, title, description, active, priority::text AS priority, \
     user_id, created_at, updated_at, version";

/// The columns every conversation query selects, in [`ConversationRow`]'s shape.
pub const CONVERSATION_COLUMNS: &str = "id, user_id, metadata::text AS metadata, created_at, \
     updated_at, message_count";

/// The columns every message query selects, in [`MessageRow`]'s shape.
pub const MESSAGE_COLUMNS: &str = "id, conversation_id, position, role::text AS role, content, \
     metadata::text AS metadata, created_at";

/// A `chats` row as [`CHAT_COLUMNS`] selects it.
#[derive(Debug, FromRow)]
pub struct ChatRow {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub active: bool,
    pub priority: String,
    pub user_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// A `conversations` row as [`CONVERSATION_COLUMNS`] selects it.
#[derive(Debug, FromRow)]
pub struct ConversationRow {
    pub id: Uuid,
    pub user_id: String,
    pub metadata: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub message_count: i64,
}

/// A `messages` row as [`MESSAGE_COLUMNS`] selects it.
#[derive(Debug, FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub position: i64,
    pub role: String,
    pub content: String,
    pub metadata: String,
    pub created_at: DateTime<Utc>,
}

/// A domain timestamp as a `timestamptz` parameter.
pub fn to_db_time(time: Timestamp) -> DateTime<Utc> {
    time.to_datetime()
}

/// A `timestamptz` read back as a domain timestamp.
pub fn from_db_time(time: DateTime<Utc>) -> Timestamp {
    Timestamp::from_millis(time.timestamp_millis())
}

/// Metadata as the JSON text stored in a `json` column.
pub fn metadata_text(metadata: &Metadata) -> String {
    serde_json::Value::Object(metadata.clone()).to_string()
}

fn parse_metadata(text: &str) -> AppResult<Metadata> {
    serde_json::from_str(text).map_err(|e| corrupt(format!("metadata: {e}")))
}

/// The label a role is stored under.
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

fn count(value: i64, what: &str) -> AppResult<u64> {
    u64::try_from(value).map_err(|_| corrupt(format!("negative {what}")))
}

impl TryFrom<ChatRow> for Chat {
    type Error = crate::error::AppError;

    fn try_from(row: ChatRow) -> AppResult<Chat> {
        Ok(Chat {
            id: row.id,
            version: count(row.version, "chat version")?,
            title: row.title,
            description: row.description,
            active: row.active,
            priority: Priority::parse(&row.priority).map_err(corrupt)?,
            user_id: row.user_id,
            created_at: from_db_time(row.created_at),
            updated_at: from_db_time(row.updated_at),
        })
    }
}

impl TryFrom<ConversationRow> for Conversation {
    type Error = crate::error::AppError;

    fn try_from(row: ConversationRow) -> AppResult<Conversation> {
        Ok(Conversation {
            id: row.id,
            user_id: row.user_id,
            metadata: parse_metadata(&row.metadata)?,
            created_at: from_db_time(row.created_at),
            updated_at: from_db_time(row.updated_at),
            message_count: count(row.message_count, "message count")?,
        })
    }
}

impl TryFrom<MessageRow> for Message {
    type Error = crate::error::AppError;

    fn try_from(row: MessageRow) -> AppResult<Message> {
        Ok(Message {
            id: row.id,
            conversation_id: row.conversation_id,
            position: count(row.position, "message position")?,
            role: Role::parse(&row.role).map_err(corrupt)?,
            content: row.content,
            metadata: parse_metadata(&row.metadata)?,
            created_at: from_db_time(row.created_at),
        })
    }
}

/// Converts every row, failing on the first that does not convert.
pub fn convert<R, T>(rows: Vec<R>) -> AppResult<Vec<T>>
where
    T: TryFrom<R, Error = crate::error::AppError>,
{
    rows.into_iter().map(T::try_from).collect()
}
