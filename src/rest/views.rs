//! What REST clients receive: response bodies built from domain records. Each type both
//! serializes the answer and documents it in the OpenAPI description.
//!
//! Absent optional values are `null`, never omitted; ids are lowercase; timestamps render as
//! `2025-10-04T12:00:00.000Z`.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{self, Metadata, Page, Priority, Role, Timestamp};

/// A chat session.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Chat)]
pub struct ChatView {
    pub id: Uuid,
    pub title: String,
    #[schema(required = true)]
    pub description: Option<String>,
    pub active: bool,
    pub priority: Priority,
    #[schema(required = true)]
    pub user_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<domain::Chat> for ChatView {
    fn from(chat: domain::Chat) -> Self {
        Self {
            id: chat.id,
            title: chat.title,
            description: chat.description,
            active: chat.active,
            priority: chat.priority,
            user_id: chat.user_id,
            created_at: chat.created_at,
            updated_at: chat.updated_at,
        }
    }
}

/// A conversation with the number of messages it holds.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Conversation)]
pub struct ConversationView {
    pub id: Uuid,
    pub user_id: String,
    #[schema(value_type = Object)]
    pub metadata: Metadata,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub message_count: u64,
}

impl From<domain::Conversation> for ConversationView {
    fn from(c: domain::Conversation) -> Self {
        Self {
            id: c.id,
            user_id: c.user_id,
            metadata: c.metadata,
            created_at: c.created_at,
            updated_at: c.updated_at,
            message_count: c.message_count,
        }
    }
}

/// A conversation with its latest 100 messages, oldest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ConversationDetail)]
pub struct ConversationDetailView {
    #[serde(flatten)]
    pub conversation: ConversationView,
    pub messages: Vec<MessageView>,
}

/// One message; the same shape everywhere (REST, `/ws`, GraphQL).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Message)]
pub struct MessageView {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub role: Role,
    pub content: String,
    #[schema(value_type = Object)]
    pub metadata: Metadata,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<domain::Message> for MessageView {
    fn from(m: domain::Message) -> Self {
        Self {
            id: m.id,
            conversation_id: m.conversation_id,
            role: m.role,
            content: m.content,
            metadata: m.metadata,
            created_at: m.created_at,
        }
    }
}

/// What `POST …/messages` stored: the user's message and the assistant's reply.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SendMessageResponse)]
pub struct SentMessagesView {
    pub user_message: MessageView,
    pub assistant_message: MessageView,
}

/// Declares a list body with the items under `$field`.
macro_rules! list_view {
    ($(#[$doc:meta])* $name:ident as $schema:ident, $field:ident: $item:ident from $domain:ty) => {
        $(#[$doc])*
        #[derive(Debug, Serialize, ToSchema)]
        #[serde(rename_all = "camelCase")]
        #[schema(as = $schema)]
        pub struct $name {
            pub $field: Vec<$item>,
            /// How many items match, across all pages.
            pub total: u64,
            /// The page size used (after clamping to 100).
            pub limit: u64,
            pub offset: u64,
            /// Whether items exist past this page.
            pub has_more: bool,
        }

        impl From<Page<$domain>> for $name {
            fn from(page: Page<$domain>) -> Self {
                let has_more = page.has_more();
                Self {
                    total: page.total,
                    limit: page.limit,
                    offset: page.offset,
                    has_more,
                    $field: page.items.into_iter().map(Into::into).collect(),
                }
            }
        }
    };
}

list_view!(
    /// A page of chat sessions.
    ChatListView as ChatList, chats: ChatView from domain::Chat
);
list_view!(
    /// A page of one user's conversations.
    ConversationListView as ConversationList, conversations: ConversationView from domain::Conversation
);
list_view!(
    /// A page of one conversation's messages.
    MessageListView as MessageList, messages: MessageView from domain::Message
);

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Health)]
pub struct HealthView {
    /// Always `ok` when the process answers.
    pub status: &'static str,
    /// The server's current time.
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: Timestamp,
    /// Whole seconds since the server started.
    pub uptime: u64,
    /// Always `micro-chatbot`.
    pub service: &'static str,
}

/// `GET /health/db`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DbHealth)]
pub struct DbHealthView {
    /// `ok`.
    pub status: &'static str,
    /// `connected`.
    pub database: &'static str,
    /// Milliseconds one round trip to the store took.
    pub latency: u64,
}

/// `GET /health/ready` when the instance takes traffic.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Readiness)]
pub struct ReadyView {
    /// `ready`.
    pub status: &'static str,
    /// `connected`.
    pub database: &'static str,
    /// Only when the rate limit is configured to count in Redis: `redis` while it does,
    /// `local` while Redis does not answer and this instance counts alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<&'static str>,
}
