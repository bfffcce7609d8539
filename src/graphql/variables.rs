//! Variable coercion that async-graphql 7.0 leaves to execution: a required (non-null)
//! variable that is missing or `null` fails the request before anything runs, with
//! `GRAPHQL_VALIDATION_FAILED` (GraphQL spec, CoerceVariableValues), instead of failing each
//! field that reads it as an uncoded internal error.
//!
//! It checks presence only; the type of a supplied value is checked by async-graphql's own
//! validation.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition};
use async_graphql::{Positioned, Request, ServerError, ServerResult, Value, Variables};
use parking_lot::Mutex;

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

/// Refuses requests whose selected operation lacks a required variable.
pub struct RequiredVariables;

impl ExtensionFactory for RequiredVariables {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequiredVariablesExtension::default())
    }
}

/// One per request: remembers the operation name until the document is parsed.
#[derive(Default)]
struct RequiredVariablesExtension {
    operation_name: Mutex<Option<String>>,
}

#[async_trait::async_trait]
impl Extension for RequiredVariablesExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let request = next.run(ctx, request).await?;
        self.operation_name
            .lock()
            .clone_from(&request.operation_name);
        Ok(request)
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let name = self.operation_name.lock().clone();
        let missing = selected_operation(&document, name.as_deref())
            .and_then(|operation| missing_variable(&operation.node, variables));
        match missing {
            Some(error) => Err(error),
            None => Ok(document),
        }
    }
}
