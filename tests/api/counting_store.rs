//! A `Store` decorator for tests: a real [`MemoryStore`] answers every call, and the decorator
//! counts the calls per method (to prove batching), can slip in a write of its own between
//! two steps of a request (to stand in for a concurrent writer, deterministically), and can
//! keep a write call waiting after its write committed (to show its event needs nothing more).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chatgate::domain::{
    Chat, ChatFilter, ChatPatch, Clock, Conversation, Message, NewChat, NewConversation,
    NewMessage, Page, PageRequest, SortOrder,
};
use chatgate::error::AppResult;
use chatgate::events::{ChangeFeed, Transient};
use chatgate::store::{MemoryStore, MessageQuery, Store, Updated};
use parking_lot::Mutex;
use tokio::sync::Notify;
use uuid::Uuid;

/// Delegates to a [`MemoryStore`] and counts calls by method name.
pub struct CountingStore {
    inner: MemoryStore,
    calls: Mutex<BTreeMap<&'static str, usize>>,
    /// Appended to the inner store right before the next `list_messages` call.
    interjection: Mutex<Option<(Uuid, NewMessage)>>,
    /// Where the next `append_message` waits, once the inner store committed it, until released.
    hold: Mutex<Option<Arc<HeldAfterCommit>>>,
}

/// Signals of an `append_message` held after its commit.
#[derive(Default)]
pub struct HeldAfterCommit {
    /// The write committed and the call now waits.
    pub committed: Notify,
    /// Lets the waiting call return.
    pub release: Notify,
}

impl CountingStore {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: MemoryStore::new(clock),
            calls: Mutex::default(),
            interjection: Mutex::default(),
            hold: Mutex::default(),
        }
    }

    /// The calls made since the last reset, by method name.
    pub fn calls(&self) -> BTreeMap<&'static str, usize> {
        self.calls.lock().clone()
    }

    pub fn reset(&self) {
        self.calls.lock().clear();
    }

    /// Makes the next `list_messages` call first append `message` to `conversation_id`, as if
    /// another request had stored it at that moment.
    pub fn interject_before_next_list(&self, conversation_id: Uuid, message: NewMessage) {
        *self.interjection.lock() = Some((conversation_id, message));
    }

    /// Makes the next `append_message` commit and then never return, the way a backend that
    /// awaits after its commit would be caught by a cancellation at that moment.
    pub fn hold_after_next_append(&self) -> Arc<HeldAfterCommit> {
        let hold = Arc::new(HeldAfterCommit::default());
        *self.hold.lock() = Some(hold.clone());
        hold
    }

    fn count(&self, method: &'static str) {
        *self.calls.lock().entry(method).or_default() += 1;
    }
}

#[async_trait]
impl Store for CountingStore {
    async fn create_chat(&self, new: NewChat) -> AppResult<Chat> {
        self.count("create_chat");
        self.inner.create_chat(new).await
    }

    async fn get_chat(&self, id: Uuid) -> AppResult<Option<Chat>> {
        self.count("get_chat");
        self.inner.get_chat(id).await
    }

    async fn update_chat(&self, id: Uuid, patch: ChatPatch) -> AppResult<Updated<Chat>> {
        self.count("update_chat");
        self.inner.update_chat(id, patch).await
    }

    async fn toggle_chat(&self, id: Uuid) -> AppResult<Chat> {
        self.count("toggle_chat");
        self.inner.toggle_chat(id).await
    }

    async fn delete_chat(&self, id: Uuid) -> AppResult<Chat> {
        self.count("delete_chat");
        self.inner.delete_chat(id).await
    }

    async fn list_chats(
        &self,
        filter: &ChatFilter,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Chat>> {
        self.count("list_chats");
        self.inner.list_chats(filter, order, page).await
    }

    async fn create_conversation(&self, new: NewConversation) -> AppResult<Conversation> {
        self.count("create_conversation");
        self.inner.create_conversation(new).await
    }

    async fn get_conversations(&self, ids: &[Uuid]) -> AppResult<Vec<Conversation>> {
        self.count("get_conversations");
        self.inner.get_conversations(ids).await
    }

    async fn delete_conversation(&self, id: Uuid) -> AppResult<Conversation> {
        self.count("delete_conversation");
        self.inner.delete_conversation(id).await
    }

    async fn list_conversations(
        &self,
        user_id: &str,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Conversation>> {
        self.count("list_conversations");
        self.inner.list_conversations(user_id, order, page).await
    }

    async fn append_message(&self, conversation_id: Uuid, new: NewMessage) -> AppResult<Message> {
        self.count("append_message");
        let message = self.inner.append_message(conversation_id, new).await?;
        let hold = self.hold.lock().take();
        if let Some(hold) = hold {
            hold.committed.notify_one();
            hold.release.notified().await;
        }
        Ok(message)
    }

    async fn get_message(&self, id: Uuid) -> AppResult<Option<Message>> {
        self.count("get_message");
        self.inner.get_message(id).await
    }

    async fn list_messages(
        &self,
        queries: &[MessageQuery],
    ) -> AppResult<Vec<Option<Page<Message>>>> {
        self.count("list_messages");
        let interjection = self.interjection.lock().take();
        if let Some((conversation_id, message)) = interjection {
            self.inner.append_message(conversation_id, message).await?;
        }
        self.inner.list_messages(queries).await
    }

    async fn messages_after(
        &self,
        conversation_id: Uuid,
        after: u64,
        limit: u64,
    ) -> AppResult<Option<Vec<Message>>> {
        self.count("messages_after");
        self.inner
            .messages_after(conversation_id, after, limit)
            .await
    }

    fn feed(&self) -> ChangeFeed {
        self.inner.feed()
    }

    async fn announce(&self, event: Transient) -> AppResult<()> {
        self.count("announce");
        self.inner.announce(event).await
    }

    async fn ping(&self) -> AppResult<()> {
        self.count("ping");
        self.inner.ping().await
    }
}
