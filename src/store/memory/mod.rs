//! The in-memory store: every record in process memory behind one lock, with counted indexes
//! so that every list answers `total`, `hasMore` and any offset in O(log n).
//!
//! Each operation takes the lock once and finishes under it, so it is atomic, and never holds a
//! guard across `.await`. Each write sends its change into the store's feed under that same
//! lock, so every topic sees changes in commit order. Creation order is a per-store rank
//! counter; [`chats`] and [`conversations`] keep the records and their indexes, built on the
//! [`counted`] B-tree.
//! Record ids are looked up in sharded hash maps ([`ids`]), user ids in B-tree maps: neither
//! grows by rehashing a whole table at once under the write lock.

mod chats;
mod chunked;
mod conversations;
mod counted;
mod ids;

use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::RwLock;
use uuid::Uuid;

use super::{MessageQuery, Store, Updated};
use crate::domain::{
    Chat, ChatFilter, ChatPatch, Clock, Conversation, Message, NewChat, NewConversation,
    NewMessage, Page, PageRequest, Position, SortOrder, Timestamp,
};
use crate::error::{AppError, AppResult};
use crate::events::{Change, ChangeFeed, ChangeSink, Transient, change_feed};
use chats::ChatTable;
use conversations::ConversationTable;
use counted::Counted;

/// Thread-safe store that lives as long as the process.
pub struct MemoryStore {
    inner: RwLock<Inner>,
    clock: Arc<dyn Clock>,
    /// Fed while the write lock is held, so the feed's order is the store's.
    sink: ChangeSink,
    feed: ChangeFeed,
}

#[derive(Default)]
struct Inner {
    /// The latest instant a write was stamped with.
    last_now: Option<Timestamp>,
    last_rank: u64,
    chats: ChatTable,
    conversations: ConversationTable,
}

impl Inner {
    /// "Now" for a write, read under the write lock and never before an earlier write's, so
    /// stored order and `createdAt` order agree even when writers race (a clock read before
    /// taking the lock can lose the race to a later reading) or the wall clock steps back.
    fn now(&mut self, clock: &dyn Clock) -> Timestamp {
        let now = clock.now();
        let now = self.last_now.map_or(now, |last| now.max(last));
        self.last_now = Some(now);
        now
    }

    fn next_rank(&mut self) -> u64 {
        self.last_rank += 1;
        self.last_rank
    }

    fn chat(&self, id: Uuid) -> AppResult<&Chat> {
        self.chats
            .get(id)
            .ok_or_else(|| AppError::not_found("chat"))
    }

    /// Stores a changed chat one version on.
    fn replace_chat(&mut self, mut next: Chat) -> Chat {
        next.version += 1;
        let replaced = self.chats.replace(next.clone());
        debug_assert!(replaced, "the chat was read under the same guard");
        next
    }
}

/// An index entry naming a record by its creation rank, with its category packed in the low
/// bits: eight bytes per entry in the per-user indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RankRef(u64);

impl RankRef {
    const CATEGORY_BITS: u32 = 4;

    fn new(rank: u64, category: usize) -> Self {
        debug_assert!(category < 1 << Self::CATEGORY_BITS && rank < 1 << 60);
        Self(rank << Self::CATEGORY_BITS | category as u64)
    }

    fn rank(self) -> u64 {
        self.0 >> Self::CATEGORY_BITS
    }
}

impl Counted for RankRef {
    fn key(&self) -> u64 {
        self.rank()
    }

    fn category(&self) -> usize {
        (self.0 & ((1 << Self::CATEGORY_BITS) - 1)) as usize
    }
}

/// A page request as the number of matches to skip and the most to return.
fn page_bounds(page: PageRequest) -> (u64, usize) {
    (
        page.offset,
        usize::try_from(page.limit).unwrap_or(usize::MAX),
    )
}

impl MemoryStore {
    /// An empty store stamping times from `clock`, with a feed of its own.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let (sink, feed) = change_feed();
        Self::with_feed(clock, sink, feed)
    }

    /// An empty store that sends its changes into `sink` and hands out `feed` (a connected
    /// pair from [`change_feed`]); whoever keeps a clone of the sink can add to the feed, as a
    /// test standing in for a backend's notifications does.
    pub fn with_feed(clock: Arc<dyn Clock>, sink: ChangeSink, feed: ChangeFeed) -> Self {
        Self {
            inner: RwLock::new(Inner::default()),
            clock,
            sink,
            feed,
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create_chat(&self, new: NewChat) -> AppResult<Chat> {
        let mut inner = self.inner.write();
        let now = inner.now(self.clock.as_ref());
        let chat = Chat {
            id: Uuid::new_v4(),
            version: 1,
            title: new.title.into_inner(),
            description: new.description.map(|d| d.into_inner()),
            active: new.active,
            priority: new.priority,
            user_id: new.user_id.map(|u| u.into_inner()),
            created_at: now,
            updated_at: now,
        };
        let rank = inner.next_rank();
        inner.chats.insert(rank, chat.clone());
        self.sink.send(Change::ChatCreated(chat.clone()));
        Ok(chat)
    }

    async fn get_chat(&self, id: Uuid) -> AppResult<Option<Chat>> {
        Ok(self.inner.read().chats.get(id).cloned())
    }

    async fn update_chat(&self, id: Uuid, patch: ChatPatch) -> AppResult<Updated<Chat>> {
        let mut inner = self.inner.write();
        let now = inner.now(self.clock.as_ref());
        let chat = inner.chat(id)?;
        let Some(next) = patch.apply(chat, now) else {
            return Ok(Updated::Unchanged(chat.clone()));
        };
        let chat = inner.replace_chat(next);
        self.sink.send(Change::ChatUpdated(chat.clone()));
        Ok(Updated::Changed(chat))
    }

    async fn toggle_chat(&self, id: Uuid) -> AppResult<Chat> {
        let mut inner = self.inner.write();
        let now = inner.now(self.clock.as_ref());
        let mut next = inner.chat(id)?.clone();
        next.active = !next.active;
        next.updated_at = Timestamp::next_after(next.updated_at, now);
        let chat = inner.replace_chat(next);
        self.sink.send(Change::ChatUpdated(chat.clone()));
        Ok(chat)
    }

    async fn delete_chat(&self, id: Uuid) -> AppResult<Chat> {
        let mut inner = self.inner.write();
        let mut chat = inner
            .chats
            .remove(id)
            .ok_or_else(|| AppError::not_found("chat"))?;
        chat.version += 1;
        self.sink.send(Change::ChatDeleted(chat.clone()));
        Ok(chat)
    }

    async fn list_chats(
        &self,
        filter: &ChatFilter,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Chat>> {
        Ok(self.inner.read().chats.page(filter, order, page))
    }

    async fn create_conversation(&self, new: NewConversation) -> AppResult<Conversation> {
        let mut inner = self.inner.write();
        let now = inner.now(self.clock.as_ref());
        let conversation = Conversation {
            id: Uuid::new_v4(),
            user_id: new.user_id.into_inner(),
            metadata: new.metadata,
            created_at: now,
            updated_at: now,
            message_count: 0,
        };
        let rank = inner.next_rank();
        inner.conversations.insert(rank, conversation.clone());
        self.sink
            .send(Change::ConversationCreated(conversation.clone()));
        Ok(conversation)
    }

    async fn get_conversations(&self, ids: &[Uuid]) -> AppResult<Vec<Conversation>> {
        let inner = self.inner.read();
        Ok(ids
            .iter()
            .filter_map(|id| inner.conversations.get(*id).cloned())
            .collect())
    }

    async fn delete_conversation(&self, id: Uuid) -> AppResult<Conversation> {
        let removed = {
            let mut inner = self.inner.write();
            let removed = inner
                .conversations
                .remove(id)
                .ok_or_else(|| AppError::not_found("conversation"))?;
            self.sink.send(Change::ConversationDeleted(id));
            removed
        };
        // The messages are freed here, after the guard is released.
        Ok(removed.conversation)
    }

    async fn list_conversations(
        &self,
        user_id: &str,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Conversation>> {
        Ok(self.inner.read().conversations.page(user_id, order, page))
    }

    async fn append_message(&self, conversation_id: Uuid, new: NewMessage) -> AppResult<Message> {
        let mut inner = self.inner.write();
        let now = inner.now(self.clock.as_ref());
        let message = Message {
            id: new.id,
            conversation_id,
            position: 0,
            role: new.role,
            content: new.content.into_inner(),
            metadata: new.metadata,
            created_at: now,
        };
        let message = inner
            .conversations
            .append(message, now)
            .ok_or_else(|| AppError::not_found("conversation"))?;
        self.sink.send(Change::MessageAdded(message.clone()));
        Ok(message)
    }

    async fn get_message(&self, id: Uuid) -> AppResult<Option<Message>> {
        Ok(self.inner.read().conversations.message(id).cloned())
    }

    async fn list_messages(
        &self,
        queries: &[MessageQuery],
    ) -> AppResult<Vec<Option<Page<Message>>>> {
        let inner = self.inner.read();
        Ok(queries
            .iter()
            .map(|query| inner.conversations.messages_page(query))
            .collect())
    }

    async fn messages_after(
        &self,
        conversation_id: Uuid,
        after: Position,
        limit: u64,
    ) -> AppResult<Option<Vec<Message>>> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(self
            .inner
            .read()
            .conversations
            .messages_after(conversation_id, after, limit))
    }

    fn feed(&self) -> ChangeFeed {
        self.feed.clone()
    }

    async fn announce(&self, event: Transient) -> AppResult<()> {
        // Under the write lock like every change, so it lands between the writes around it.
        let _guard = self.inner.write();
        self.sink.send(event.into());
        Ok(())
    }

    async fn ping(&self) -> AppResult<()> {
        drop(self.inner.read());
        Ok(())
    }
}
