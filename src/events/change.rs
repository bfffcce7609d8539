//! What a store's change feed carries: every committed change, events that are never stored
//! (an assistant's reply as it is written), and the feed's own `Gap`; and the topics each one
//! is delivered on, with the number that orders it there.

use uuid::Uuid;

use crate::domain::{Chat, Conversation, Message};
use crate::error::ErrorCode;

/// One item of a change feed. Stored changes carry the record as committed (a message with
/// its position, a chat with its version), so subscribers never read the store to render one.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A new chat, at version 1.
    ChatCreated(Chat),
    /// A chat after an update that changed a value, or a toggle, at its new version.
    ChatUpdated(Chat),
    /// The chat as it was, its version moved one past its last change.
    ChatDeleted(Chat),
    /// A new conversation (delivered on no topic: nobody can watch it before it exists).
    ConversationCreated(Conversation),
    /// The conversation and all its messages are gone; ends the conversation's topic.
    ConversationDeleted(Uuid),
    /// A stored message, with its position in its conversation.
    MessageAdded(Message),
    /// A piece of an assistant reply being written, never stored: delivered on its
    /// conversation's topic between the stored messages around it. `message_id` names the reply
    /// the piece belongs to.
    AssistantDelta {
        conversation_id: Uuid,
        message_id: Uuid,
        delta: String,
    },
    /// An assistant reply being written failed: nothing is stored under `message_id`, and the
    /// pieces announced for it are to be dropped. Never stored.
    AssistantFailed {
        conversation_id: Uuid,
        message_id: Uuid,
        code: ErrorCode,
        message: String,
    },
    /// The backend lost changes (say, its notification connection dropped): every subscriber
    /// is told it lagged, and resumes from the last item it has.
    Gap,
}

/// An event a store carries to subscribers without storing it ([`crate::store::Store::announce`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Transient {
    /// See [`Change::AssistantDelta`].
    AssistantDelta {
        conversation_id: Uuid,
        message_id: Uuid,
        delta: String,
    },
    /// See [`Change::AssistantFailed`].
    AssistantFailed {
        conversation_id: Uuid,
        message_id: Uuid,
        code: ErrorCode,
        message: String,
    },
}

impl From<Transient> for Change {
    fn from(event: Transient) -> Self {
        match event {
            Transient::AssistantDelta {
                conversation_id,
                message_id,
                delta,
            } => Change::AssistantDelta {
                conversation_id,
                message_id,
                delta,
            },
            Transient::AssistantFailed {
                conversation_id,
                message_id,
                code,
                message,
            } => Change::AssistantFailed {
                conversation_id,
                message_id,
                code,
                message,
            },
        }
    }
}

/// What a subscriber listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Every chat's changes, in the backend's commit order.
    AllChats,
    /// One chat's changes, by version.
    Chat(Uuid),
    /// One conversation's messages by position, with its transient events between them.
    Conversation(Uuid),
}

/// What happened to a chat, as `chatChanged` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatEventKind {
    Created,
    Updated,
    Deleted,
}

impl Change {
    /// The topics this change is delivered on (none for `Gap`, which reaches every topic).
    pub fn topics(&self) -> impl Iterator<Item = Topic> {
        let (first, second) = match self {
            Change::ChatCreated(chat) | Change::ChatUpdated(chat) | Change::ChatDeleted(chat) => {
                (Some(Topic::AllChats), Some(Topic::Chat(chat.id)))
            }
            Change::ConversationCreated(_) | Change::Gap => (None, None),
            Change::ConversationDeleted(id) => (Some(Topic::Conversation(*id)), None),
            Change::MessageAdded(message) => {
                (Some(Topic::Conversation(message.conversation_id)), None)
            }
            Change::AssistantDelta {
                conversation_id, ..
            }
            | Change::AssistantFailed {
                conversation_id, ..
            } => (Some(Topic::Conversation(*conversation_id)), None),
        };
        first.into_iter().chain(second)
    }

    /// The number that orders this change on `topic`: a message's position on its
    /// conversation, a chat's version on its own topic. `None` where the feed's order is the
    /// order (transient events, deletions of conversations, the all-chats topic).
    pub fn order_on(&self, topic: Topic) -> Option<u64> {
        match (self, topic) {
            (Change::MessageAdded(message), Topic::Conversation(_)) => Some(message.position),
            (
                Change::ChatCreated(chat) | Change::ChatUpdated(chat) | Change::ChatDeleted(chat),
                Topic::Chat(_),
            ) => Some(chat.version),
            _ => None,
        }
    }

    /// Whether nothing can follow this change on `topic`.
    pub fn ends(&self, topic: Topic) -> bool {
        matches!(
            (self, topic),
            (Change::ConversationDeleted(_), Topic::Conversation(_))
                | (Change::ChatDeleted(_), Topic::Chat(_))
        )
    }

    /// Whether this change is never stored, so a subscriber that reads the store to catch up
    /// cannot find it there.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Change::AssistantDelta { .. } | Change::AssistantFailed { .. }
        )
    }

    /// The chat change this is, if it is one.
    pub fn chat_event(&self) -> Option<(ChatEventKind, &Chat)> {
        match self {
            Change::ChatCreated(chat) => Some((ChatEventKind::Created, chat)),
            Change::ChatUpdated(chat) => Some((ChatEventKind::Updated, chat)),
            Change::ChatDeleted(chat) => Some((ChatEventKind::Deleted, chat)),
            _ => None,
        }
    }
}
