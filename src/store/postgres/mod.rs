//! The PostgreSQL store: records that survive restarts, shared by every instance on one database.
//!
//! Each operation is one statement, so one round trip and its own transaction: a write that
//! must read first (a chat update judges the patch against the row it locked) does so inside
//! its statement. Totals come from counters kept by triggers in the writing transaction, never
//! from counting rows; every list query has an index in its order. Ids and
//! times are chosen here, like the memory store does: UUID v4, the injected clock, never a
//! moment before this instance's previous write.
//!
//! [`connect`](PostgresStore::connect) applies the embedded migrations under PostgreSQL's
//! advisory lock (so instances starting together take turns). Database failures map to
//! `SERVICE_UNAVAILABLE` ([`errors`]); every operation is bounded by
//! [`PostgresSettings::operation_timeout`], so none outlives the request that waits for it.
//!
//! The database is the source of live events: triggers announce every committed change with
//! `pg_notify` from the writing transaction, and each instance's [`listener`] turns the
//! notifications into the store's feed, its own writes included, in commit order.

mod chats;
mod connect;
mod conversations;
mod errors;
mod listener;
mod messages;
mod notice;
mod paging;
mod rows;
#[doc(hidden)]
pub mod scratch;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::{MessageQuery, Store, Updated};
use crate::domain::{
    Chat, ChatFilter, ChatPatch, Clock, Conversation, Message, NewChat, NewConversation,
    NewMessage, Page, PageRequest, Position, SortOrder, Timestamp,
};
use crate::error::AppResult;
use crate::events::{ChangeFeed, Transient};

pub use connect::{ConnectError, PostgresSettings};

/// A store over a PostgreSQL connection pool; cheap to share behind an `Arc`.
pub struct PostgresStore {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    settings: PostgresSettings,
    /// The latest instant this instance stamped a write with (milliseconds).
    last_now: AtomicI64,
    /// Where this schema's changes are announced (`LISTEN`/`NOTIFY` channel).
    channel: String,
    feed: ChangeFeed,
    /// Forwards the channel's notifications into the feed; stopped with the store.
    listener: JoinHandle<()>,
    /// A test's schema, dropped after the store (see [`scratch`]).
    owned_schema: Option<scratch::ScratchSchema>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl PostgresStore {
    /// The same store, dropping `schema` (and everything in it) when it is dropped.
    #[doc(hidden)]
    pub fn owning(mut self, schema: scratch::ScratchSchema) -> Self {
        self.owned_schema = Some(schema);
        self
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
    async fn create_chat(&self, new: NewChat) -> AppResult<Chat> {
        self.bounded(self.insert_chat(new)).await
    }

    async fn get_chat(&self, id: Uuid) -> AppResult<Option<Chat>> {
        self.bounded(self.select_chat(id)).await
    }

    async fn update_chat(&self, id: Uuid, patch: ChatPatch) -> AppResult<Updated<Chat>> {
        self.bounded(self.patch_chat(id, &patch)).await
    }

    async fn toggle_chat(&self, id: Uuid) -> AppResult<Chat> {
        self.bounded(self.flip_chat(id)).await
    }

    async fn delete_chat(&self, id: Uuid) -> AppResult<Chat> {
        self.bounded(self.remove_chat(id)).await
    }

    async fn list_chats(
        &self,
        filter: &ChatFilter,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Chat>> {
        self.bounded(self.chat_page(filter, order, page)).await
    }

    async fn create_conversation(&self, new: NewConversation) -> AppResult<Conversation> {
        self.bounded(self.insert_conversation(new)).await
    }

    async fn get_conversations(&self, ids: &[Uuid]) -> AppResult<Vec<Conversation>> {
        self.bounded(self.select_conversations(ids)).await
    }

    async fn delete_conversation(&self, id: Uuid) -> AppResult<Conversation> {
        self.bounded(self.remove_conversation(id)).await
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

    async fn append_message(&self, conversation_id: Uuid, new: NewMessage) -> AppResult<Message> {
        self.bounded(self.insert_message(conversation_id, new))
            .await
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

    async fn messages_after(
        &self,
        conversation_id: Uuid,
        after: Position,
        limit: u64,
    ) -> AppResult<Option<Vec<Message>>> {
        self.bounded(self.messages_from(conversation_id, after, limit))
            .await
    }

    fn feed(&self) -> ChangeFeed {
        self.feed.clone()
    }

    /// Announces on the change channel like a committed change, so every instance's listener
    /// delivers it between the changes committed around it; long deltas go in pieces.
    async fn announce(&self, event: Transient) -> AppResult<()> {
        let payloads = notice::transient_payloads(event);
        self.bounded(async {
            sqlx::query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload")
                .bind(&self.channel)
                .bind(payloads)
                .execute(&self.pool)
                .await
                .map_err(errors::db_error)?;
            Ok(())
        })
        .await
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
