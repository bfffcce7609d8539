//! Refusals decided from the request head alone, before anything reads a body: a declared body
//! over the 1 MiB limit (413), a request target over [`MAX_URI_BYTES`] (414), and headers over
//! [`MAX_HEADER_BYTES`] or [`MAX_HEADERS`] (431). Each is answered at once in the shape of the
//! protocol the path speaks; a refusal that leaves a body unread also closes the connection,
//! since the next request could only be found by reading that body.
//!
//! Heads too broken or too large for the HTTP parser never get here: see
//! [`crate::server`] for what it answers on its own.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use super::reply::{self, Protocol};
use crate::body::{BODY_LIMIT, too_large};
use crate::error::{AppError, ErrorCode};

/// Longest request target (path and query) accepted: 8 KiB. Longer is a 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Largest header section accepted, counted as each header's name and value plus four bytes
/// (`: ` and the line end): 32 KiB. Larger is a 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Most header lines accepted: 100. More is a 431.
pub const MAX_HEADERS: usize = 100;

/// The answer to a request whose head alone breaks a limit; `None` for every other request.
pub fn refusal(request: &Request) -> Option<Response> {
    let (status, err) = oversized(request)?;
    let protocol = Protocol::of(request.uri().path());
    let mut response = reply::error(protocol, request.headers(), &err);
    *response.status_mut() = status;
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Some(response)
}

/// The status and error of the first limit the head breaks, if any.
fn oversized(request: &Request) -> Option<(StatusCode, AppError)> {
    if declared_length(request.headers()).is_some_and(|length| length > BODY_LIMIT as u64) {
        return Some((StatusCode::PAYLOAD_TOO_LARGE, too_large()));
    }
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target > MAX_URI_BYTES {
        let message = format!("the request URI is longer than {MAX_URI_BYTES} bytes");
        return Some((StatusCode::URI_TOO_LONG, client_error(message)));
    }
    let headers = request.headers();
    if headers.len() > MAX_HEADERS {
        let message = format!("the request has more than {MAX_HEADERS} headers");
        return Some((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            client_error(message),
        ));
    }
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        let message = format!("the request headers are larger than {MAX_HEADER_BYTES} bytes");
        return Some((
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            client_error(message),
        ));
    }
    None
}

/// The body length the client declared (the HTTP parser has already refused malformed ones).
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A refusal of the request as a whole; its status is set by the caller (414, 431), like the
/// HTTP statuses the error table has no code of its own for.
fn client_error(message: String) -> AppError {
    AppError::new(ErrorCode::ValidationError, message)
}
