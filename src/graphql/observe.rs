//! What every GraphQL operation tells operators, over HTTP and WebSocket alike: its type and
//! name in the request's log span (never its variables or text), and its metrics (by type,
//! bounded name and outcome, with latency, and the codes of its errors).
//!
//! One [`Tracker`] per operation: the request pipeline (`super::pipeline`) keeps one in its
//! extension, the HTTP fast path (`super::executor`) keeps one itself. A query or mutation is
//! counted at its (one) response, a subscription when it ends.

use async_graphql::Response;
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use tokio::time::Instant;

use super::errors::{code_of, ensure_codes};
use super::variables::selected_named_operation;
use super::ws::Tap;
use crate::error::ErrorCode;
use crate::metrics::Metrics;

/// One operation's facts, gathered as it runs; it counts the operation at its last response,
/// or when dropped (a subscription's end, a request abandoned).
pub(super) struct Tracker {
    metrics: Metrics,
    started: Instant,
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

    /// Notes where the operation runs: a group's shared execution (`shared`) renders events
    /// for subscribers that were each counted as they subscribed, so it is not counted; a
    /// socket's shared subscription (`tap`) says by its lag whether it failed.
    pub(super) fn runs_in(&mut self, shared: bool, tap: Option<Tap>) {
        self.counted |= shared;
        self.tap = tap;
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
