//! How errors look on `/graphql`: every error carries `extensions.code`.
//!
//! Resolver errors come from [`AppError`] (which has no `Display`, so `?` always goes through
//! the conversion here). Parse and validation errors get their codes from [`code_parse_error`]
//! and [`code_validation_errors`] (called by the request pipeline); anything left without a code is classified by [`ensure_codes`].

use async_graphql::{Error, ErrorExtensionValues, ServerError};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::error::{AppError, ErrorCode};

impl From<AppError> for Error {
    fn from(err: AppError) -> Self {
        let mut extensions = ErrorExtensionValues::default();
        extensions.set("code", err.code().as_str());
        if let Some(Ok(details)) = err.details().map(async_graphql::Value::from_json) {
            extensions.set("details", details);
        }
        Error {
            message: err.message().to_owned(),
            source: None,
            extensions: Some(extensions),
        }
    }
}

/// A request-level GraphQL error (no path) with a code, e.g. for transport failures. It has
/// no `locations`: there is no document position to point at (and `0:0` is not one).
pub fn request_error(err: &AppError) -> ServerError {
    let mut error = Error::from(err.clone()).into_server_error(async_graphql::Pos::default());
    error.locations.clear();
    quote_request_id(std::slice::from_mut(&mut error));
    error
}

/// Sets `extensions.requestId` on every error to the id of the HTTP request being answered
/// (none on socket operations, which have no request of their own).
fn quote_request_id(errors: &mut [ServerError]) {
    let Some(id) = crate::request_id::current() else {
        return;
    };
    for error in errors {
        error
            .extensions
            .get_or_insert_with(ErrorExtensionValues::default)
            .set("requestId", id.as_str());
    }
}

/// Sets `extensions.code`.
pub(crate) fn set_code(error: &mut ServerError, code: ErrorCode) {
    error
        .extensions
        .get_or_insert_with(ErrorExtensionValues::default)
        .set("code", code.as_str());
}

/// The code an error carries, if any.
pub(super) fn code_of(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code),
        _ => None,
    }
}

/// Gives every error without a code one: errors outside any field are request errors
/// (an unknown operation name, say), errors inside one are internal.
pub(super) fn ensure_codes(errors: &mut [ServerError]) {
    for error in errors.iter_mut().filter(|e| code_of(e).is_none()) {
        let code = if error.path.is_empty() {
            ErrorCode::GraphqlValidationFailed
        } else {
            tracing::error!(message = %error.message, "resolver error without a code");
            ErrorCode::InternalError
        };
        set_code(error, code);
    }
}

/// Whether the request failed before execution (parse or validation), so no `data` exists.
fn is_request_error(errors: &[ServerError]) -> bool {
    let before_execution = [
        ErrorCode::GraphqlParseFailed.as_str(),
        ErrorCode::GraphqlValidationFailed.as_str(),
    ];
    errors
        .iter()
        .any(|e| code_of(e).is_some_and(|code| before_execution.contains(&code)))
}

/// A finished GraphQL response: every error has a code, and a request that failed before
/// execution has no `data` entry at all (GraphQL spec 7.1.1).
///
/// It serialises straight from async-graphql's values, whose objects keep the order of the
/// selection set (aliases included); a detour through `serde_json::Value` would sort the keys.
pub struct FinishedResponse {
    response: async_graphql::Response,
    request_failed: bool,
}

impl FinishedResponse {
    /// Whether the request failed before execution (parse or validation).
    pub fn request_failed(&self) -> bool {
        self.request_failed
    }

    /// The errors, each with `extensions.code`.
    pub fn errors(&self) -> &[ServerError] {
        &self.response.errors
    }
}

impl Serialize for FinishedResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let response = &self.response;
        let mut map = serializer.serialize_map(None)?;
        if !self.request_failed {
            map.serialize_entry("data", &response.data)?;
        }
        if !response.errors.is_empty() {
            map.serialize_entry("errors", &response.errors)?;
        }
        if !response.extensions.is_empty() {
            map.serialize_entry("extensions", &response.extensions)?;
        }
        map.end()
    }
}

/// Gives every error of `response` a code and notes whether it failed before execution.
pub fn finish_response(mut response: async_graphql::Response) -> FinishedResponse {
    ensure_codes(&mut response.errors);
    quote_request_id(&mut response.errors);
    let request_failed = is_request_error(&response.errors);
    FinishedResponse {
        response,
        request_failed,
    }
}

/// What the depth limit answers (async-graphql's own wording), for every refusal of nesting.
const TOO_DEEP: &str = "Query is nested too deep.";

/// Whether a parse-stage error is really a refusal of deep nesting: the parser's recursion
/// limit or async-graphql's recursive-depth check, both of which stop queries far deeper
/// than the depth limit before validation sees them. Those are depth-limit failures
/// (`GRAPHQL_VALIDATION_FAILED`), not syntax errors.
fn is_nesting_refusal(error: &ServerError) -> bool {
    error.message == async_graphql::parser::Error::RecursionLimitExceeded.to_string()
        || error
            .message
            .starts_with("The recursion depth of the query cannot be greater than")
}

/// Gives a parse-stage error its code: `GRAPHQL_VALIDATION_FAILED` (with the depth limit's
/// words) for a refusal of deep nesting, else `GRAPHQL_PARSE_FAILED` with a one-line syntax
/// message; an error that has a code already keeps it.
pub(super) fn code_parse_error(query: &str, mut error: ServerError) -> ServerError {
    if is_nesting_refusal(&error) {
        error.message = TOO_DEEP.to_owned();
        set_code(&mut error, ErrorCode::GraphqlValidationFailed);
    } else if code_of(&error).is_none() {
        super::syntax::make_readable(query, &mut error);
        set_code(&mut error, ErrorCode::GraphqlParseFailed);
    }
    error
}

/// Gives validation errors (variable coercion and the depth limit included)
/// `GRAPHQL_VALIDATION_FAILED`.
pub(super) fn code_validation_errors(mut errors: Vec<ServerError>) -> Vec<ServerError> {
    for error in &mut errors {
        set_code(error, ErrorCode::GraphqlValidationFailed);
    }
    errors
}
