//! Store operation latency, measured in one place: a [`Store`] that times every call of the
//! store it wraps, whichever backend that is.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::time::Instant;
use uuid::Uuid;

use super::Metrics;
use crate::domain::{
    Chat, ChatFilter, ChatPatch, Conversation, Message, NewChat, NewConversation, NewMessage, Page,
    PageRequest, Position, SortOrder,
};
use crate::error::AppResult;
use crate::events::{ChangeFeed, Transient};
use crate::store::{MessageQuery, Store, Updated};

/// Times each operation of the store inside, by operation name and outcome.
pub struct MeasuredStore {
    inner: Arc<dyn Store>,
    metrics: Metrics,
}

impl MeasuredStore {
    /// `inner`, timed into `metrics`; `inner` itself when metrics are off.
    pub fn wrap(inner: Arc<dyn Store>, metrics: &Metrics) -> Arc<dyn Store> {
        if !metrics.is_on() {
            return inner;
        }
        Arc::new(Self {
            inner,
            metrics: metrics.clone(),
        })
    }

    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = AppResult<T>>,
    ) -> AppResult<T> {
        let started = Instant::now();
        let result = call.await;
        self.metrics
            .store_operation(operation, result.is_ok(), started.elapsed());
        result
    }
}

#[async_trait]
impl Store for MeasuredStore {
    async fn create_chat(&self, new: NewChat) -> AppResult<Chat> {
        self.timed("create_chat", self.inner.create_chat(new)).await
    }

    async fn get_chat(&self, id: Uuid) -> AppResult<Option<Chat>> {
        self.timed("get_chat", self.inner.get_chat(id)).await
    }

    async fn update_chat(&self, id: Uuid, patch: ChatPatch) -> AppResult<Updated<Chat>> {
        self.timed("update_chat", self.inner.update_chat(id, patch))
            .await
    }

    async fn toggle_chat(&self, id: Uuid) -> AppResult<Chat> {
        self.timed("toggle_chat", self.inner.toggle_chat(id)).await
    }

    async fn delete_chat(&self, id: Uuid) -> AppResult<Chat> {
        self.timed("delete_chat", self.inner.delete_chat(id)).await
    }

    async fn list_chats(
        &self,
        filter: &ChatFilter,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Chat>> {
        self.timed("list_chats", self.inner.list_chats(filter, order, page))
            .await
    }

    async fn create_conversation(&self, new: NewConversation) -> AppResult<Conversation> {
        self.timed("create_conversation", self.inner.create_conversation(new))
            .await
    }

    async fn get_conversations(&self, ids: &[Uuid]) -> AppResult<Vec<Conversation>> {
        self.timed("get_conversations", self.inner.get_conversations(ids))
            .await
    }

    async fn delete_conversation(&self, id: Uuid) -> AppResult<Conversation> {
        self.timed("delete_conversation", self.inner.delete_conversation(id))
            .await
    }

    async fn list_conversations(
        &self,
        user_id: &str,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Conversation>> {
        let call = self.inner.list_conversations(user_id, order, page);
        self.timed("list_conversations", call).await
    }

    async fn append_message(&self, conversation_id: Uuid, new: NewMessage) -> AppResult<Message> {
        let call = self.inner.append_message(conversation_id, new);
        self.timed("append_message", call).await
    }

    async fn get_message(&self, id: Uuid) -> AppResult<Option<Message>> {
        self.timed("get_message", self.inner.get_message(id)).await
    }

    async fn list_messages(
        &self,
        queries: &[MessageQuery],
    ) -> AppResult<Vec<Option<Page<Message>>>> {
        self.timed("list_messages", self.inner.list_messages(queries))
            .await
    }

    async fn messages_after(
        &self,
        conversation_id: Uuid,
        after: Position,
        limit: u64,
    ) -> AppResult<Option<Vec<Message>>> {
        let call = self.inner.messages_after(conversation_id, after, limit);
        self.timed("messages_after", call).await
    }

    fn feed(&self) -> ChangeFeed {
        self.inner.feed()
    }

    async fn announce(&self, event: Transient) -> AppResult<()> {
        self.timed("announce", self.inner.announce(event)).await
    }

    async fn ping(&self) -> AppResult<()> {
        self.timed("ping", self.inner.ping()).await
    }
}
