//! The in-memory store: every record in process memory behind one lock.
//!
//! Each operation takes the lock once and finishes under it, so it is atomic and never holds a
//! guard across `.await`. Creation order is a per-store counter; the secondary indexes are
//! B-tree maps keyed by it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::RwLock;
use uuid::Uuid;

use super::{MessageQuery, Seq, Stamped, Store, Updated};
use crate::domain::{
    Chat, ChatFilter, ChatPatch, Clock, Conversation, Message, NewChat, NewConversation,
    NewMessage, Page, PageRequest, SortOrder, Timestamp,
};
use crate::error::{AppError, AppResult};

/// Thread-safe store that lives as long as the process.
pub struct MemoryStore {
    inner: RwLock<Inner>,
    clock: Arc<dyn Clock>,
}

#[derive(Default)]
struct Inner {
    /// The latest instant a write was stamped with.
    last_now: Option<Timestamp>,
    last_seq: Seq,
    next_rank: u64,
    chats: HashMap<Uuid, (u64, Chat)>,
    chat_order: BTreeMap<u64, Uuid>,
    conversations: HashMap<Uuid, ConversationEntry>,
    conversations_by_user: HashMap<String, BTreeMap<u64, Uuid>>,
    messages: HashMap<Uuid, Message>,
}

struct ConversationEntry {
    rank: u64,
    conversation: Conversation,
    /// Message ids in stored order.
    messages: Vec<Uuid>,
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

    fn next_seq(&mut self) -> Seq {
        self.last_seq += 1;
        self.last_seq
    }

    fn next_rank(&mut self) -> u64 {
        self.next_rank += 1;
        self.next_rank
    }

    fn chat_mut(&mut self, id: Uuid) -> AppResult<&mut Chat> {
        self.chats
            .get_mut(&id)
            .map(|(_, chat)| chat)
            .ok_or_else(|| AppError::not_found("chat"))
    }
}

impl MemoryStore {
    /// An empty store stamping times from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: RwLock::new(Inner::default()),
            clock,
        }
    }
}

/// Takes one page out of ids in ascending order.
fn page_of<'a, T>(
    ids: impl DoubleEndedIterator<Item = &'a Uuid> + ExactSizeIterator,
    order: SortOrder,
    page: PageRequest,
    load: impl Fn(&Uuid) -> T,
) -> Page<T> {
    let total = ids.len() as u64;
    let skip = usize::try_from(page.offset).unwrap_or(usize::MAX);
    let take = page.limit as usize;
    let items = match order {
        SortOrder::Asc => ids.skip(skip).take(take).map(load).collect(),
        SortOrder::Desc => ids.rev().skip(skip).take(take).map(load).collect(),
    };
    Page {
        items,
        total,
        limit: page.limit,
        offset: page.offset,
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create_chat(&self, new: NewChat) -> AppResult<Stamped<Chat>> {
        let mut inner = self.inner.write();
        let now = inner.now(self.clock.as_ref());
        let chat = Chat {
            id: Uuid::new_v4(),
            title: new.title.into_inner(),
            description: new.description.map(|d| d.into_inner()),
            active: new.active,
            priority: new.priority,
            user_id: new.user_id.map(|u| u.into_inner()),
            created_at: now,
            updated_at: now,
        };
        let rank = inner.next_rank();
        inner.chat_order.insert(rank, chat.id);
        inner.chats.insert(chat.id, (rank, chat.clone()));
        Ok(Stamped::new(inner.next_seq(), chat))
    }

    async fn get_chat(&self, id: Uuid) -> AppResult<Option<Chat>> {
        Ok(self.inner.read().chats.get(&id).map(|(_, c)| c.clone()))
    }

    async fn update_chat(&self, id: Uuid, patch: ChatPatch) -> AppResult<Updated<Chat>> {
        let mut inner = self.inner.write();
        let now = inner.now(self.clock.as_ref());
        let chat = inner.chat_mut(id)?;
        let Some(next) = patch.apply(chat, now) else {
            return Ok(Updated::Unchanged(chat.clone()));
        };
        *chat = next.clone();
        Ok(Updated::Changed(Stamped::new(inner.next_seq(), next)))
    }

    async fn toggle_chat(&self, id: Uuid) -> AppResult<Stamped<Chat>> {
        let mut inner = self.inner.write();
        let now = inner.now(self.clock.as_ref());
        let chat = inner.chat_mut(id)?;
        chat.active = !chat.active;
        chat.updated_at = Timestamp::next_after(chat.updated_at, now);
        let chat = chat.clone();
        Ok(Stamped::new(inner.next_seq(), chat))
    }

    async fn delete_chat(&self, id: Uuid) -> AppResult<Stamped<Chat>> {
        let mut inner = self.inner.write();
        let (rank, chat) = inner
            .chats
            .remove(&id)
            .ok_or_else(|| AppError::not_found("chat"))?;
        inner.chat_order.remove(&rank);
        Ok(Stamped::new(inner.next_seq(), chat))
    }

    async fn list_chats(
        &self,
        filter: &ChatFilter,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Chat>> {
        let inner = self.inner.read();
        let matching: Vec<&Uuid> = inner
            .chat_order
            .values()
            .filter(|id| filter.matches(&inner.chats[*id].1))
            .collect();
        Ok(page_of(matching.into_iter(), order, page, |id| {
            inner.chats[id].1.clone()
        }))
    }

    async fn create_conversation(&self, new: NewConversation) -> AppResult<Stamped<Conversation>> {
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
        inner
            .conversations_by_user
            .entry(conversation.user_id.clone())
            .or_default()
            .insert(rank, conversation.id);
        inner.conversations.insert(
            conversation.id,
            ConversationEntry {
                rank,
                conversation: conversation.clone(),
                messages: Vec::new(),
            },
        );
        Ok(Stamped::new(inner.next_seq(), conversation))
    }

    async fn get_conversations(&self, ids: &[Uuid]) -> AppResult<Vec<Conversation>> {
        let inner = self.inner.read();
        Ok(ids
            .iter()
            .filter_map(|id| inner.conversations.get(id))
            .map(|entry| entry.conversation.clone())
            .collect())
    }

    async fn delete_conversation(&self, id: Uuid) -> AppResult<Stamped<Conversation>> {
        let mut inner = self.inner.write();
        let entry = inner
            .conversations
            .remove(&id)
            .ok_or_else(|| AppError::not_found("conversation"))?;
        let user_id = &entry.conversation.user_id;
        if let Some(by_user) = inner.conversations_by_user.get_mut(user_id) {
            by_user.remove(&entry.rank);
            if by_user.is_empty() {
                inner.conversations_by_user.remove(user_id);
            }
        }
        for message_id in &entry.messages {
            inner.messages.remove(message_id);
        }
        Ok(Stamped::new(inner.next_seq(), entry.conversation))
    }

    async fn list_conversations(
        &self,
        user_id: &str,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Conversation>> {
        let inner = self.inner.read();
        let load = |id: &Uuid| inner.conversations[id].conversation.clone();
        Ok(match inner.conversations_by_user.get(user_id) {
            Some(ids) => page_of(ids.values(), order, page, load),
            None => page_of([].iter(), order, page, load),
        })
    }

    async fn append_message(
        &self,
        conversation_id: Uuid,
        new: NewMessage,
    ) -> AppResult<Stamped<Message>> {
        let mut inner = self.inner.write();
        let now = inner.now(self.clock.as_ref());
        let entry = inner
            .conversations
            .get_mut(&conversation_id)
            .ok_or_else(|| AppError::not_found("conversation"))?;
        let message = Message {
            id: Uuid::new_v4(),
            conversation_id,
            role: new.role,
            content: new.content.into_inner(),
            metadata: new.metadata,
            created_at: now,
        };
        entry.messages.push(message.id);
        let conversation = &mut entry.conversation;
        conversation.message_count += 1;
        conversation.updated_at = Timestamp::next_after(conversation.updated_at, now);
        inner.messages.insert(message.id, message.clone());
        Ok(Stamped::new(inner.next_seq(), message))
    }

    async fn get_message(&self, id: Uuid) -> AppResult<Option<Message>> {
        Ok(self.inner.read().messages.get(&id).cloned())
    }

    async fn list_messages(
        &self,
        queries: &[MessageQuery],
    ) -> AppResult<Vec<Option<Page<Message>>>> {
        let inner = self.inner.read();
        let load = |id: &Uuid| inner.messages[id].clone();
        Ok(queries
            .iter()
            .map(|query| {
                let entry = inner.conversations.get(&query.conversation_id)?;
                Some(match query.filter.role {
                    None => page_of(entry.messages.iter(), query.order, query.page, load),
                    Some(role) => {
                        let ids: Vec<&Uuid> = entry
                            .messages
                            .iter()
                            .filter(|id| inner.messages[*id].role == role)
                            .collect();
                        page_of(ids.into_iter(), query.order, query.page, |id| load(id))
                    }
                })
            })
            .collect())
    }

    async fn ping(&self) -> AppResult<()> {
        drop(self.inner.read());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChatFields, Field, ManualClock};

    fn new_chat() -> NewChat {
        NewChat::parse(ChatFields {
            title: Field::Value("t".into()),
            ..Default::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn stamps_never_go_back_in_stored_order_when_the_clock_does() {
        let start = Timestamp::from_millis(1_000_000);
        let clock = Arc::new(ManualClock::new(start));
        let store = MemoryStore::new(clock.clone());
        let first = store.create_chat(new_chat()).await.unwrap().value;
        clock.set(Timestamp::from_millis(999_000));
        let second = store.create_chat(new_chat()).await.unwrap().value;
        assert_eq!((first.created_at, second.created_at), (start, start));
        clock.set(Timestamp::from_millis(1_000_005));
        let third = store.create_chat(new_chat()).await.unwrap().value;
        assert_eq!(third.created_at, Timestamp::from_millis(1_000_005));
    }
}
