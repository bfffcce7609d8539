//! API keys: which requests must present one, and the constant-time check of a presented key.

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use subtle::ConstantTimeEq;

/// The token of an `Authorization: Bearer <token>` value (the scheme in any case).
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The configured keys; empty means authentication is off. Shared, so a copy (the edge's, the
/// sockets') is a reference count.
#[derive(Clone, Default)]
pub struct ApiKeys(Arc<[Vec<u8>]>);

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys never reach logs, not even through a debug print of the configuration.
        write!(f, "ApiKeys({} configured)", self.0.len())
    }
}

/// What a request's headers say about its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    /// No `X-API-Key` and no `Authorization: Bearer`.
    Missing,
    Valid,
    Invalid,
}

impl ApiKeys {
    /// Keys from configuration; blank entries are ignored.
    pub fn new(keys: impl IntoIterator<Item = String>) -> Self {
        Self(
            keys.into_iter()
                .filter(|k| !k.trim().is_empty())
                .map(String::into_bytes)
                .collect(),
        )
    }

    /// Whether any key is configured (authentication is on).
    pub fn enabled(&self) -> bool {
        !self.0.is_empty()
    }

    /// Whether `candidate` is one of the keys. Every key is compared in constant time, and all
    /// of them are always compared, so timing reveals neither which key nor how much matched.
    pub fn accepts(&self, candidate: &str) -> bool {
        let candidate = candidate.as_bytes();
        self.0
            .iter()
            .fold(subtle::Choice::from(0), |found, key| {
                found | key.ct_eq(candidate)
            })
            .into()
    }

    /// Checks the key in `X-API-Key` or `Authorization: Bearer <key>`.
    pub fn check_headers(&self, headers: &HeaderMap) -> Presented {
        let from_header = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        let from_bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token);
        match from_header.or(from_bearer) {
            None => Presented::Missing,
            Some(key) if self.accepts(key) => Presented::Valid,
            Some(_) => Presented::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn keys() -> ApiKeys {
        ApiKeys::new(["alpha".to_owned(), " ".to_owned(), "beta".to_owned()])
    }

    #[test]
    fn accepts_only_configured_keys() {
        let keys = keys();
        assert!(keys.enabled());
        assert!(keys.accepts("alpha") && keys.accepts("beta"));
        assert!(!keys.accepts("alph") && !keys.accepts("alphaa") && !keys.accepts(""));
        assert!(!ApiKeys::new(Vec::new()).enabled());
    }

    #[test]
    fn reads_x_api_key_or_bearer() {
        let keys = keys();
        let mut headers = HeaderMap::new();
        assert_eq!(keys.check_headers(&headers), Presented::Missing);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer beta"),
        );
        assert_eq!(keys.check_headers(&headers), Presented::Valid);
        headers.insert("x-api-key", HeaderValue::from_static("wrong"));
        assert_eq!(keys.check_headers(&headers), Presented::Invalid);
        let mut basic = HeaderMap::new();
        basic.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic alpha"),
        );
        assert_eq!(keys.check_headers(&basic), Presented::Missing);
    }

    #[test]
    fn debug_output_never_shows_keys() {
        assert_eq!(format!("{:?}", keys()), "ApiKeys(2 configured)");
    }
}
