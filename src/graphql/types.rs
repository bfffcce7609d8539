//! GraphQL output types: thin views over the domain records.

use async_graphql::dataloader::DataLoader;
use async_graphql::{ComplexObject, Context, ID, Json, Object, Result, SimpleObject};

use super::loaders::StoreLoader;
use super::scalars::{ChatEventKind, DateTime, Priority, Role, SortOrder};
use crate::domain::{self, MessageFilter, Metadata, Page};
use crate::service::defaults;
use crate::store::MessageQuery;

/// A chat session.
pub struct Chat(pub domain::Chat);

#[Object]
impl Chat {
    async fn id(&self) -> ID {
        super::scalars::id(self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn priority(&self) -> Priority {
        self.0.priority.into()
    }
    async fn user_id(&self) -> Option<&str> {
        self.0.user_id.as_deref()
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

/// A conversation between a user and the assistant.
pub struct Conversation(pub domain::Conversation);

#[Object]
impl Conversation {
    async fn id(&self) -> ID {
        super::scalars::id(self.0.id)
    }
    async fn user_id(&self) -> &str {
        &self.0.user_id
    }
    async fn metadata(&self) -> Json<&Metadata> {
        Json(&self.0.metadata)
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    /// Loaded with the conversation itself, so a page of conversations costs no extra call.
    async fn message_count(&self) -> u64 {
        self.0.message_count
    }
    /// This conversation's messages, oldest first unless `order: DESC`; batched across a page.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        limit: Option<i32>,
        offset: Option<i32>,
        order: Option<SortOrder>,
        role: Option<Role>,
    ) -> Result<MessagePage> {
        let query = MessageQuery {
            conversation_id: self.0.id,
            filter: MessageFilter {
                role: role.map(Into::into),
            },
            order: order.map_or(defaults::MESSAGES_ORDER, Into::into),
            page: super::page_request(limit, offset, defaults::MESSAGES_LIMIT)?,
        };
        let loader = ctx.data_unchecked::<DataLoader<StoreLoader>>();
        let page = loader.load_one(query).await?;
        // The conversation was deleted while this query ran: it has no messages left.
        Ok(MessagePage::from(page.unwrap_or(Page {
            items: Vec::new(),
            total: 0,
            limit: query.page.limit,
            offset: query.page.offset,
        })))
    }
}

/// One message of a conversation.
pub struct Message(pub domain::Message);

#[Object]
impl Message {
    async fn id(&self) -> ID {
        super::scalars::id(self.0.id)
    }
    async fn conversation_id(&self) -> ID {
        super::scalars::id(self.0.conversation_id)
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    async fn content(&self) -> &str {
        &self.0.content
    }
    async fn metadata(&self) -> Json<&Metadata> {
        Json(&self.0.metadata)
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// The conversation this message belongs to; batched across a page of messages.
    async fn conversation(&self, ctx: &Context<'_>) -> Result<Option<Conversation>> {
        let loader = ctx.data_unchecked::<DataLoader<StoreLoader>>();
        Ok(loader
            .load_one(self.0.conversation_id)
            .await?
            .map(Conversation))
    }
}

/// Declares a page type over a domain page with the list under `$field`.
macro_rules! page_type {
    ($(#[$doc:meta])* $name:ident, $field:ident, $item:ident) => {
        $(#[$doc])*
        #[derive(SimpleObject)]
        pub struct $name {
            $field: Vec<$item>,
            total: u64,
            limit: u64,
            offset: u64,
            has_more: bool,
        }

        impl From<Page<domain::$item>> for $name {
            fn from(page: Page<domain::$item>) -> Self {
                let has_more = page.has_more();
                Self {
                    total: page.total,
                    limit: page.limit,
                    offset: page.offset,
                    has_more,
                    $field: page.items.into_iter().map($item).collect(),
                }
            }
        }
    };
}

page_type!(
    /// A page of chat sessions.
    ChatPage, chats, Chat
);
page_type!(
    /// A page of conversations.
    ConversationPage, conversations, Conversation
);
page_type!(
    /// A page of messages.
    MessagePage, messages, Message
);

/// What `sendMessage` stored: the user's message and the assistant's reply.
#[derive(SimpleObject)]
pub struct SendMessagePayload {
    pub user_message: Message,
    pub assistant_message: Message,
}

/// A change to a chat session, as `chatChanged` delivers it.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ChatEvent {
    pub kind: ChatEventKind,
    #[graphql(skip)]
    pub chat: domain::Chat,
}

#[ComplexObject]
impl ChatEvent {
    /// The chat after the change; for `DELETED`, as it was.
    async fn chat(&self) -> Chat {
        Chat(self.chat.clone())
    }
}

/// One item of `assistantReply`: a piece of a reply being written, or the end of that reply.
///
/// Pieces of one reply share `messageId`, the id the stored reply has; appended in order they
/// make exactly its stored `content`. The last item of a reply has `done: true` and either
/// `message` (the stored reply, also delivered by `messageAdded`) or `error` (nothing was
/// stored: drop what was shown).
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AssistantReplyEvent {
    pub conversation_id: ID,
    pub message_id: ID,
    /// Text to append to the reply so far; empty on the last item.
    pub delta: String,
    pub done: bool,
    /// Why the reply failed (on its last item only).
    pub error: Option<AssistantReplyError>,
    #[graphql(skip)]
    pub message: Option<domain::Message>,
}

#[ComplexObject]
impl AssistantReplyEvent {
    /// The stored reply, on the last item of a reply that succeeded.
    async fn message(&self) -> Option<Message> {
        self.message.clone().map(Message)
    }
}

/// Why a reply could not be written; `code` is an error code such as `ASSISTANT_UNAVAILABLE`.
#[derive(SimpleObject)]
pub struct AssistantReplyError {
    pub code: String,
    pub message: String,
}
