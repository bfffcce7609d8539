//! The PostgreSQL store: records that survive restarts, shared by every instance on one database.
//!
//! Each operation is one statement where it can be (its own transaction), or one explicit
//! transaction where it must read before it writes (a chat update applies the domain's patch
//! rules to the row it locked). Totals come from counters kept by triggers in the writing
//! transaction, never from counting rows; every list query has an index in its order. Ids and
//! times are chosen here, like the memory store does: UUID v4, the injected clock, never a
//! moment before this instance's previous write.
//!
//! [`connect`](PostgresStore::connect) applies the embedded migrations under PostgreSQL's
//! advisory lock (so instances starting together take turns). Database failures map to
//! `SERVICE_UNAVAILABLE` ([`errors`]); every operation is bounded by
//! [`PostgresSettings::operation_timeout`], so none outlives the request that waits for it.

mod chats;
mod connect;
mod conversations;
mod errors;
mod messages;
mod paging;
mod rows;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use uuid::Uuid;

use super::{MessageQuery, Seq, Stamped, Store, Updated};
use crate::domain::{
    Chat, ChatFilter, ChatPatch, Clock, Conversation, Message, NewChat, NewConversation,
    NewMessage, Page, PageRequest, SortOrder, Timestamp,
};
use crate::error::AppResult;

pub use connect::{ConnectError, PostgresSettings};

/// A store over a PostgreSQL connection pool; cheap to share behind an `Arc`.
pub struct PostgresStore {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    settings: PostgresSettings,
    /// The latest instant this instance stamped a write with (milliseconds).
    last_now: AtomicI64,
    /// This process's numbering of the changes it made, for the in-process event hub.
    last_seq: AtomicU64,
}

impl PostgresStore {
    fn from_pool(pool: PgPool, clock: Arc<dyn Clock>, settings: PostgresSettings) -> Self {
        Self {
            pool,
            clock,
            settings,
            last_now: AtomicI64::new(i64::MIN),
            last_seq: AtomicU64::new(0),
        }
    }

    /// The connection pool (tests and benchmarks use it to look at the database directly).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// "Now" for a write: the clock, but never before this instance's previous write, so one
    /// instance's records keep `createdAt` in the order it stored them even if the wall clock
    /// steps back.
    fn now(&self) -> Timestamp {
        let now = self.clock.now().millis();
        let previous = self.last_now.fetch_max(now, Ordering::Relaxed);
        Timestamp::from_millis(now.max(previous))
    }

    /// Stamps a committed change with this process's next sequence number. Called as the last
    /// step of a write, with no `.await` after it, so the service publishes every number.
    fn stamp<T>(&self, value: T) -> Stamped<T> {
        let seq: Seq = self.last_seq.fetch_add(1, Ordering::SeqCst) + 1;
        Stamped::new(seq, value)
    }

    /// Runs one store operation within the operation timeout; a database that does not answer
    /// in time is `SERVICE_UNAVAILABLE`.
    async fn bounded<T>(&self, operation: impl Future<Output = AppResult<T>>) -> AppResult<T> {
        match tokio::time::timeout(self.settings.operation_timeout, operation).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(
                    timeout_ms = duration_millis(self.settings.operation_timeout),
                    "a database operation timed out"
                );
                Err(errors::unavailable())
            }
        }
    }
}

fn duration_millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_chat(&self, new: NewChat) -> AppResult<Stamped<Chat>> {
        let chat = self.bounded(self.insert_chat(new)).await?;
        Ok(self.stamp(chat))
    }

    async fn get_chat(&self, id: Uuid) -> AppResult<Option<Chat>> {
        self.bounded(self.select_chat(id)).await
    }

    async fn update_chat(&self, id: Uuid, patch: ChatPatch) -> AppResult<Updated<Chat>> {
        Ok(match self.bounded(self.patch_chat(id, &patch)).await? {
            (chat, true) => Updated::Changed(self.stamp(chat)),
            (chat, false) => Updated::Unchanged(chat),
        })
    }

    async fn toggle_chat(&self, id: Uuid) -> AppResult<Stamped<Chat>> {
        let chat = self.bounded(self.flip_chat(id)).await?;
        Ok(self.stamp(chat))
    }

    async fn delete_chat(&self, id: Uuid) -> AppResult<Stamped<Chat>> {
        let chat = self.bounded(self.remove_chat(id)).await?;
        Ok(self.stamp(chat))
    }

    async fn list_chats(
        &self,
        filter: &ChatFilter,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Chat>> {
        self.bounded(self.chat_page(filter, order, page)).await
    }

    async fn create_conversation(&self, new: NewConversation) -> AppResult<Stamped<Conversation>> {
        let conversation = self.bounded(self.insert_conversation(new)).await?;
        Ok(self.stamp(conversation))
    }

    async fn get_conversations(&self, ids: &[Uuid]) -> AppResult<Vec<Conversation>> {
        self.bounded(self.select_conversations(ids)).await
    }

    async fn delete_conversation(&self, id: Uuid) -> AppResult<Stamped<Conversation>> {
        let conversation = self.bounded(self.remove_conversation(id)).await?;
        Ok(self.stamp(conversation))
    }

    async fn list_conversations(
        &self,
        user_id: &str,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Conversation>> {
        self.bounded(self.conversation_page(user_id, order, page))
            .await
    }

    async fn append_message(
        &self,
        conversation_id: Uuid,
        new: NewMessage,
    ) -> AppResult<Stamped<Message>> {
        let message = self
            .bounded(self.insert_message(conversation_id, new))
            .await?;
        Ok(self.stamp(message))
    }

    async fn get_message(&self, id: Uuid) -> AppResult<Option<Message>> {
        self.bounded(self.select_message(id)).await
    }

    async fn list_messages(
        &self,
        queries: &[MessageQuery],
    ) -> AppResult<Vec<Option<Page<Message>>>> {
        self.bounded(self.message_pages(queries)).await
    }

    async fn ping(&self) -> AppResult<()> {
        self.bounded(async {
            sqlx::query("SELECT 1")
                .execute(&self.pool)
                .await
                .map_err(errors::db_error)?;
            Ok(())
        })
        .await
    }
}
