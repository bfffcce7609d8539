//! The one table of error codes and the one error type every layer returns.
//!
//! Each code maps to its wire string and HTTP status here and nowhere else. Transports render
//! [`AppError`] in their own format (REST envelope, GraphQL `extensions`) but never invent codes.

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};

/// Every error code a client can see (docs/api.md, "Errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    ValidationError,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    RequestTimeout,
    RateLimited,
    InternalError,
    ServiceUnavailable,
    /// The model backend failed after its retries; nothing was stored as a reply.
    AssistantUnavailable,
    GraphqlParseFailed,
    GraphqlValidationFailed,
    SubscriptionLagged,
}

impl ErrorCode {
    /// The string clients match on; written out so a rename of the variant cannot change it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ValidationError => "VALIDATION_ERROR",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::RequestTimeout => "REQUEST_TIMEOUT",
            Self::RateLimited => "RATE_LIMITED",
            Self::InternalError => "INTERNAL_ERROR",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::AssistantUnavailable => "ASSISTANT_UNAVAILABLE",
            Self::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Self::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Self::SubscriptionLagged => "SUBSCRIPTION_LAGGED",
        }
    }

    /// The code whose wire string is `wire`, as [`as_str`](Self::as_str) writes it (say, read
    /// back from a database notification).
    pub fn from_wire(wire: &str) -> Option<Self> {
        Some(match wire {
            "VALIDATION_ERROR" => Self::ValidationError,
            "UNAUTHORIZED" => Self::Unauthorized,
            "NOT_FOUND" => Self::NotFound,
            "METHOD_NOT_ALLOWED" => Self::MethodNotAllowed,
            "PAYLOAD_TOO_LARGE" => Self::PayloadTooLarge,
            "UNSUPPORTED_MEDIA_TYPE" => Self::UnsupportedMediaType,
            "REQUEST_TIMEOUT" => Self::RequestTimeout,
            "RATE_LIMITED" => Self::RateLimited,
            "INTERNAL_ERROR" => Self::InternalError,
            "SERVICE_UNAVAILABLE" => Self::ServiceUnavailable,
            "ASSISTANT_UNAVAILABLE" => Self::AssistantUnavailable,
            "GRAPHQL_PARSE_FAILED" => Self::GraphqlParseFailed,
            "GRAPHQL_VALIDATION_FAILED" => Self::GraphqlValidationFailed,
            "SUBSCRIPTION_LAGGED" => Self::SubscriptionLagged,
            _ => return None,
        })
    }

    /// The HTTP status an answer with this code carries.
    pub fn http_status(self) -> StatusCode {
        match self {
            Self::ValidationError | Self::GraphqlParseFailed | Self::GraphqlValidationFailed => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::InternalError | Self::SubscriptionLagged => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::AssistantUnavailable => StatusCode::BAD_GATEWAY,
        }
    }

    /// The code for an error answer some framework code produced with only a status: the
    /// code of that status, a `VALIDATION_ERROR` for other client errors, else internal.
    /// (`ASSISTANT_UNAVAILABLE` is never guessed: only the service knows an assistant failed.)
    pub fn for_status(status: StatusCode) -> Self {
        const BY_STATUS: [ErrorCode; 10] = [
            ErrorCode::ValidationError,
            ErrorCode::Unauthorized,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::RequestTimeout,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::RateLimited,
            ErrorCode::InternalError,
            ErrorCode::ServiceUnavailable,
        ];
        BY_STATUS
            .into_iter()
            .find(|code| code.http_status() == status)
            .unwrap_or(if status.is_client_error() {
                ErrorCode::ValidationError
            } else {
                ErrorCode::InternalError
            })
    }
}

/// One offending input field, as listed in `details.fields`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    /// A field error; `field` is the name the client sent (camelCase, or the argument name).
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An error a client may see: code, human message and optional details.
///
/// It deliberately does not implement `Display`: async-graphql converts any `Display` type into
/// an error without a code, so keeping `Display` off makes `?` in resolvers use our conversion.
#[derive(Debug, Clone, PartialEq)]
pub struct AppError {
    code: ErrorCode,
    message: String,
    details: Option<Value>,
    /// Kept typed so callers can add to a validation error without reading JSON back.
    fields: Vec<FieldError>,
}

impl AppError {
    /// An error with a code and a message meant for the client.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            fields: Vec::new(),
        }
    }

    /// Attaches the `details` object.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Invalid input; lists every offending field so a client can fix them all at once.
    pub fn validation(fields: Vec<FieldError>) -> Self {
        let message = match fields.as_slice() {
            [one] => format!("{} {}", one.field, one.message),
            _ => format!("{} fields are invalid", fields.len()),
        };
        Self {
            fields,
            ..Self::new(ErrorCode::ValidationError, message)
        }
    }

    /// Invalid input in one field.
    pub fn invalid_field(field: &str, message: &str) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    /// A resource that does not exist (or an id that cannot name one).
    pub fn not_found(resource: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{resource} not found"))
    }

    /// The assistant's backend failed; `message` says how, without internal detail or keys.
    pub fn assistant_unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::AssistantUnavailable, message)
    }

    /// A failure the client cannot act on. The cause is logged here and never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::InternalError, "Internal server error")
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// `details` as sent: `{"fields": [...]}` for validation errors.
    pub fn details(&self) -> Option<Value> {
        if self.fields.is_empty() {
            self.details.clone()
        } else {
            Some(json!({ "fields": self.fields }))
        }
    }

    /// The offending fields of a validation error (empty for any other error).
    pub fn field_errors(&self) -> &[FieldError] {
        &self.fields
    }

    /// The REST error envelope (docs/api.md, "Errors"): `details` is always there, `{}` when
    /// there is nothing to add, so clients can read `error.details.fields` without a check.
    /// A server-side failure (5xx) quotes the request's id in `details.requestId`, so the user
    /// can report it and an operator can find its log lines.
    pub fn envelope(&self) -> Value {
        let mut details = self.details().unwrap_or_else(|| json!({}));
        if self.code.http_status().is_server_error()
            && let (Some(id), Some(object)) =
                (crate::request_id::current(), details.as_object_mut())
        {
            object.insert("requestId".into(), Value::String(id));
        }
        json!({ "error": {
            "code": self.code.as_str(),
            "message": self.message,
            "details": details,
        }})
    }
}

/// Result type of every service and domain operation.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_error_lists_every_field_in_the_envelope() {
        let err = AppError::validation(vec![
            FieldError::new("title", "is required"),
            FieldError::new("priority", "must be one of low, medium, high"),
        ]);
        assert_eq!(
            err.envelope(),
            json!({"error": {
                "code": "VALIDATION_ERROR",
                "message": "2 fields are invalid",
                "details": {"fields": [
                    {"field": "title", "message": "is required"},
                    {"field": "priority", "message": "must be one of low, medium, high"}
                ]}
            }})
        );
    }

    #[test]
    fn an_error_with_nothing_to_add_has_empty_details() {
        assert_eq!(
            AppError::not_found("chat").envelope(),
            json!({"error": {"code": "NOT_FOUND", "message": "chat not found", "details": {}}})
        );
    }

    #[test]
    fn every_wire_string_reads_back_as_its_code() {
        let codes = [
            ErrorCode::ValidationError,
            ErrorCode::Unauthorized,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::RequestTimeout,
            ErrorCode::RateLimited,
            ErrorCode::InternalError,
            ErrorCode::ServiceUnavailable,
            ErrorCode::AssistantUnavailable,
            ErrorCode::GraphqlParseFailed,
            ErrorCode::GraphqlValidationFailed,
            ErrorCode::SubscriptionLagged,
        ];
        for code in codes {
            assert_eq!(ErrorCode::from_wire(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::from_wire("not_found"), None);
    }

    #[test]
    fn statuses_map_back_to_their_codes() {
        assert_eq!(
            ErrorCode::for_status(StatusCode::NOT_FOUND),
            ErrorCode::NotFound
        );
        assert_eq!(
            ErrorCode::for_status(StatusCode::LENGTH_REQUIRED),
            ErrorCode::ValidationError
        );
        assert_eq!(
            ErrorCode::for_status(StatusCode::BAD_GATEWAY),
            ErrorCode::InternalError
        );
    }

    #[test]
    fn internal_error_never_carries_its_cause() {
        let err = AppError::internal("connection refused to 10.0.0.1");
        assert_eq!(err.message(), "Internal server error");
        assert_eq!(err.code().http_status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
