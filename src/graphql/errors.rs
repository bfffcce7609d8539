//! How errors look on `/graphql`: every error carries `extensions.code`.
//!
//! Resolver errors come from [`AppError`] (which has no `Display`, so `?` always goes through
//! the conversion here). Parse and validation errors get their codes from the [`ErrorCodes`]
//! extension; anything left without a code is classified by [`ensure_codes`].

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{
    Error, ErrorExtensionValues, ServerError, ServerResult, ValidationResult, Variables,
};

use crate::error::{AppError, ErrorCode};

impl From<AppError> for Error {
    fn from(err: AppError) -> Self {
        let mut extensions = ErrorExtensionValues::default();
        extensions.set("code", err.code().as_str());
        if let Some(Ok(details)) = err.details().cloned().map(async_graphql::Value::from_json) {
            extensions.set("details", details);
        }
        Error {
            message: err.message().to_owned(),
            source: None,
            extensions: Some(extensions),
        }
    }
}

/// A request-level GraphQL error (no path, no location) with a code, e.g. for transport
/// failures. No `locations`: a document position of 0:0 does not exist (they start at 1).
pub fn request_error(err: &AppError) -> ServerError {
    let Error {
        message,
        extensions,
        ..
    } = Error::from(err.clone());
    let mut error = ServerError::new(message, None);
    error.extensions = extensions;
    error
}

fn set_code(error: &mut ServerError, code: ErrorCode) {
    error
        .extensions
        .get_or_insert_with(ErrorExtensionValues::default)
        .set("code", code.as_str());
}

/// The code an error carries, if any.
pub fn code_of(error: &ServerError) -> Option<String> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code.clone()),
        _ => None,
    }
}

/// Gives every error without a code one: errors outside any field are request errors
/// (an unknown operation name, say), errors inside one are internal.
pub fn ensure_codes(errors: &mut [ServerError]) {
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
pub fn is_request_error(errors: &[ServerError]) -> bool {
    errors.iter().any(|e| {
        matches!(
            code_of(e).as_deref(),
            Some("GRAPHQL_PARSE_FAILED" | "GRAPHQL_VALIDATION_FAILED")
        )
    })
}

/// Adds `GRAPHQL_PARSE_FAILED` and `GRAPHQL_VALIDATION_FAILED` codes (validation covers
/// variable coercion and the depth and complexity limits).
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables).await.map_err(|mut e| {
            set_code(&mut e, ErrorCode::GraphqlParseFailed);
            e
        })
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|mut errors| {
            for e in &mut errors {
                set_code(e, ErrorCode::GraphqlValidationFailed);
            }
            errors
        })
    }
}
