//! Pagination and ordering: one place for limits, defaults, clamping and `hasMore`.

use crate::error::{AppError, AppResult, FieldError};

/// The largest page any list returns; larger requests are clamped to it.
pub const MAX_LIMIT: u64 = 100;

/// Sort direction by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortOrder {
    Asc,
    Desc,
}

impl SortOrder {
    /// Parses the exact lowercase REST spelling.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "asc" => Ok(Self::Asc),
            "desc" => Ok(Self::Desc),
            _ => Err("must be one of asc, desc".into()),
        }
    }
}

/// A checked page request: `limit` already clamped to [`MAX_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub limit: u64,
    pub offset: u64,
}

impl PageRequest {
    /// Builds a page from optional signed values (GraphQL arguments): negatives are a
    /// `VALIDATION_ERROR` naming the argument, `None` takes the list's default.
    pub fn new(limit: Option<i64>, offset: Option<i64>, default_limit: u64) -> AppResult<Self> {
        let mut errors = Vec::new();
        let mut non_negative = |name: &str, value: Option<i64>| match value {
            Some(v) if v < 0 => {
                errors.push(FieldError::new(name, "must be a non-negative integer"));
                None
            }
            other => other.map(|v| v as u64),
        };
        let limit = non_negative("limit", limit);
        let offset = non_negative("offset", offset);
        if !errors.is_empty() {
            return Err(AppError::validation(errors));
        }
        Ok(Self::clamped(
            limit.unwrap_or(default_limit),
            offset.unwrap_or(0),
        ))
    }

    /// A page with `limit` clamped to [`MAX_LIMIT`].
    pub fn clamped(limit: u64, offset: u64) -> Self {
        Self {
            limit: limit.min(MAX_LIMIT),
            offset,
        }
    }
}

/// Parses a REST `limit` / `offset` query value: decimal digits only (no sign, no fraction,
/// not empty). Values too large for `u64` saturate, so a huge limit clamps and a huge offset
/// gives an empty page.
pub fn parse_count(raw: &str) -> Result<u64, String> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be a non-negative integer".into());
    }
    Ok(raw.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

/// One page of a list with the size of the whole filtered list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

impl<T> Page<T> {
    /// Whether items exist past this page.
    pub fn has_more(&self) -> bool {
        self.offset.saturating_add(self.items.len() as u64) < self.total
    }

    /// The same page with each item converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            limit: self.limit,
            offset: self.offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_count_accepts_digits_only_and_saturates() {
        assert_eq!(parse_count("0"), Ok(0));
        assert_eq!(parse_count("0042"), Ok(42));
        assert_eq!(parse_count("99999999999999999999999"), Ok(u64::MAX));
        for bad in ["", "-1", "+5", "1.5", "abc", " 1", "1e3"] {
            assert!(parse_count(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn page_request_clamps_and_defaults() {
        assert_eq!(
            PageRequest::new(None, None, 50).unwrap(),
            PageRequest::clamped(50, 0)
        );
        assert_eq!(PageRequest::new(Some(101), Some(3), 50).unwrap().limit, 100);
        assert_eq!(PageRequest::new(Some(0), None, 50).unwrap().limit, 0);
    }

    #[test]
    fn negative_limit_and_offset_are_named() {
        let err = PageRequest::new(Some(-1), Some(-2), 100).unwrap_err();
        assert_eq!(
            err.details().unwrap()["fields"],
            serde_json::json!([
                {"field": "limit", "message": "must be a non-negative integer"},
                {"field": "offset", "message": "must be a non-negative integer"},
            ])
        );
    }

    #[test]
    fn has_more_is_offset_plus_returned_below_total() {
        let page = Page {
            items: vec![1, 2],
            total: 5,
            limit: 2,
            offset: 2,
        };
        assert!(page.has_more());
        let last = Page {
            items: vec![5],
            total: 5,
            limit: 2,
            offset: 4,
        };
        assert!(!last.has_more());
        let past = Page::<u8> {
            items: vec![],
            total: 5,
            limit: 2,
            offset: 9,
        };
        assert!(!past.has_more());
    }
}
