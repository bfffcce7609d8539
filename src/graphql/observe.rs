//! What every GraphQL operation tells operators, over HTTP and WebSocket alike: its type and
//! name in the request's log span (never its variables or text), and its metrics (by type,
//! bounded name and outcome, with latency, and the codes of its errors).
//!
//! One async-graphql extension, registered first so that it sees each response as it leaves,
//! around one [`Tracker`] per operation; the HTTP fast path (`super::executor`), which runs
//! without extensions, keeps a [`Tracker`] itself. A query or mutation is counted at its (one)
//! response, a subscription when it ends.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest, NextRequest,
    NextSubscribe,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Request, Response, ServerResult, Variables};
use futures::StreamExt;
use futures::stream::BoxStream;
use parking_lot::Mutex;
use tokio::time::Instant;

use super::errors::{code_of, ensure_codes};
use super::variables::selected_named_operation;
use super::ws::{Feed, Tap};
use crate::error::ErrorCode;
use crate::metrics::Metrics;

/// The extension factory; one per schema, holding the application's metrics.
pub struct Observe {
    metrics: Metrics,
}

impl Observe {
    /// Observes into `metrics` (which may be off: the log fields are written anyway).
    pub fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }
}

impl ExtensionFactory for Observe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Observer {
            tracker: Arc::new(Mutex::new(Tracker::new(self.metrics.clone()))),
        })
    }
}

struct Observer {
    tracker: Arc<Mutex<Tracker>>,
}

/// One operation's facts, gathered as it runs; it counts the operation at its last response,
/// or when dropped (a subscription's end, a request abandoned).
pub(super) struct Tracker {
    metrics: Metrics,
    started: Instant,
    /// The `operationName` the request gave.
    requested_name: Option<String>,
    /// The selected operation's type, and its name when the document names it.
    operation: Option<(OperationType, Option<String>)>,
    errored: bool,
    counted: bool,
    /// A socket's shared subscription: whether its stream lagged decides its outcome.
    tap: Option<Tap>,
}

fn type_label(operation_type: Option<OperationType>) -> &'static str {
    match operation_type {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "unknown",
    }
}

/// The type of the operation `name` selects in `document`, and its name when it has one.
fn select(
    document: &ExecutableDocument,
    name: Option<&str>,
) -> Option<(OperationType, Option<String>)> {
    selected_named_operation(document, name)
        .map(|(defined, op)| (op.node.ty, defined.map(str::to_owned)))
}

impl Tracker {
    /// Starts timing an operation.
    pub(super) fn new(metrics: Metrics) -> Self {
        Self {
            metrics,
            started: Instant::now(),
            requested_name: None,
            operation: None,
            errored: false,
            counted: false,
            tap: None,
        }
    }

    /// Notes the operation `document` runs for a request naming `requested_name`: its type and
    /// name go into the request's span and label its metrics.
    pub(super) fn selected(&mut self, document: &ExecutableDocument, requested_name: Option<&str>) {
        let operation = select(document, requested_name);
        if let Some((ty, name)) = &operation {
            let span = tracing::Span::current();
            span.record("graphql_operation_type", type_label(Some(*ty)));
            if let Some(name) = name {
                span.record("graphql_operation_name", name.as_str());
            }
        }
        self.operation = operation;
    }

    fn operation_type(&self) -> Option<OperationType> {
        self.operation.as_ref().map(|(ty, _)| *ty)
    }

    /// Notes one response: gives every error a code and counts the codes, and counts a query
    /// or mutation.
    pub(super) fn saw(&mut self, response: &mut Response) {
        ensure_codes(&mut response.errors);
        if self.metrics.is_on() {
            let codes = response.errors.iter().filter_map(code_of);
            for code in codes.filter_map(ErrorCode::from_wire) {
                self.metrics.error(code);
            }
        }
        self.errored |= !response.errors.is_empty();
        if self.operation_type() != Some(OperationType::Subscription) {
            self.count(true);
        }
    }

    /// Counts the operation once; queries and mutations with their latency.
    fn count(&mut self, timed: bool) {
        if self.counted {
            return;
        }
        self.counted = true;
        let name = self
            .operation
            .as_ref()
            .and_then(|(_, name)| name.as_deref());
        let Some(name) = self.metrics.operation_name(name) else {
            return;
        };
        let took = timed.then(|| self.started.elapsed());
        let ty = type_label(self.operation_type());
        let lagged = self.tap.as_ref().is_some_and(Tap::lagged);
        self.metrics
            .graphql_operation(ty, name, !(self.errored || lagged), took);
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.count(false);
    }
}

#[async_trait::async_trait]
impl Extension for Observer {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
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
        self.tracker.lock().requested_name = request.operation_name.clone();
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mut tracker = self.tracker.lock();
        let requested_name = tracker.requested_name.take();
        tracker.selected(&document, requested_name.as_deref());
        // A group's shared execution renders events for subscribers that were each counted
        // as they subscribed; it is not an operation of its own.
        if ctx.data_opt::<Feed>().is_some() {
            tracker.counted = true;
        }
        tracker.tap = ctx.data_opt::<Tap>().cloned();
        Ok(document)
    }
}
