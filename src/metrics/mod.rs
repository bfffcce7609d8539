//! What the server measures about itself, served as Prometheus text on `GET /metrics`
//! (docs/api.md, "Metrics").
//!
//! Each application owns one [`Metrics`]: its own `prometheus-client` registry, created with the
//! state and handed to every part that records (the HTTP layer, the GraphQL extension, the
//! store and assistant wrappers, the sockets, the edge). Nothing is global: tests run many
//! servers in one process, and a process-wide recorder (the `metrics` crate's facade) would mix
//! their numbers, while its thread-local alternative does not follow a request across the
//! threads of an async runtime. Histograms count into the fixed buckets below as they observe,
//! so an unscraped server keeps no samples.
//!
//! Label values are bounded: routes are templates (`/chats/{id}`, never a raw path), methods
//! and statuses come from small sets, and GraphQL operation names are admitted by [`names`].

mod assistant;
pub mod http;
mod names;
mod store;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::error::ErrorCode;

pub use assistant::MeasuredResponder;
pub use names::{MAX_OPERATION_NAMES, OTHER_NAME};
pub use store::MeasuredStore;

/// Bucket bounds (seconds) of every request and operation latency: from half a millisecond,
/// where a store call or a small request lands, to the 30-second request timeout.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0,
];

/// Bucket bounds (seconds) of store operations: from 50 µs (the memory store) up to the 8 s a
/// database operation may take.
pub const STORE_BUCKETS: [f64; 12] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0, 8.0,
];

/// Bucket bounds (seconds) of an assistant's time to first token.
pub const FIRST_TOKEN_BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: http::Route,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: http::Route,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation_type: &'static str,
    operation_name: Arc<str>,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLatencyLabels {
    operation_type: &'static str,
    operation_name: Arc<str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProtocolLabels {
    protocol: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    kind: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

fn store_histogram() -> Histogram {
    Histogram::new(STORE_BUCKETS)
}

/// One application's metrics; cheap to clone (every clone records into the same registry).
/// [`Metrics::off`] records nothing: every call returns at once.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_latency: Histograms<RouteLabels>,
    graphql_operations: Family<OperationLabels, Counter>,
    graphql_latency: Histograms<OperationLatencyLabels>,
    names: names::OperationNames,
    errors: Family<CodeLabels, Counter>,
    sockets_open: Family<ProtocolLabels, Gauge>,
    subscriptions_active: Gauge,
    events_delivered: Counter,
    subscribers_lagged: Counter,
    rate_limit_refusals: Counter,
    rate_limit_clients: Gauge,
    store_latency: Histograms<StoreLabels>,
    assistant_requests: Counter,
    assistant_failures: Counter,
    assistant_first_token: Histogram,
    assistant_tokens: Family<TokenLabels, Counter>,
}

impl Metrics {
    /// A fresh registry with every family registered: those without labels are listed on
    /// `/metrics` from the start (at zero), the others from their first sample.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("chatgate");
        let http_requests = Family::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            http_requests.clone(),
        );
        let http_latency: Histograms<RouteLabels> = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (to its response head), by route template and method",
            http_latency.clone(),
        );
        let graphql_operations = Family::default();
        registry.register(
            "graphql_operations",
            "GraphQL operations run over HTTP or WebSocket, by type, name and outcome (ok, error)",
            graphql_operations.clone(),
        );
        let graphql_latency: Histograms<OperationLatencyLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "graphql_operation_duration_seconds",
            "Time to run a GraphQL query or mutation, parsing and validation included",
            graphql_latency.clone(),
        );
        let errors = Family::default();
        registry.register(
            "errors",
            "Errors answered, by code (REST envelope code or GraphQL extensions.code)",
            errors.clone(),
        );
        let sockets_open = Family::default();
        registry.register(
            "websockets_open",
            "WebSockets open now, by protocol (graphql-transport-ws, graphql-ws, join)",
            sockets_open.clone(),
        );
        let subscriptions_active = Gauge::default();
        registry.register(
            "subscriptions_active",
            "Live subscriptions now (GraphQL subscriptions and joined /ws conversations)",
            subscriptions_active.clone(),
        );
        let events_delivered = Counter::default();
        registry.register(
            "events_delivered",
            "Live events handed to subscribers",
            events_delivered.clone(),
        );
        let subscribers_lagged = Counter::default();
        registry.register(
            "subscribers_lagged",
            "Subscriptions ended because they fell too far behind (SUBSCRIPTION_LAGGED)",
            subscribers_lagged.clone(),
        );
        let rate_limit_refusals = Counter::default();
        registry.register(
            "rate_limit_refusals",
            "Requests refused by the rate limit (429)",
            rate_limit_refusals.clone(),
        );
        let rate_limit_clients = Gauge::default();
        registry.register(
            "rate_limit_tracked_clients",
            "Clients this instance's rate-limit table tracks now",
            rate_limit_clients.clone(),
        );
        let store_latency: Histograms<StoreLabels> = Family::new_with_constructor(store_histogram);
        registry.register(
            "store_operation_duration_seconds",
            "Time of one store operation, by operation and outcome (ok, error)",
            store_latency.clone(),
        );
        let assistant_requests = Counter::default();
        registry.register(
            "assistant_requests",
            "Replies asked of the assistant",
            assistant_requests.clone(),
        );
        let assistant_failures = Counter::default();
        registry.register(
            "assistant_failures",
            "Replies the assistant could not begin or broke off",
            assistant_failures.clone(),
        );
        let assistant_first_token = Histogram::new(FIRST_TOKEN_BUCKETS);
        registry.register(
            "assistant_first_token_seconds",
            "Time from asking the assistant to the first text of its reply",
            assistant_first_token.clone(),
        );
        let assistant_tokens = Family::default();
        registry.register(
            "assistant_tokens",
            "Tokens the model reported using, by kind (prompt, completion)",
            assistant_tokens.clone(),
        );
        Self {
            inner: Some(Arc::new(Inner {
                registry,
                http_requests,
                http_latency,
                graphql_operations,
                graphql_latency,
                names: names::OperationNames::default(),
                errors,
                sockets_open,
                subscriptions_active,
                events_delivered,
                subscribers_lagged,
                rate_limit_refusals,
                rate_limit_clients,
                store_latency,
                assistant_requests,
                assistant_failures,
                assistant_first_token,
                assistant_tokens,
            })),
        }
    }

    /// Metrics that record nothing (`--metrics false`).
    pub fn off() -> Self {
        Self { inner: None }
    }

    /// Whether anything is recorded.
    pub fn is_on(&self) -> bool {
        self.inner.is_some()
    }

    /// The Prometheus text (format 0.0.4) of everything recorded; `tracked_clients` is read
    /// from the rate limiter at scrape time.
    pub fn render(&self, tracked_clients: usize) -> String {
        let Some(inner) = &self.inner else {
            return String::new();
        };
        inner
            .rate_limit_clients
            .set(i64::try_from(tracked_clients).unwrap_or(i64::MAX));
        let mut text = String::with_capacity(16 * 1024);
        prometheus_client::encoding::prometheus_text::encode(&mut text, &inner.registry)
            .expect("writing to a String cannot fail");
        text
    }

    /// One HTTP request answered.
    pub fn http_request(
        &self,
        route: http::Route,
        method: &'static str,
        status: u16,
        took: Duration,
    ) {
        let Some(inner) = &self.inner else { return };
        let latency = RouteLabels { route, method };
        inner
            .http_latency
            .get_or_create(&latency)
            .observe(took.as_secs_f64());
        let labels = HttpLabels {
            route: latency.route,
            method,
            status,
        };
        inner.http_requests.get_or_create(&labels).inc();
    }

    /// The label value for an operation name: the name itself while it is admitted, else
    /// [`OTHER_NAME`].
    pub fn operation_name(&self, name: Option<&str>) -> Option<Arc<str>> {
        Some(self.inner.as_ref()?.names.label(name))
    }

    /// One GraphQL operation finished; `took` is `None` for subscriptions, whose lifetime is
    /// not a latency.
    pub fn graphql_operation(
        &self,
        operation_type: &'static str,
        operation_name: Arc<str>,
        ok: bool,
        took: Option<Duration>,
    ) {
        let Some(inner) = &self.inner else { return };
        if let Some(took) = took {
            let labels = OperationLatencyLabels {
                operation_type,
                operation_name: operation_name.clone(),
            };
            inner
                .graphql_latency
                .get_or_create(&labels)
                .observe(took.as_secs_f64());
        }
        let labels = OperationLabels {
            operation_type,
            operation_name,
            outcome: outcome(ok),
        };
        inner.graphql_operations.get_or_create(&labels).inc();
    }

    /// An error answered to a client with `code`.
    pub fn error(&self, code: ErrorCode) {
        let Some(inner) = &self.inner else { return };
        let labels = CodeLabels {
            code: code.as_str(),
        };
        inner.errors.get_or_create(&labels).inc();
    }

    /// A WebSocket of `protocol` opened; it counts as open until the guard is dropped.
    pub fn socket_opened(&self, protocol: &'static str) -> OpenGuard {
        OpenGuard::new(self.inner.as_ref().map(|inner| {
            inner
                .sockets_open
                .get_or_create_owned(&ProtocolLabels { protocol })
        }))
    }

    /// A live subscription started; it counts as active until the guard is dropped.
    pub fn subscription_started(&self) -> OpenGuard {
        OpenGuard::new(
            self.inner
                .as_ref()
                .map(|inner| inner.subscriptions_active.clone()),
        )
    }

    /// One live event handed to a subscriber.
    pub fn event_delivered(&self) {
        if let Some(inner) = &self.inner {
            inner.events_delivered.inc();
        }
    }

    /// One subscriber told it fell too far behind.
    pub fn subscriber_lagged(&self) {
        if let Some(inner) = &self.inner {
            inner.subscribers_lagged.inc();
        }
    }

    /// One request refused by the rate limit.
    pub fn rate_limited(&self) {
        if let Some(inner) = &self.inner {
            inner.rate_limit_refusals.inc();
        }
    }

    /// One store operation finished.
    pub fn store_operation(&self, operation: &'static str, ok: bool, took: Duration) {
        let Some(inner) = &self.inner else { return };
        let labels = StoreLabels {
            operation,
            outcome: outcome(ok),
        };
        inner
            .store_latency
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }
}

fn outcome(ok: bool) -> &'static str {
    if ok { "ok" } else { "error" }
}

/// Keeps a gauge one higher while it lives.
pub struct OpenGuard {
    gauge: Option<Gauge>,
}

impl OpenGuard {
    fn new(gauge: Option<Gauge>) -> Self {
        if let Some(gauge) = &gauge {
            gauge.inc();
        }
        Self { gauge }
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        if let Some(gauge) = &self.gauge {
            gauge.dec();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_listed_with_help_and_type() {
        let metrics = Metrics::new();
        let route = http::Route::unmatched();
        metrics.http_request(route, "GET", 404, Duration::from_millis(1));
        let name = metrics.operation_name(Some("Q")).expect("metrics are on");
        metrics.graphql_operation("query", name, true, Some(Duration::from_millis(1)));
        metrics.error(ErrorCode::NotFound);
        let _socket = metrics.socket_opened("join");
        metrics.store_operation("ping", true, Duration::from_millis(1));
        metrics.assistant_usage(
            serde_json::json!({"usage": {"promptTokens": 1}})
                .as_object()
                .expect("an object"),
        );
        let text = metrics.render(0);
        for family in [
            "chatgate_http_requests_total",
            "chatgate_http_request_duration_seconds",
            "chatgate_graphql_operations_total",
            "chatgate_graphql_operation_duration_seconds",
            "chatgate_errors_total",
            "chatgate_websockets_open",
            "chatgate_subscriptions_active",
            "chatgate_events_delivered_total",
            "chatgate_subscribers_lagged_total",
            "chatgate_rate_limit_refusals_total",
            "chatgate_rate_limit_tracked_clients",
            "chatgate_store_operation_duration_seconds",
            "chatgate_assistant_requests_total",
            "chatgate_assistant_failures_total",
            "chatgate_assistant_first_token_seconds",
            "chatgate_assistant_tokens_total",
        ] {
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "{family}:\n{text}"
            );
            assert!(text.contains(&format!("# HELP {family} ")), "{family}");
        }
    }

    #[test]
    fn guards_count_while_they_live() {
        let metrics = Metrics::new();
        let socket = metrics.socket_opened("join");
        let _subscription = metrics.subscription_started();
        let text = metrics.render(3);
        assert!(text.contains("chatgate_websockets_open{protocol=\"join\"} 1\n"));
        assert!(text.contains("chatgate_subscriptions_active 1\n"));
        assert!(text.contains("chatgate_rate_limit_tracked_clients 3\n"));
        drop(socket);
        assert!(
            metrics
                .render(0)
                .contains("chatgate_websockets_open{protocol=\"join\"} 0\n")
        );
    }
}
