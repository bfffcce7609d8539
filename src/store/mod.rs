//! The storage boundary: one async trait that every backend implements.
//!
//! A backend owns ids, timestamps and the order of changes: each write that changes something
//! returns the sequence number it took in the store's total order of changes, which the service
//! hands to the event hub so live subscribers see changes exactly in stored order.

mod memory;
mod postgres;

use async_trait::async_trait;
use uuid::Uuid;

use crate::domain::{
    Chat, ChatFilter, ChatPatch, Conversation, Message, MessageFilter, NewChat, NewConversation,
    NewMessage, Page, PageRequest, SortOrder,
};
use crate::error::AppResult;

pub use memory::MemoryStore;
pub use postgres::{ConnectError, PostgresSettings, PostgresStore};

/// A change's position in the store's total order of changes, starting at 1, without gaps.
pub type Seq = u64;

/// A written value with the sequence number its change took.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamped<T> {
    pub seq: Seq,
    pub value: T,
}

/// The outcome of an update: a no-op takes no sequence number and moves no timestamp.
#[derive(Debug, Clone, PartialEq)]
pub enum Updated<T> {
    Changed(Stamped<T>),
    Unchanged(T),
}

/// One page of one conversation's messages; also the key of the batched message loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageQuery {
    pub conversation_id: Uuid,
    pub filter: MessageFilter,
    pub order: SortOrder,
    pub page: PageRequest,
}

/// Persistence for chats, conversations and messages. Every method is atomic: a concurrent
/// reader sees a change entirely or not at all. Unknown ids give `NOT_FOUND` on writes and
/// `None` (or a missing entry) on reads.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn create_chat(&self, new: NewChat) -> AppResult<Stamped<Chat>>;
    async fn get_chat(&self, id: Uuid) -> AppResult<Option<Chat>>;
    async fn update_chat(&self, id: Uuid, patch: ChatPatch) -> AppResult<Updated<Chat>>;
    async fn toggle_chat(&self, id: Uuid) -> AppResult<Stamped<Chat>>;
    /// Removes the chat and returns it as it was.
    async fn delete_chat(&self, id: Uuid) -> AppResult<Stamped<Chat>>;
    /// Chats matching `filter` in creation order (or its reverse).
    async fn list_chats(
        &self,
        filter: &ChatFilter,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Chat>>;

    async fn create_conversation(&self, new: NewConversation) -> AppResult<Stamped<Conversation>>;
    /// The conversations among `ids` that exist, in no particular order (batched loads).
    async fn get_conversations(&self, ids: &[Uuid]) -> AppResult<Vec<Conversation>>;
    /// Removes the conversation with all its messages and returns it as it was.
    async fn delete_conversation(&self, id: Uuid) -> AppResult<Stamped<Conversation>>;
    /// One user's conversations by creation time.
    async fn list_conversations(
        &self,
        user_id: &str,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Conversation>>;

    /// Appends a message and moves the conversation's `updatedAt`.
    async fn append_message(
        &self,
        conversation_id: Uuid,
        new: NewMessage,
    ) -> AppResult<Stamped<Message>>;
    async fn get_message(&self, id: Uuid) -> AppResult<Option<Message>>;
    /// Pages of several conversations' messages at once; a query for a conversation that does
    /// not exist gets `None`.
    async fn list_messages(
        &self,
        queries: &[MessageQuery],
    ) -> AppResult<Vec<Option<Page<Message>>>>;

    /// A real round trip to the backend, for `/health/db`.
    async fn ping(&self) -> AppResult<()>;
}

impl<T> Stamped<T> {
    pub fn new(seq: Seq, value: T) -> Self {
        Self { seq, value }
    }
}

impl<T> Updated<T> {
    /// The record after the update, changed or not.
    pub fn into_value(self) -> T {
        match self {
            Updated::Changed(stamped) => stamped.value,
            Updated::Unchanged(value) => value,
        }
    }
}
