//! How `/graphql` runs a request: a document the cache holds takes a fast path on a schema
//! without extensions; everything else runs through the full pipeline.
//!
//! async-graphql sends every field and every list item through the extensions' `resolve`
//! chain (a boxed future per field, the list's type name formatted per item) as soon as a
//! schema has any extension, whatever the extension does there: on a page of twenty chats
//! that chain was about a fifth of the request. A document met before has already passed
//! everything that depends on its text alone (the token and count limits, parsing,
//! validation), so the fast path runs only what depends on the request, from the same rule
//! functions the pipeline calls, in the pipeline's order:
//!
//! 1. the required variables of the selected operation and the cost with these variables;
//! 2. execution on a schema without extensions: with async-graphql's full validation when the
//!    document declares variables and has not validated with values of this shape yet (it
//!    checks their values; `super::cache` says what a shape is), else with its fast mode
//!    (depth and complexity only: the outcome cannot change);
//! 3. the error cap, then the same observing as every operation: codes on every error, the
//!    operation's type and name in the request's span and metrics.
//!
//! The first sight of a text, texts too long to cache, introspection of `__schema` and every
//! subscription run on the full schema ([`Executor::schema`]) with the pipeline extension.

use std::sync::Arc;

use async_graphql::{Request, Response, ValidationMode};

use super::cache::DocumentCache;
use super::observe::Tracker;
use super::{ChatSchema, QueryLimits, cost, limits, variables};
use crate::metrics::Metrics;

/// Runs `/graphql` requests; clones share the schemas and the cache.
#[derive(Clone)]
pub struct Executor(Arc<Schemas>);

struct Schemas {
    /// Every check as an extension: first sights, long texts, introspection, subscriptions.
    full: ChatSchema,
    /// No extensions, async-graphql's full validation: cached documents with variables of a
    /// shape not validated yet.
    checked: ChatSchema,
    /// No extensions, async-graphql's fast validation: other cached documents.
    trusted: ChatSchema,
    cache: DocumentCache,
    metrics: Metrics,
    max_complexity: usize,
}

impl Executor {
    /// An executor over `full` (built with the pipeline extension around `cache`) and two
    /// schemas built by `bare` without extensions.
    pub(super) fn new(
        full: ChatSchema,
        bare: impl Fn(ValidationMode) -> ChatSchema,
        cache: DocumentCache,
        metrics: Metrics,
        limits: QueryLimits,
    ) -> Self {
        Self(Arc::new(Schemas {
            full,
            checked: bare(ValidationMode::Strict),
            trusted: bare(ValidationMode::Fast),
            cache,
            metrics,
            max_complexity: limits.max_complexity,
        }))
    }

    /// The schema with every extension, for what does not go through [`Executor::execute`]
    /// (subscriptions over WebSocket, the SDL).
    pub fn schema(&self) -> &ChatSchema {
        &self.0.full
    }

    /// Runs one GraphQL-over-HTTP request.
    pub async fn execute(&self, mut request: Request) -> Response {
        let schemas = &self.0;
        let Some(entry) = schemas.cache.get(&request.query) else {
            return schemas.full.execute(request).await;
        };
        let mut tracker = Tracker::new(schemas.metrics.clone());
        let document = &entry.document;
        let operation_name = request.operation_name.as_deref();
        let passed = variables::check_required(document, operation_name, &request.variables)
            .and_then(|()| {
                cost::check(
                    &entry.schema.registry,
                    document,
                    &request.variables,
                    schemas.max_complexity,
                )
            });
        if let Err(error) = passed {
            let mut response = Response::from_errors(vec![error]);
            tracker.saw(&mut response);
            return response;
        }
        tracker.selected(document, operation_name);
        request.set_parsed_query(document.clone());
        // The shape of these values, when the document has variables and has not validated
        // with values of this shape yet.
        let new_shape = (!entry.variable_free)
            .then(|| entry.shapes.shape(&request.variables))
            .filter(|shape| !entry.shapes.validated(shape));
        let schema = match new_shape {
            None => &schemas.trusted,
            Some(_) => &schemas.checked,
        };
        let mut response = schema.execute(request).await;
        // Validation errors have no path: without any, these values passed validation.
        if let Some(shape) = new_shape
            && response.errors.iter().all(|error| !error.path.is_empty())
        {
            entry.shapes.note_validated(shape);
        }
        limits::cap_errors(&mut response.errors);
        tracker.saw(&mut response);
        response
    }
}
