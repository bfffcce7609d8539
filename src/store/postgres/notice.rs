//! What the database announces on the change channel, and how a batch of announcements
//! becomes [`Change`]s: chats arrive whole; messages arrive by id and are loaded, all of a
//! batch in one query, and only when someone on this instance listens to their conversation.
//!
//! The payloads are written by the triggers in the migrations (and by
//! [`PostgresStore::announce`](super::PostgresStore) for transient events); this is their
//! reader. Every payload stays under PostgreSQL's 8000-byte limit.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use super::errors::{corrupt, db_error};
use super::rows::{MESSAGE_COLUMNS, MessageRow};
use crate::domain::{Chat, Message, Priority, Timestamp};
use crate::error::AppResult;
use crate::events::{Change, ChangeSink, Topic};

/// One announcement, as the triggers write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum Notice {
    ChatCreated {
        chat: ChatNotice,
    },
    ChatUpdated {
        chat: ChatNotice,
    },
    ChatDeleted {
        chat: ChatNotice,
    },
    ConversationCreated {
        id: Uuid,
    },
    ConversationDeleted {
        id: Uuid,
    },
    MessageAdded {
        id: Uuid,
        conversation_id: Uuid,
        position: u64,
    },
    /// A piece of an assistant reply (`n` keeps equal pieces of one announcement apart, since
    /// PostgreSQL folds identical notifications of one transaction into one).
    Delta {
        conversation_id: Uuid,
        message_id: Uuid,
        delta: String,
        n: usize,
    },
}

/// A chat as announced: the whole record at the version of the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatNotice {
    pub id: Uuid,
    pub version: u64,
    pub title: String,
    pub description: Option<String>,
    pub active: bool,
    pub priority: String,
    pub user_id: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
}

impl ChatNotice {
    fn into_chat(self) -> AppResult<Chat> {
        Ok(Chat {
            id: self.id,
            version: self.version,
            title: self.title,
            description: self.description,
            active: self.active,
            priority: Priority::parse(&self.priority).map_err(corrupt)?,
            user_id: self.user_id,
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
        })
    }
}

/// Turns a batch of payloads (in commit order) into changes and sends them, in that order.
/// A payload that does not parse is logged and skipped; a failed load is an error (the caller
/// tells subscribers about the gap).
pub async fn deliver(pool: &PgPool, sink: &ChangeSink, payloads: &[String]) -> AppResult<()> {
    let notices: Vec<Notice> = payloads
        .iter()
        .filter_map(|payload| match serde_json::from_str(payload) {
            Ok(notice) => Some(notice),
            Err(error) => {
                tracing::error!(%error, payload, "an unreadable change notification was skipped");
                None
            }
        })
        .collect();
    let wanted: Vec<Uuid> = notices
        .iter()
        .filter_map(|notice| match notice {
            Notice::MessageAdded {
                id,
                conversation_id,
                ..
            } if sink.is_heard(Topic::Conversation(*conversation_id)) => Some(*id),
            _ => None,
        })
        .collect();
    let mut messages = load_messages(pool, &wanted).await?;
    for notice in notices {
        let change = match notice {
            Notice::ChatCreated { chat } => Change::ChatCreated(chat.into_chat()?),
            Notice::ChatUpdated { chat } => Change::ChatUpdated(chat.into_chat()?),
            Notice::ChatDeleted { chat } => Change::ChatDeleted(chat.into_chat()?),
            // Nobody subscribes to conversations being created: nothing to load or send.
            Notice::ConversationCreated { .. } => continue,
            Notice::ConversationDeleted { id } => Change::ConversationDeleted(id),
            Notice::MessageAdded { id, .. } => match messages.remove(&id) {
                Some(message) => Change::MessageAdded(message),
                // Unheard, or deleted with its conversation since (whose deletion follows).
                None => continue,
            },
            Notice::Delta {
                conversation_id,
                message_id,
                delta,
                ..
            } => Change::AssistantDelta {
                conversation_id,
                message_id,
                delta,
            },
        };
        sink.send(change);
    }
    Ok(())
}

async fn load_messages(pool: &PgPool, ids: &[Uuid]) -> AppResult<HashMap<Uuid, Message>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<MessageRow> = sqlx::query_as(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.into_iter()
        .map(|row| Message::try_from(row).map(|m| (m.id, m)))
        .collect()
}

/// How many characters of a delta one notification carries: JSON escapes a character into at
/// most 6 bytes, so 1000 of them and the envelope stay far under 8000 bytes.
pub const DELTA_CHARS: usize = 1000;

/// The payloads announcing `delta`, split into pieces of at most [`DELTA_CHARS`] characters.
pub fn delta_payloads(conversation_id: Uuid, message_id: Uuid, delta: &str) -> Vec<String> {
    let chars: Vec<char> = delta.chars().collect();
    let pieces: Vec<String> = if chars.is_empty() {
        vec![String::new()]
    } else {
        chars
            .chunks(DELTA_CHARS)
            .map(|piece| piece.iter().collect())
            .collect()
    };
    pieces
        .into_iter()
        .enumerate()
        .map(|(n, delta)| {
            let notice = Notice::Delta {
                conversation_id,
                message_id,
                delta,
                n,
            };
            serde_json::to_string(&notice).expect("a notice serializes")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_delta_is_split_into_payloads_under_the_limit_that_join_back() {
        let delta = "\u{1}🦀\"".repeat(2_000);
        let payloads = delta_payloads(Uuid::new_v4(), Uuid::new_v4(), &delta);
        assert_eq!(payloads.len(), 6);
        let mut joined = String::new();
        for payload in &payloads {
            assert!(payload.len() < 8_000, "{} bytes", payload.len());
            let Notice::Delta { delta, .. } = serde_json::from_str(payload).unwrap() else {
                panic!("a delta");
            };
            joined.push_str(&delta);
        }
        assert_eq!(joined, delta);
    }

    #[test]
    fn trigger_payloads_parse() {
        let id = Uuid::new_v4();
        let payload = format!(
            r#"{{"k" : "chat_deleted", "chat" : {{"id" : "{id}", "version" : 3, "title" : "t",
            "description" : null, "active" : true, "priority" : "high", "user_id" : "u",
            "created_at" : 1000, "updated_at" : 1002}}}}"#
        );
        let Notice::ChatDeleted { chat } = serde_json::from_str(&payload).unwrap() else {
            panic!("a chat deletion");
        };
        let chat = chat.into_chat().unwrap();
        assert_eq!((chat.version, chat.priority), (3, Priority::High));
        assert_eq!(chat.updated_at, Timestamp::from_millis(1002));
        let message = format!(
            r#"{{"k" : "message_added", "id" : "{id}", "conversation_id" : "{id}", "position" : 7}}"#
        );
        assert!(matches!(
            serde_json::from_str(&message).unwrap(),
            Notice::MessageAdded { position: 7, .. }
        ));
    }
}
