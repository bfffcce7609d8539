//! Conversations in PostgreSQL: create, batched reads by id, delete (its messages go with it,
//! by the foreign key's cascade, in the same statement) and a user's list.

use uuid::Uuid;

use super::PostgresStore;
use super::errors::db_error;
use super::paging::{ListStatement, page_of, read_rows, sql_limit, sql_offset};
use super::rows::{CONVERSATION_COLUMNS, ConversationRow, convert, metadata_text, to_db_time};
use crate::domain::{Conversation, NewConversation, Page, PageRequest, SortOrder};
use crate::error::{AppError, AppResult};

impl PostgresStore {
    pub(super) async fn insert_conversation(
        &self,
        new: NewConversation,
    ) -> AppResult<Conversation> {
        let now = self.now();
        let conversation = Conversation {
            id: Uuid::new_v4(),
            user_id: new.user_id.into_inner(),
            metadata: new.metadata,
            created_at: now,
            updated_at: now,
            message_count: 0,
        };
        sqlx::query(
            "INSERT INTO conversations (id, user_id, metadata, created_at, updated_at) \
             VALUES ($1, $2, $3::json, $4, $4)",
        )
        .bind(conversation.id)
        .bind(&conversation.user_id)
        .bind(metadata_text(&conversation.metadata))
        .bind(to_db_time(now))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(conversation)
    }

    /// The conversations among `ids` that exist, in one statement whatever their number.
    pub(super) async fn select_conversations(&self, ids: &[Uuid]) -> AppResult<Vec<Conversation>> {
        let rows: Vec<ConversationRow> = sqlx::query_as(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ANY($1)"
        ))
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        convert(rows)
    }

    pub(super) async fn remove_conversation(&self, id: Uuid) -> AppResult<Conversation> {
        let row: Option<ConversationRow> = sqlx::query_as(&format!(
            "DELETE FROM conversations WHERE id = $1 RETURNING {CONVERSATION_COLUMNS}"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Conversation::try_from(row.ok_or_else(|| AppError::not_found("conversation"))?)
    }

    pub(super) async fn conversation_page(
        &self,
        user_id: &str,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Conversation>> {
        let statement = ListStatement {
            table: "conversations",
            columns: CONVERSATION_COLUMNS,
            condition: "user_id = $1",
            total: "SELECT n FROM user_conversation_counts WHERE user_id = $1",
            params: 1,
        };
        let rows = sqlx::query(&statement.sql(order))
            .bind(user_id)
            .bind(sql_offset(page.offset))
            .bind(sql_limit(page.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let (conversations, total) = read_rows::<ConversationRow>(&rows)?;
        Ok(page_of(convert(conversations)?, total, page))
    }
}
