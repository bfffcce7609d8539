//! The one middleware every routed request passes, doing in order what used to take a dozen
//! stacked layers: count and time it (metrics), give it an id, open its log span, answer CORS
//! preflights, refuse oversized heads, count it against the rate limit, check its API key,
//! bound its time, and give every error answer its protocol's JSON shape. Its answer then gets
//! the CORS headers, the rate limit's headers and the request id, and the access-log line is
//! written in the request's span.
//!
//! axum wraps every route in its layers and clones a route's whole layer stack for each
//! request, and each `from_fn` layer clones the stack beneath it once more; one layer holding
//! its settings behind one `Arc` makes that a reference count and one boxed future.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::Response;
use tokio::time::Instant;
use tower::{Layer, Service, ServiceExt};
use tracing::Instrument;

use super::cors::Origins;
use super::guard::{self, Counted};
use super::rate_limit::Decision;
use super::reply::{self, Protocol};
use super::{Edge, REQUEST_TIMEOUT, head_limits};
use crate::metrics::Metrics;
use crate::metrics::http::Tracking;
use crate::request_id;

/// What the middleware needs, shared by every route and request.
struct Gate {
    edge: Edge,
    origins: Origins,
    metrics: Metrics,
    access_log: bool,
}

/// The layer [`Edge::apply`] puts around every route.
#[derive(Clone)]
pub struct GateLayer(Arc<Gate>);

impl GateLayer {
    /// The edge's checks as `edge` configures them, recording into `metrics` and writing one
    /// line per answer when `access_log` is on.
    pub fn new(edge: &Edge, metrics: Metrics, access_log: bool) -> Self {
        Self(Arc::new(Gate {
            origins: Origins::from_config(&edge.cors_origins),
            edge: edge.clone(),
            metrics,
            access_log,
        }))
    }
}

impl<S> Layer<S> for GateLayer {
    type Service = Gated<S>;

    fn layer(&self, inner: S) -> Gated<S> {
        Gated {
            gate: self.0.clone(),
            inner,
        }
    }
}

/// A route behind the edge.
#[derive(Clone)]
pub struct Gated<S> {
    gate: Arc<Gate>,
    inner: S,
}

impl<S> Service<Request> for Gated<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The route is made ready (`oneshot`) when the request reaches it.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let gate = self.gate.clone();
        let inner = self.inner.clone();
        Box::pin(async move { Ok(gate.serve(request, inner).await) })
    }
}

impl Gate {
    /// Everything around the checks: metrics, the request id, the span and the access log.
    async fn serve<S>(self: Arc<Self>, mut request: Request, inner: S) -> Response
    where
        S: Service<Request, Response = Response, Error = Infallible> + Send,
        S::Future: Send,
    {
        let tracking = self.metrics.is_on().then(|| Tracking::start(&request));
        let id = request_id::assign(&mut request);
        let echoed = id.clone();
        let span = request_id::span(&request);
        let started = Instant::now();
        let access_log = self.access_log;
        let gate = self.clone();
        let answered = async move {
            tracing::debug!(
                target: "tower_http::trace::on_request",
                "started processing request"
            );
            let response = request_id::scope(echoed, gate.check(request, inner)).await;
            log_answer(access_log, &response, started.elapsed());
            response
        };
        let mut response = answered.instrument(span).await;
        // A handler's own id (none sets one today) is left as it is.
        if !response.headers().contains_key(request_id::HEADER) {
            response.headers_mut().insert(request_id::HEADER, id);
        }
        if let Some(tracking) = tracking {
            tracking.finish(&self.metrics, &response);
        }
        response
    }

    /// CORS around the checks: a preflight is answered here; every other answer gets the
    /// allowed origin and the exposed headers.
    async fn check<S>(&self, request: Request, inner: S) -> Response
    where
        S: Service<Request, Response = Response, Error = Infallible> + Send,
        S::Future: Send,
    {
        if request.method() == axum::http::Method::OPTIONS {
            return self.origins.preflight(request.headers());
        }
        let allowed = self.origins.allowed(request.headers().get(header::ORIGIN));
        let mut response = self.limit(request, inner).await;
        Origins::decorate(allowed, &mut response);
        response
    }

    /// The head limits, the rate limit, keys, the timeout and the JSON shape of errors, in
    /// that order.
    async fn limit<S>(&self, request: Request, inner: S) -> Response
    where
        S: Service<Request, Response = Response, Error = Infallible> + Send,
        S::Future: Send,
    {
        if let Some(refusal) = head_limits::refusal(&request) {
            return refusal;
        }
        let protocol = Protocol::of(request.uri().path());
        let counted = match guard::client_to_count(&self.edge, &request) {
            Counted::NoAddress(refusal) => return refusal,
            Counted::Not => None,
            Counted::Client(limiter, ip) => match guard::count(&self.edge, limiter, ip).await {
                Decision::Admitted {
                    limit,
                    remaining,
                    reset,
                } => Some((limit, remaining, reset)),
                Decision::Refused {
                    limit,
                    reset,
                    retry_after,
                } => {
                    let headers = request.headers();
                    return guard::over_limit(protocol, headers, limit, reset, retry_after);
                }
            },
        };
        let mut response = match guard::key_refusal(&self.edge, &request) {
            Some(refusal) => refusal,
            None => {
                let accept = reply::accept_for(protocol, request.headers());
                let answer = async {
                    let response = match inner.oneshot(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    };
                    guard::as_json(protocol, &accept, response).await
                };
                guard::within(REQUEST_TIMEOUT, protocol, &accept, answer).await
            }
        };
        if let Some((limit, remaining, reset)) = counted {
            reply::add_limit_headers(response.headers_mut(), limit, remaining, reset);
        }
        response
    }
}

/// A latency as the access log shows it: whole milliseconds.
struct Millis(Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0.as_millis())
    }
}

/// The line per answer (when the access log is on) and, for a server error, an error line;
/// written in the request's span, under the targets operators may already filter on.
fn log_answer(access_log: bool, response: &Response, latency: Duration) {
    let status = response.status();
    if access_log {
        tracing::info!(
            target: "tower_http::trace::on_response",
            latency = %Millis(latency),
            status = i32::from(status.as_u16()),
            "finished processing request"
        );
    }
    if status.is_server_error() {
        tracing::error!(
            target: "tower_http::trace::on_failure",
            classification = %Failure(status),
            latency = %Millis(latency),
            "response failed"
        );
    }
}

/// How a server error is classified in its error line.
struct Failure(StatusCode);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Status code: {}", self.0)
    }
}
