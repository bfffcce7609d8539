//! Chat sessions in PostgreSQL: writes (each one statement), and lists.
//!
//! A list is one [`ListStatement`]: the page from the index that matches its filter, and its
//! total summed from the per-category counters.

use std::sync::LazyLock;

use sqlx::{FromRow, Row};
use uuid::Uuid;

use super::PostgresStore;
use super::errors::db_error;
use super::paging::{ListStatement, page_of, read_rows, sql_limit, sql_offset};
use super::rows::{CHAT_COLUMNS, ChatRow, convert, to_db_time};
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

/// A chat update in one statement, the rule of `ChatPatch::apply` in SQL: the row is locked
/// (under concurrent writers, its latest version), each given field replaces the stored one
/// (`$2` title, `$3`/`$4` whether and how description is set, `$5` active, `$6` priority,
/// `$7`/`$8` the same for the user id), and the row is written only when a value differs, with
/// `updatedAt` at now (`$9`) or one millisecond past its previous value and the version one on.
/// The one row returned is the chat after the statement, `changed` saying whether it was
/// written; no row: the chat does not exist. The store conformance suite holds this to the
/// domain's rule on random patches.
static PATCH: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH current AS ( \
             SELECT {STORED} FROM chats WHERE id = $1 FOR UPDATE \
         ), next AS ( \
             SELECT id, coalesce($2, title) AS title, \
                 CASE WHEN $3 THEN $4 ELSE description END AS description, \
                 coalesce($5, active) AS active, \
                 coalesce($6::chat_priority, priority) AS priority, \
                 CASE WHEN $7 THEN $8 ELSE user_id END AS user_id \
             FROM current \
         ), changed AS ( \
             UPDATE chats c SET title = n.title, description = n.description, \
                 active = n.active, priority = n.priority, user_id = n.user_id, \
                 version = c.version + 1, \
                 updated_at = greatest($9, c.updated_at + interval '1 millisecond') \
             FROM next n \
             WHERE c.id = $1 AND n.id = c.id \
                 AND (n.title, n.description, n.active, n.priority, n.user_id) \
                     IS DISTINCT FROM (c.title, c.description, c.active, c.priority, c.user_id) \
             RETURNING {RETURNED} \
         ) \
         SELECT {CHAT_COLUMNS}, TRUE AS changed FROM changed \
         UNION ALL \
         SELECT {CHAT_COLUMNS}, FALSE FROM current WHERE NOT EXISTS (SELECT FROM changed)"
    )
});

/// The stored columns [`CHAT_COLUMNS`] reads, as they are.
const STORED: &str =
    "id, title, description, active, priority, user_id, created_at, updated_at, version";
/// The same after an update of `chats c`.
const RETURNED: &str = "c.id, c.title, c.description, c.active, c.priority, c.user_id, \
     c.created_at, c.updated_at, c.version";

/// A field a patch may set to a value or clear: whether it is set, and to what.
fn clearable<T: AsRef<str>>(field: &Option<Option<T>>) -> (bool, Option<&str>) {
    match field {
        None => (false, None),
        Some(value) => (true, value.as_ref().map(|v| v.as_ref())),
    }
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

    /// Applies the patch in one statement ([`PATCH`]); a patch that changes no value writes
    /// nothing and keeps `updatedAt` and `version`.
    pub(super) async fn patch_chat(&self, id: Uuid, patch: &ChatPatch) -> AppResult<Updated<Chat>> {
        let (set_description, description) = clearable(&patch.description);
        let (set_user_id, user_id) = clearable(&patch.user_id);
        let row = sqlx::query(&PATCH)
            .bind(id)
            .bind(patch.title.as_ref().map(|t| t.as_str()))
            .bind(set_description)
            .bind(description)
            .bind(patch.active)
            .bind(patch.priority.map(|p| p.as_str()))
            .bind(set_user_id)
            .bind(user_id)
            .bind(to_db_time(self.now()))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .ok_or_else(|| AppError::not_found("chat"))?;
        let chat = Chat::try_from(ChatRow::from_row(&row).map_err(db_error)?)?;
        Ok(if row.try_get("changed").map_err(db_error)? {
            Updated::Changed(chat)
        } else {
            Updated::Unchanged(chat)
        })
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
