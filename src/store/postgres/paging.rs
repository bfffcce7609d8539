//! The one statement shape behind every list of chats or conversations: a page in
//! `(created_at, seq)` order with the list's total, in one statement and so one snapshot.
//!
//! The total comes from a counter query, never from counting rows. The page's first row is
//! found with `OFFSET` over `(created_at, seq)` alone, which an index-only scan of the index
//! matching the filter answers without reading any record, and from the nearer end: an offset
//! past the middle is counted back from the last row (the exact total says where that is), so
//! the deepest offsets cost what the middle costs. The page is then read from that key on.

use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};
use uuid::Uuid;

use super::errors::db_error;
use crate::domain::{Page, PageRequest, SortOrder};
use crate::error::AppResult;

/// What one list statement reads. `condition` and `total` may use any parameter but the last
/// two, which are the offset and the limit (named by [`ListStatement::offset_param`]).
pub struct ListStatement<'a> {
    pub table: &'a str,
    pub columns: &'a str,
    /// The rows' filter, matching one index in `(…, created_at, seq)` order.
    pub condition: &'a str,
    /// A scalar query for the total (a sum over counters), `NULL` meaning 0.
    pub total: &'a str,
    /// How many parameters `condition` and `total` use.
    pub params: usize,
}

impl ListStatement<'_> {
    /// The SQL: every row has a `total` column, then the record's columns (all `NULL` in the
    /// single row of an empty page).
    pub fn sql(&self, order: SortOrder) -> String {
        let Self {
            table,
            columns,
            condition,
            total,
            params,
        } = self;
        let (offset, limit) = (params + 1, params + 2);
        let (direction, reverse, from) = match order {
            SortOrder::Asc => ("ASC", "DESC", ">="),
            SortOrder::Desc => ("DESC", "ASC", "<="),
        };
        let order_by = format!("created_at {direction}, seq {direction}");
        let reversed = format!("created_at {reverse}, seq {reverse}");
        let total_now = "(SELECT coalesce(total, 0) FROM counted)";
        format!(
            "WITH counted AS (SELECT ({total})::bigint AS total), \
             start AS ( \
                 (SELECT created_at, seq FROM {table} WHERE {condition} \
                     AND ${offset} * 2 <= {total_now} \
                     ORDER BY {order_by} OFFSET ${offset} LIMIT 1) \
                 UNION ALL \
                 (SELECT created_at, seq FROM {table} WHERE {condition} \
                     AND ${offset} * 2 > {total_now} AND ${offset} < {total_now} \
                     ORDER BY {reversed} OFFSET greatest({total_now} - 1 - ${offset}, 0) LIMIT 1) \
             ), \
             page AS ( \
                 SELECT {columns}, seq FROM {table} WHERE {condition} \
                 AND (created_at, seq) {from} (SELECT created_at, seq FROM start) \
                 ORDER BY {order_by} LIMIT ${limit} \
             ) \
             SELECT counted.total, page.* FROM counted LEFT JOIN page ON TRUE \
             ORDER BY page.{order_by}"
        )
    }
}

/// A page built from a list statement's rows: its total and the records it holds.
pub fn page_of<T>(items: Vec<T>, total: Option<i64>, request: PageRequest) -> Page<T> {
    Page {
        items,
        total: total.map_or(0, |n| u64::try_from(n).unwrap_or(0)),
        limit: request.limit,
        offset: request.offset,
    }
}

/// A page offset as a SQL `bigint`: offsets past `i64::MAX / 2` all mean "past the end", and
/// halving leaves room to add a page size without overflow.
pub fn sql_offset(offset: u64) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX).min(i64::MAX / 2)
}

/// A page size as a SQL `bigint`, with the same headroom as [`sql_offset`] (list page sizes
/// are clamped to 100 long before this).
pub fn sql_limit(limit: u64) -> i64 {
    sql_offset(limit)
}

/// Splits a list statement's rows into the total and the records (skipping the all-`NULL`
/// row of an empty page).
pub fn read_rows<R>(rows: &[PgRow]) -> AppResult<(Vec<R>, Option<i64>)>
where
    R: for<'r> FromRow<'r, PgRow>,
{
    let total = match rows.first() {
        Some(row) => row.try_get("total").map_err(db_error)?,
        None => None,
    };
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let id: Option<Uuid> = row.try_get("id").map_err(db_error)?;
        if id.is_some() {
            records.push(R::from_row(row).map_err(db_error)?);
        }
    }
    Ok((records, total))
}
