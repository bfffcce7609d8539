//! What the database announces on the change channel, and how the listener reads it back
//! into [`Change`]s: every record arrives whole, so the listener never reads the store (and
//! never misses a message whose conversation is deleted a moment after it was stored).
//!
//! The payloads are written by the triggers in the migrations (and by
//! [`PostgresStore::announce`](super::PostgresStore) for transient events); this is their
//! reader. Every payload stays under PostgreSQL's 8000-byte limit: a message too large for one
//! comes in parts, which [`NoticeReader`] joins.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::errors::corrupt;
use crate::domain::{Chat, Message, Metadata, Priority, Role, Timestamp};
use crate::error::{AppResult, ErrorCode};
use crate::events::{Change, Transient};

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
        message: MessageNotice,
    },
    /// Part `n` of `of` of a message's JSON text (a [`MessageNotice`]).
    MessagePart {
        id: Uuid,
        n: usize,
        of: usize,
        text: String,
    },
    /// A piece of an assistant reply (`n` keeps equal pieces of one announcement apart, since
    /// PostgreSQL folds identical notifications of one transaction into one).
    Delta {
        conversation_id: Uuid,
        message_id: Uuid,
        delta: String,
        n: usize,
    },
    /// An assistant reply that failed; `code` as clients see it.
    Failed {
        conversation_id: Uuid,
        message_id: Uuid,
        code: String,
        message: String,
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

/// A message as announced: the whole record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageNotice {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub position: u64,
    pub role: String,
    pub content: String,
    pub metadata: Metadata,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
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

impl MessageNotice {
    fn into_message(self) -> AppResult<Message> {
        Ok(Message {
            id: self.id,
            conversation_id: self.conversation_id,
            position: self.position,
            role: Role::parse(&self.role).map_err(corrupt)?,
            content: self.content,
            metadata: self.metadata,
            created_at: Timestamp::from_millis(self.created_at),
        })
    }
}

/// Reads notifications in the order they arrive, joining the parts of large messages.
#[derive(Default)]
pub struct NoticeReader {
    /// The parts so far of messages announced in parts, by id.
    parts: HashMap<Uuid, Vec<String>>,
}

impl NoticeReader {
    /// The change `payload` completes, if any. A payload that does not read (which the
    /// triggers never write) is logged and skipped.
    pub fn read(&mut self, payload: &str) -> Option<Change> {
        match self.change(payload) {
            Ok(change) => change,
            Err(error) => {
                tracing::error!(
                    message = error.message(),
                    payload,
                    "an unreadable change notification was skipped"
                );
                None
            }
        }
    }

    fn change(&mut self, payload: &str) -> AppResult<Option<Change>> {
        let notice: Notice = serde_json::from_str(payload).map_err(corrupt)?;
        Ok(Some(match notice {
            Notice::ChatCreated { chat } => Change::ChatCreated(chat.into_chat()?),
            Notice::ChatUpdated { chat } => Change::ChatUpdated(chat.into_chat()?),
            Notice::ChatDeleted { chat } => Change::ChatDeleted(chat.into_chat()?),
            // Nobody subscribes to conversations being created.
            Notice::ConversationCreated { .. } => return Ok(None),
            Notice::ConversationDeleted { id } => Change::ConversationDeleted(id),
            Notice::MessageAdded { message } => Change::MessageAdded(message.into_message()?),
            Notice::MessagePart { id, n, of, text } => {
                let parts = self.parts.entry(id).or_default();
                if parts.len() != n {
                    self.parts.remove(&id);
                    return Err(corrupt(format!("part {n} of message {id} out of order")));
                }
                parts.push(text);
                if parts.len() < of {
                    return Ok(None);
                }
                let whole = self.parts.remove(&id).unwrap_or_default().concat();
                let message: MessageNotice = serde_json::from_str(&whole).map_err(corrupt)?;
                Change::MessageAdded(message.into_message()?)
            }
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
            Notice::Failed {
                conversation_id,
                message_id,
                code,
                message,
            } => Change::AssistantFailed {
                conversation_id,
                message_id,
                code: ErrorCode::from_wire(&code)
                    .ok_or_else(|| corrupt(format!("unknown error code {code}")))?,
                message,
            },
        }))
    }
}

/// How many characters of a delta one notification carries: JSON escapes a character into at
/// most 6 bytes, so 1000 of them and the envelope stay far under 8000 bytes.
pub const DELTA_CHARS: usize = 1000;

/// The payloads announcing a transient event: a delta in pieces of at most [`DELTA_CHARS`]
/// characters, a failure (whose message is a short sentence) in one.
pub fn transient_payloads(event: Transient) -> Vec<String> {
    match event {
        Transient::AssistantDelta {
            conversation_id,
            message_id,
            delta,
        } => delta_payloads(conversation_id, message_id, &delta),
        Transient::AssistantFailed {
            conversation_id,
            message_id,
            code,
            message,
        } => {
            let notice = Notice::Failed {
                conversation_id,
                message_id,
                code: code.as_str().to_owned(),
                message,
            };
            vec![serde_json::to_string(&notice).expect("a notice serializes")]
        }
    }
}

/// The payloads announcing `delta`, split into pieces of at most [`DELTA_CHARS`] characters.
fn delta_payloads(conversation_id: Uuid, message_id: Uuid, delta: &str) -> Vec<String> {
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
    fn trigger_payloads_read_back_into_changes() {
        let id = Uuid::new_v4();
        let mut reader = NoticeReader::default();
        let payload = format!(
            r#"{{"k" : "chat_deleted", "chat" : {{"id" : "{id}", "version" : 3, "title" : "t",
            "description" : null, "active" : true, "priority" : "high", "user_id" : "u",
            "created_at" : 1000, "updated_at" : 1002}}}}"#
        );
        let Some(Change::ChatDeleted(chat)) = reader.read(&payload) else {
            panic!("a chat deletion");
        };
        assert_eq!((chat.version, chat.priority), (3, Priority::High));
        assert_eq!(chat.updated_at, Timestamp::from_millis(1002));
        let message = format!(
            r#"{{"id" : "{id}", "conversation_id" : "{id}", "position" : 7, "role" : "user",
            "content" : "hé", "metadata" : {{"a" : [1]}}, "created_at" : 5}}"#
        );
        let chars: Vec<char> = message.chars().collect();
        let parts: Vec<String> = chars.chunks(10).map(|c| c.iter().collect()).collect();
        for (n, text) in parts.iter().enumerate() {
            let part = Notice::MessagePart {
                id,
                n,
                of: parts.len(),
                text: text.clone(),
            };
            let read = reader.read(&serde_json::to_string(&part).unwrap());
            if n + 1 < parts.len() {
                assert_eq!(read, None);
            } else {
                let Some(Change::MessageAdded(message)) = read else {
                    panic!("the joined message");
                };
                assert_eq!((message.position, message.content.as_str()), (7, "hé"));
            }
        }
        assert_eq!(reader.read("not json"), None);
    }
}
