//! The request pipeline: every check chatgate adds to async-graphql's own, in one extension.
//!
//! One extension rather than one per concern because async-graphql runs each field and each
//! list item through the whole chain of extensions' `resolve` hooks, a boxed future per
//! extension: with six extensions that chain was a fifth of a list query's CPU time.
//!
//! In the order a request meets them:
//! 1. before parsing, the token limit ([`limits::check_tokens`]);
//! 2. the document: from the [`DocumentCache`], else parsed, with parse errors coded
//!    ([`errors::code_parse_error`]);
//! 3. the required variables of the selected operation ([`variables::check_required`]);
//! 4. the argument, alias and variable-definition counts ([`limits::check_counts`]);
//! 5. the cost with this request's variables ([`cost::check`]);
//! 6. validation, skipped for a cached document that declares no variables, its errors coded
//!    ([`errors::code_validation_errors`]); a document that passes all this is cached;
//! 7. after execution, the error cap ([`limits::cap_errors`]), on every response of a
//!    subscription too, then the observing: codes on every error, the operation's type and
//!    name in the request's span and its metrics ([`Tracker`]);
//!
//! and while resolving, `__schema { description }` answers `null`
//! ([`introspection::is_schema_description`]).
//!
//! Over HTTP, a document the cache holds does not come here: `super::executor` runs the steps
//! that depend on the request (3, 5, a validation of new variable shapes, 7) from the same
//! functions, on a schema without extensions.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest, NextRequest,
    NextResolve, NextSubscribe, NextValidation, ResolveInfo,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{
    Request, Response, ServerError, ServerResult, ValidationResult, Value, Variables,
};
use futures::StreamExt;
use futures::stream::BoxStream;
use parking_lot::Mutex;

use super::cache::{DocumentCache, Entry, MAX_CACHED_QUERY_BYTES};
use super::observe::Tracker;
use super::ws::{Feed, Tap};
use super::{cost, errors, introspection, limits, variables};
use crate::metrics::Metrics;

/// The pipeline's settings: the cost limit, the document cache and where operations are
/// measured.
pub struct Pipeline {
    max_complexity: usize,
    cache: DocumentCache,
    metrics: Metrics,
}

impl Pipeline {
    /// Refuses documents costing more than `max_complexity`; keeps documents in `cache`;
    /// measures operations into `metrics` (which may be off: the log fields are written
    /// anyway).
    pub fn new(max_complexity: usize, cache: DocumentCache, metrics: Metrics) -> Self {
        Self {
            max_complexity,
            cache,
            metrics,
        }
    }
}

impl ExtensionFactory for Pipeline {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PipelineExtension {
            max_complexity: self.max_complexity,
            cache: self.cache.clone(),
            state: Mutex::default(),
            tracker: Arc::new(Mutex::new(Tracker::new(self.metrics.clone()))),
        })
    }
}

/// One per request.
struct PipelineExtension {
    max_complexity: usize,
    cache: DocumentCache,
    state: Mutex<State>,
    /// Shared with a subscription's stream, which outlives the hook that maps it.
    tracker: Arc<Mutex<Tracker>>,
}

/// What one step of a request leaves for a later one.
#[derive(Default)]
struct State {
    /// The operation the request names, for the required-variable check.
    operation_name: Option<String>,
    document: Document,
}

/// Where the request's document came from.
#[derive(Default)]
enum Document {
    #[default]
    Unknown,
    /// The cache.
    Cached(Arc<Entry>),
    /// The parser: the text and a copy of the document, cached if it validates.
    Parsed(String, ExecutableDocument),
}

impl PipelineExtension {
    /// Steps 2 to 5 on a cached or freshly parsed document.
    async fn document(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        operation_name: Option<&str>,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = match self.cache.get(query) {
            Some(entry) => {
                let document = entry.document.clone();
                self.state.lock().document = Document::Cached(entry);
                document
            }
            None => {
                let document = next
                    .run(ctx, query, variables)
                    .await
                    .map_err(|e| errors::code_parse_error(query, e))?;
                if query.len() <= MAX_CACHED_QUERY_BYTES {
                    self.state.lock().document =
                        Document::Parsed(query.to_owned(), document.clone());
                }
                document
            }
        };
        variables::check_required(&document, operation_name, variables)?;
        limits::check_counts(&document)?;
        cost::check(
            &ctx.schema_env.registry,
            &document,
            variables,
            self.max_complexity,
        )?;
        Ok(document)
    }
}

#[async_trait::async_trait]
impl Extension for PipelineExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        limits::cap_errors(&mut response.errors);
        self.tracker.lock().saw(&mut response);
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let tracker = self.tracker.clone();
        next.run(ctx, stream)
            .map(move |mut response| {
                limits::cap_errors(&mut response.errors);
                tracker.lock().saw(&mut response);
                response
            })
            .boxed()
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let request = next.run(ctx, request).await?;
        self.state
            .lock()
            .operation_name
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
        limits::check_tokens(query)?;
        let operation_name = self.state.lock().operation_name.take();
        let document = self
            .document(ctx, query, variables, operation_name.as_deref(), next)
            .await?;
        let mut tracker = self.tracker.lock();
        tracker.selected(&document, operation_name.as_deref());
        tracker.runs_in(
            ctx.data_opt::<Feed>().is_some(),
            ctx.data_opt::<Tap>().cloned(),
        );
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let document = std::mem::take(&mut self.state.lock().document);
        match document {
            Document::Cached(entry) if entry.variable_free => Ok(entry.validation),
            Document::Cached(_) | Document::Unknown => {
                next.run(ctx).await.map_err(errors::code_validation_errors)
            }
            Document::Parsed(query, document) => {
                let validation = next
                    .run(ctx)
                    .await
                    .map_err(errors::code_validation_errors)?;
                self.cache.put(query, document, validation, ctx.schema_env);
                Ok(validation)
            }
        }
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if introspection::is_schema_description(&info) {
            return Ok(Some(Value::Null));
        }
        next.run(ctx, info).await
    }
}
