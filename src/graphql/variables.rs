//! Variable coercion that async-graphql 7.0 leaves to execution: a required (non-null)
//! variable that is missing or `null` fails the request before anything runs, with
//! `GRAPHQL_VALIDATION_FAILED` (GraphQL spec, CoerceVariableValues), instead of failing each
//! field that reads it as an uncoded internal error.
//!
//! It checks presence only; the type of a supplied value is checked by async-graphql's own
//! validation.

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition};
use async_graphql::{Positioned, ServerError, ServerResult, Value, Variables};

use super::errors::set_code;
use crate::error::ErrorCode;

/// The operation a request runs: the one named, or the only one.
pub fn selected_operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    selected_named_operation(document, name).map(|(_, operation)| operation)
}

/// Like [`selected_operation`], with the name the document gives the operation (`None` for
/// an anonymous one).
pub fn selected_named_operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<(Option<&'a str>, &'a Positioned<OperationDefinition>)> {
    match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => Some((None, op)),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .get_key_value(name)
            .map(|(defined, op)| (Some(defined.as_str()), op)),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops
            .iter()
            .next()
            .map(|(defined, op)| (Some(defined.as_str()), op)),
        _ => None,
    }
}

/// The first required variable of `operation` that `variables` lacks (or gives as `null`).
/// Parsing can fail with one error only, so one is reported.
fn missing_variable(operation: &OperationDefinition, variables: &Variables) -> Option<ServerError> {
    operation
        .variable_definitions
        .iter()
        .filter(|def| !def.node.var_type.node.nullable)
        .find_map(|def| {
            let (name, ty) = (&def.node.name.node, &def.node.var_type.node);
            let message = match variables.get(name) {
                None if def.node.default_value.is_none() => {
                    format!("Variable \"${name}\" of required type \"{ty}\" was not provided.")
                }
                Some(Value::Null) => {
                    format!("Variable \"${name}\" of non-null type \"{ty}\" must not be null.")
                }
                _ => return None,
            };
            let mut error = ServerError::new(message, Some(def.pos));
            set_code(&mut error, ErrorCode::GraphqlValidationFailed);
            Some(error)
        })
}

/// Refuses a request whose selected operation (named `operation_name`, or the only one) lacks
/// a required variable.
pub(super) fn check_required(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> ServerResult<()> {
    match selected_operation(document, operation_name)
        .and_then(|operation| missing_variable(&operation.node, variables))
    {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
