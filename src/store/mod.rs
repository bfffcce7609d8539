//! The storage boundary: one async trait that every backend implements.
//!
//! A backend owns ids, timestamps, a message's position in its conversation and a chat's
//! version. It is also the only source of live events: every change it commits goes, in commit
//! order, into its change feed ([`Store::feed`]), whoever made it. Writes return the plain
//! record; nobody publishes after the fact, so a request cancelled after a commit can never
//! lose or hold back an event.

#[cfg(test)]
mod conformance;
mod memory;
mod postgres;

use async_trait::async_trait;
use uuid::Uuid;

use crate::domain::{
    Chat, ChatFilter, ChatPatch, Conversation, Message, MessageFilter, NewChat, NewConversation,
    NewMessage, Page, PageRequest, Position, SortOrder,
};
use crate::error::AppResult;
use crate::events::{ChangeFeed, Transient};

pub use memory::MemoryStore;
#[doc(hidden)]
pub use postgres::scratch;
pub use postgres::{ConnectError, PostgresSettings, PostgresStore};

/// The outcome of an update: a no-op moves no version and no timestamp, and is not an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Updated<T> {
    Changed(T),
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
///
/// Every write that changes something sends one [`crate::events::Change`] into the feed, in
/// commit order, and only once it is committed: `ChatCreated`/`ChatUpdated`/`ChatDeleted` with
/// the chat at its new version, `ConversationCreated`, `ConversationDeleted`, `MessageAdded`
/// with its position. A conversation's `message_count` is the position of its last message.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a chat at version 1.
    async fn create_chat(&self, new: NewChat) -> AppResult<Chat>;
    async fn get_chat(&self, id: Uuid) -> AppResult<Option<Chat>>;
    /// Applies `patch`; one that changes a value moves the version by one.
    async fn update_chat(&self, id: Uuid, patch: ChatPatch) -> AppResult<Updated<Chat>>;
    /// Flips `active`, moving the version by one.
    async fn toggle_chat(&self, id: Uuid) -> AppResult<Chat>;
    /// Removes the chat and returns it as it was, its version moved by one for the deletion.
    async fn delete_chat(&self, id: Uuid) -> AppResult<Chat>;
    /// Chats matching `filter` in creation order (or its reverse).
    async fn list_chats(
        &self,
        filter: &ChatFilter,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Chat>>;

    async fn create_conversation(&self, new: NewConversation) -> AppResult<Conversation>;
    /// The conversations among `ids` that exist, in no particular order (batched loads).
    async fn get_conversations(&self, ids: &[Uuid]) -> AppResult<Vec<Conversation>>;
    /// Removes the conversation with all its messages and returns it as it was.
    async fn delete_conversation(&self, id: Uuid) -> AppResult<Conversation>;
    /// One user's conversations by creation time.
    async fn list_conversations(
        &self,
        user_id: &str,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Conversation>>;

    /// Appends a message at the conversation's next position and moves its `updatedAt`.
    async fn append_message(&self, conversation_id: Uuid, new: NewMessage) -> AppResult<Message>;
    async fn get_message(&self, id: Uuid) -> AppResult<Option<Message>>;
    /// Pages of several conversations' messages at once; a query for a conversation that does
    /// not exist gets `None`.
    async fn list_messages(
        &self,
        queries: &[MessageQuery],
    ) -> AppResult<Vec<Option<Page<Message>>>>;
    /// At most `limit` of a conversation's messages after position `after`, by position (what
    /// a resuming subscriber missed); `None` when the conversation does not exist.
    async fn messages_after(
        &self,
        conversation_id: Uuid,
        after: Position,
        limit: u64,
    ) -> AppResult<Option<Vec<Message>>>;

    /// Where this store's committed changes can be listened to, by topic.
    fn feed(&self) -> ChangeFeed;
    /// Carries an event that is never stored to every subscriber of its topic (on every
    /// instance sharing the backend), ordered with the changes committed around it.
    async fn announce(&self, event: Transient) -> AppResult<()>;

    /// A real round trip to the backend, for `/health/db`.
    async fn ping(&self) -> AppResult<()>;
}

impl<T> Updated<T> {
    /// The record after the update, changed or not.
    pub fn into_value(self) -> T {
        match self {
            Updated::Changed(value) | Updated::Unchanged(value) => value,
        }
    }
}
