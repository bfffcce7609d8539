//! Messages in PostgreSQL: the append that numbers them, reads by id, and pages of several
//! conversations at once.
//!
//! Messages are only ever removed with their conversation, so positions stay dense: message
//! `k` of a conversation has position `k`, and its `k`-th message of one role has role position
//! `k`. A page at any offset is therefore a range of (role) positions computed from the
//! conversation's counters: an index range scan, never a skip over earlier messages.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::PostgresStore;
use super::errors::{corrupt, db_error};
use super::paging::{page_of, sql_limit, sql_offset};
use super::rows::{
    MESSAGE_COLUMNS, MessageRow, from_db_time, metadata_text, role_label, to_db_time,
};
use crate::domain::{Message, NewMessage, Page, Position, SortOrder};
use crate::error::{AppError, AppResult};
use crate::store::MessageQuery;

/// Appends in one statement: the conversation's row is locked and counted first (so appends to
/// one conversation take turns and positions follow commit order), its `updatedAt` moves to
/// now or one millisecond past its previous value (`Timestamp::next_after`, in SQL), and the
/// message takes the new counts as its positions and is stamped now, or with its predecessor's
/// time if a racing instance got the lock first with a later clock. No row: the conversation
/// does not exist.
const APPEND: &str = "\
    WITH counted AS ( \
        UPDATE conversations SET \
            message_count = message_count + 1, \
            user_messages = user_messages + ($3::message_role = 'user')::int, \
            assistant_messages = assistant_messages + ($3::message_role = 'assistant')::int, \
            last_message_at = greatest($6, last_message_at), \
            updated_at = greatest($6, updated_at + interval '1 millisecond') \
        WHERE id = $2 \
        RETURNING id, message_count, last_message_at, CASE $3::message_role \
            WHEN 'user' THEN user_messages ELSE assistant_messages END AS role_position \
    ) \
    INSERT INTO messages (id, conversation_id, position, role, role_position, content, \
        metadata, created_at) \
    SELECT $1, id, message_count, $3::message_role, role_position, $4, $5::json, \
        last_message_at \
    FROM counted \
    RETURNING position, created_at";

/// Pages of several conversations in one statement. Each query is one element of the arrays
/// `$1` (conversation), `$2` (role or `NULL`), `$3` (descending), `$4` (limit), `$5` (offset);
/// every query gives at least one row (`found` false for a missing conversation, message
/// columns `NULL` for an empty page), in query order and then page order.
fn pages_statement() -> String {
    format!(
        "SELECT q.n, c.id IS NOT NULL AS found, t.total, m.* \
         FROM unnest($1::uuid[], $2::text[], $3::bool[], $4::int8[], $5::int8[]) \
             WITH ORDINALITY AS q(conversation_id, role, descending, lim, off, n) \
         LEFT JOIN conversations c ON c.id = q.conversation_id \
         LEFT JOIN LATERAL (SELECT CASE q.role WHEN 'user' THEN c.user_messages \
             WHEN 'assistant' THEN c.assistant_messages ELSE c.message_count END AS total) t \
             ON TRUE \
         LEFT JOIN LATERAL (SELECT \
             CASE WHEN q.descending THEN t.total - q.off - q.lim ELSE q.off END AS after, \
             CASE WHEN q.descending THEN t.total - q.off ELSE q.off + q.lim END AS upto) r \
             ON TRUE \
         LEFT JOIN LATERAL ( \
             SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE q.role IS NULL AND conversation_id = c.id \
                 AND position > r.after AND position <= r.upto \
             UNION ALL \
             SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE q.role IS NOT NULL AND conversation_id = c.id \
                 AND role = q.role::message_role \
                 AND role_position > r.after AND role_position <= r.upto \
         ) m ON TRUE \
         ORDER BY q.n, CASE WHEN q.descending THEN -m.position ELSE m.position END"
    )
}

impl PostgresStore {
    pub(super) async fn insert_message(
        &self,
        conversation_id: Uuid,
        new: NewMessage,
    ) -> AppResult<Message> {
        let now = self.now();
        let mut message = Message {
            id: new.id,
            conversation_id,
            position: 0,
            role: new.role,
            content: new.content.into_inner(),
            metadata: new.metadata,
            created_at: now,
        };
        let stored: Option<(i64, DateTime<Utc>)> = sqlx::query_as(APPEND)
            .bind(message.id)
            .bind(conversation_id)
            .bind(role_label(message.role))
            .bind(&message.content)
            .bind(metadata_text(&message.metadata))
            .bind(to_db_time(now))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        let (position, created_at) = stored.ok_or_else(|| AppError::not_found("conversation"))?;
        message.position = u64::try_from(position).map_err(corrupt)?;
        message.created_at = from_db_time(created_at);
        Ok(message)
    }

    pub(super) async fn select_message(&self, id: Uuid) -> AppResult<Option<Message>> {
        let row: Option<MessageRow> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        row.map(Message::try_from).transpose()
    }

    /// At most `limit` messages after position `after`: positions are dense, so that is the
    /// range `(after, after + limit]`. `None` when the conversation does not exist.
    pub(super) async fn messages_from(
        &self,
        conversation_id: Uuid,
        after: Position,
        limit: u64,
    ) -> AppResult<Option<Vec<Message>>> {
        let after = sql_offset(after);
        let rows = sqlx::query(&format!(
            "SELECT c.id IS NOT NULL AS found, m.* \
             FROM (SELECT 1) AS one LEFT JOIN conversations c ON c.id = $1 \
             LEFT JOIN LATERAL (SELECT {MESSAGE_COLUMNS} FROM messages \
                 WHERE conversation_id = c.id AND position > $2 AND position <= $2 + $3) m \
                 ON TRUE \
             ORDER BY m.position"
        ))
        .bind(conversation_id)
        .bind(after)
        .bind(sql_limit(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let found = match rows.first() {
            Some(row) => row.try_get::<bool, _>("found").map_err(db_error)?,
            None => false,
        };
        if !found {
            return Ok(None);
        }
        let mut messages = Vec::with_capacity(rows.len());
        for row in &rows {
            if row
                .try_get::<Option<Uuid>, _>("id")
                .map_err(db_error)?
                .is_some()
            {
                let message = <MessageRow as sqlx::FromRow<_>>::from_row(row).map_err(db_error)?;
                messages.push(Message::try_from(message)?);
            }
        }
        Ok(Some(messages))
    }

    pub(super) async fn message_pages(
        &self,
        queries: &[MessageQuery],
    ) -> AppResult<Vec<Option<Page<Message>>>> {
        let conversations: Vec<Uuid> = queries.iter().map(|q| q.conversation_id).collect();
        let roles: Vec<Option<&str>> = queries
            .iter()
            .map(|q| q.filter.role.map(role_label))
            .collect();
        let descending: Vec<bool> = queries.iter().map(|q| q.order == SortOrder::Desc).collect();
        let limits: Vec<i64> = queries.iter().map(|q| sql_limit(q.page.limit)).collect();
        let offsets: Vec<i64> = queries.iter().map(|q| sql_offset(q.page.offset)).collect();
        let rows = sqlx::query(&pages_statement())
            .bind(conversations)
            .bind(roles)
            .bind(descending)
            .bind(limits)
            .bind(offsets)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let mut pages: Vec<Option<Page<Message>>> = vec![None; queries.len()];
        for row in &rows {
            let n: i64 = row.try_get("n").map_err(db_error)?;
            let index = usize::try_from(n - 1)
                .ok()
                .filter(|i| *i < queries.len())
                .ok_or_else(|| AppError::internal("message page row names no query"))?;
            if !row.try_get::<bool, _>("found").map_err(db_error)? {
                continue;
            }
            let page = pages[index].get_or_insert_with(|| {
                let total: Option<i64> = row.try_get("total").ok().flatten();
                page_of(Vec::new(), total, queries[index].page)
            });
            if row
                .try_get::<Option<Uuid>, _>("id")
                .map_err(db_error)?
                .is_some()
            {
                let message = <MessageRow as sqlx::FromRow<_>>::from_row(row).map_err(db_error)?;
                page.items.push(Message::try_from(message)?);
            }
        }
        Ok(pages)
    }
}
