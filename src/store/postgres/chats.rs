//! Chat sessions in PostgreSQL: writes, the patch rule applied to a locked row, and lists.
//!
//! A list is one [`ListStatement`]: the page from the index that matches its filter, and its
//! total summed from the per-category counters.

use uuid::Uuid;

use super::PostgresStore;
use super::errors::db_error;
use super::paging::{ListStatement, page_of, read_rows, sql_limit, sql_offset};
use super::rows::{CHAT_COLUMNS, ChatRow, convert, db_count, to_db_time};
use crate::domain::{Chat, ChatFilter, ChatPatch, NewChat, Page, PageRequest, SortOrder};
use crate::error::{AppError, AppResult};
use crate::store::Updated;

/// The `WHERE` conditions of a chat filter, over parameters `$1` (active), `$2` (priority) and
/// `$3` (user id); only the given criteria appear, so the planner sees which index fits. The
/// counter tables have the same columns, so the same conditions pick the counters to sum.
fn conditions(filter: &ChatFilter) -> String {
    let mut parts = Vec::new();
    if filter.user_id.is_some() {
        parts.push("user_id = $3");
    }
    if filter.active.is_some() {
        parts.push("active = $1");
    }
    if filter.priority.is_some() {
        parts.push("priority = $2::chat_priority");
    }
    if parts.is_empty() {
        "TRUE".to_owned()
    } else {
        parts.join(" AND ")
    }
}

/// The statement for one page of chats with its total (parameters as in [`conditions`], then
/// offset and limit).
fn page_statement(filter: &ChatFilter, order: SortOrder) -> String {
    let condition = conditions(filter);
    let counters = if filter.user_id.is_some() {
        "user_chat_counts"
    } else {
        "chat_counts"
    };
    let total = format!("SELECT sum(n) FROM {counters} WHERE {condition}");
    ListStatement {
        table: "chats",
        columns: CHAT_COLUMNS,
        condition: &condition,
        total: &total,
        params: 3,
    }
    .sql(order)
}

impl PostgresStore {
    pub(super) async fn insert_chat(&self, new: NewChat) -> AppResult<Chat> {
        let now = self.now();
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
        sqlx::query(
            "INSERT INTO chats (id, title, description, active, priority, user_id, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5::chat_priority, $6, $7, $7)",
        )
        .bind(chat.id)
        .bind(&chat.title)
        .bind(&chat.description)
        .bind(chat.active)
        .bind(chat.priority.as_str())
        .bind(&chat.user_id)
        .bind(to_db_time(now))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(chat)
    }

    pub(super) async fn select_chat(&self, id: Uuid) -> AppResult<Option<Chat>> {
        let row: Option<ChatRow> =
            sqlx::query_as(&format!("SELECT {CHAT_COLUMNS} FROM chats WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        row.map(Chat::try_from).transpose()
    }

    /// Locks the chat, applies the patch with the domain's rules, and writes the result only
    /// when something changed (a no-op keeps `updatedAt` and `version`).
    pub(super) async fn patch_chat(&self, id: Uuid, patch: &ChatPatch) -> AppResult<Updated<Chat>> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let row: Option<ChatRow> = sqlx::query_as(&format!(
            "SELECT {CHAT_COLUMNS} FROM chats WHERE id = $1 FOR UPDATE"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        let chat = Chat::try_from(row.ok_or_else(|| AppError::not_found("chat"))?)?;
        let Some(next) = patch.apply(&chat, self.now()) else {
            tx.rollback().await.map_err(db_error)?;
            return Ok(Updated::Unchanged(chat));
        };
        let next = Chat {
            version: chat.version + 1,
            ..next
        };
        sqlx::query(
            "UPDATE chats SET title = $2, description = $3, active = $4, \
             priority = $5::chat_priority, user_id = $6, updated_at = $7, version = $8 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(&next.title)
        .bind(&next.description)
        .bind(next.active)
        .bind(next.priority.as_str())
        .bind(&next.user_id)
        .bind(to_db_time(next.updated_at))
        .bind(db_count(next.version))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(Updated::Changed(next))
    }

    /// Flips `active` in one statement; `updatedAt` moves to now, or one millisecond past its
    /// previous value (the rule of `Timestamp::next_after`, in SQL).
    pub(super) async fn flip_chat(&self, id: Uuid) -> AppResult<Chat> {
        let row: Option<ChatRow> = sqlx::query_as(&format!(
            "UPDATE chats SET active = NOT active, version = version + 1, \
             updated_at = greatest($2, updated_at + interval '1 millisecond') \
             WHERE id = $1 RETURNING {CHAT_COLUMNS}"
        ))
        .bind(id)
        .bind(to_db_time(self.now()))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Chat::try_from(row.ok_or_else(|| AppError::not_found("chat"))?)
    }

    /// Deletes the chat and returns it as it was, its version one on for the deletion (the
    /// version its deletion is announced with).
    pub(super) async fn remove_chat(&self, id: Uuid) -> AppResult<Chat> {
        let row: Option<ChatRow> = sqlx::query_as(&format!(
            "DELETE FROM chats WHERE id = $1 RETURNING {CHAT_COLUMNS}"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        let chat = Chat::try_from(row.ok_or_else(|| AppError::not_found("chat"))?)?;
        Ok(Chat {
            version: chat.version + 1,
            ..chat
        })
    }

    pub(super) async fn chat_page(
        &self,
        filter: &ChatFilter,
        order: SortOrder,
        page: PageRequest,
    ) -> AppResult<Page<Chat>> {
        let rows = sqlx::query(&page_statement(filter, order))
            .bind(filter.active)
            .bind(filter.priority.map(|p| p.as_str()))
            .bind(&filter.user_id)
            .bind(sql_offset(page.offset))
            .bind(sql_limit(page.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let (chats, total) = read_rows::<ChatRow>(&rows)?;
        Ok(page_of(convert(chats)?, total, page))
    }
}
