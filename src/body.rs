//! JSON bodies: the one place for a request body's media type, size and emptiness rules
//! (docs/api.md, "Requests"), shared by the REST extractors and the GraphQL endpoint, and the
//! JSON answer the REST routes write ([`Json`]).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};

use crate::error::{AppError, AppResult, ErrorCode};

/// The largest request body accepted on any route: exactly 1 MiB passes, one byte more is a 413.
pub const BODY_LIMIT: usize = 1_048_576;

/// Whether the body is declared JSON: `application/json`, parameters such as `charset` allowed.
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// A `VALIDATION_ERROR` about the request as a whole (no single field to name).
pub fn bad_request(message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::ValidationError, message)
}

/// The refusal of a body over [`BODY_LIMIT`], whether it was declared or read that large.
pub fn too_large() -> AppError {
    AppError::new(
        ErrorCode::PayloadTooLarge,
        "request body is larger than 1 MiB",
    )
}

/// The bytes of a body that must be JSON: too large is a 413; empty is a 400 whatever its
/// declared type (a bare `POST` sends none); anything not declared JSON is a 415.
pub fn json_body(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> AppResult<Bytes> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            bad_request("request body could not be read")
        }
    })?;
    let declared = headers.contains_key(header::CONTENT_TYPE);
    if body.is_empty() && (!declared || is_json(headers)) {
        return Err(bad_request("request body is empty"));
    }
    if !is_json(headers) {
        return Err(AppError::new(
            ErrorCode::UnsupportedMediaType,
            "request body must be application/json",
        ));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn typed(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
        headers
    }

    fn code(headers: &HeaderMap, body: &'static [u8]) -> Option<ErrorCode> {
        json_body(headers, Ok(Bytes::from_static(body)))
            .err()
            .map(|e| e.code())
    }

    #[test]
    fn empty_bodies_are_400_unless_declared_as_something_else() {
        assert_eq!(
            code(&HeaderMap::new(), b""),
            Some(ErrorCode::ValidationError)
        );
        let json = typed("application/json; charset=utf-8");
        assert_eq!(code(&json, b""), Some(ErrorCode::ValidationError));
        assert_eq!(
            code(&typed("text/plain"), b""),
            Some(ErrorCode::UnsupportedMediaType)
        );
    }

    #[test]
    fn json_content_type_allows_parameters_and_any_case() {
        assert!(is_json(&typed("application/json")));
        assert!(is_json(&typed("Application/JSON; charset=utf-8")));
        assert!(!is_json(&typed("application/json-patch+json")));
        assert!(!is_json(&typed("text/json")));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn only_declared_json_passes() {
        assert_eq!(code(&typed("Application/JSON"), b"{}"), None);
        assert_eq!(
            code(&HeaderMap::new(), b"{}"),
            Some(ErrorCode::UnsupportedMediaType)
        );
        assert_eq!(
            code(&typed("application/jsonx"), b"{}"),
            Some(ErrorCode::UnsupportedMediaType)
        );
    }
}

/// A JSON answer, written into one growing buffer. axum's own `Json` writes through a
/// `BytesMut` writer whose bookkeeping on each of serde's many small writes was a fifth of a
/// page of chats; this writes the same bytes with the same `Content-Type`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        let mut body = Vec::with_capacity(256);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => (
                [(
                    header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(err) => {
                tracing::error!(%err, "an answer did not serialize");
                AppError::new(ErrorCode::InternalError, "the answer could not be written")
                    .into_response()
            }
        }
    }
}
