//! What every request meets before a handler runs, outermost first: CORS, the rate limit and
//! API keys (docs/api.md, "Authentication" and "Rate limit"). Each refusal is rendered in the shape of the
//! protocol the request was speaking.

mod access;
pub mod api_keys;
mod cors;
pub mod gate;
mod guard;
mod head_limits;
pub mod rate_limit;
mod reply;
mod socket_auth;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use crate::config::Config;
use crate::domain::{Clock, SystemClock};
use crate::metrics::Metrics;
use api_keys::ApiKeys;
pub use head_limits::{MAX_HEADER_BYTES, MAX_HEADERS, MAX_URI_BYTES};
use rate_limit::{Backend, DEFAULT_MAX_CLIENTS, Limiter};

/// How long a request may take, reading its body included, before it is answered 408.
/// Generous for the slowest operation (a message with an assistant backend's reply) while still
/// freeing a connection whose client stalls.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The edge's settings, shared by its middleware.
#[derive(Clone)]
pub struct Edge {
    limiter: Option<Arc<Limiter>>,
    keys: ApiKeys,
    trust_proxy: bool,
    /// Shared: handlers that read the edge (`/health/ready`) copy it per request.
    cors_origins: Arc<[String]>,
    /// Where the rate limit's "now" comes from; tests move it by hand.
    clock: Arc<dyn Clock>,
}

impl Default for Edge {
    /// No limit, no keys, any origin: what tests of other features run behind.
    fn default() -> Self {
        Self {
            limiter: None,
            keys: ApiKeys::default(),
            trust_proxy: false,
            cors_origins: Arc::from(["*".to_owned()]),
            clock: Arc::new(SystemClock),
        }
    }
}

impl Edge {
    /// The edge as configured. With a Redis URL for the rate limit, Redis is tried once before
    /// this returns; fails only for a Redis URL that is not usable.
    pub async fn from_config(config: &Config) -> Result<Self, String> {
        let limiter = match (config.rate_limit, config.rate_limit_redis()) {
            (0, redis) => {
                if redis.is_some() {
                    tracing::info!("rate limiting is off; the rate limit's Redis URL is unused");
                }
                None
            }
            (limit, None) => Some(Limiter::local(limit, DEFAULT_MAX_CLIENTS)),
            (limit, Some(settings)) => {
                Some(Limiter::with_redis(limit, DEFAULT_MAX_CLIENTS, settings).await?)
            }
        };
        Ok(Self {
            limiter: limiter.map(Arc::new),
            keys: ApiKeys::new(config.api_keys.clone()),
            trust_proxy: config.trust_proxy,
            cors_origins: config.cors_origins.as_slice().into(),
            clock: Arc::new(SystemClock),
        })
    }

    /// A limiter of `per_minute` requests tracking at most `max_clients` clients, counting in
    /// this instance's memory.
    pub fn with_rate_limit(self, per_minute: u32, max_clients: usize) -> Self {
        self.with_limiter(Limiter::local(per_minute, max_clients))
    }

    /// The same edge with `limiter` (say, one counting in Redis).
    pub fn with_limiter(mut self, limiter: Limiter) -> Self {
        self.limiter = Some(Arc::new(limiter));
        self
    }

    pub fn with_api_keys(mut self, keys: ApiKeys) -> Self {
        self.keys = keys;
        self
    }

    pub fn with_trust_proxy(mut self, trust: bool) -> Self {
        self.trust_proxy = trust;
        self
    }

    /// The same edge reading time from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_cors_origins(mut self, origins: Vec<String>) -> Self {
        self.cors_origins = origins.into();
        self
    }

    /// The configured API keys (the socket handshakes check them too).
    pub fn keys(&self) -> &ApiKeys {
        &self.keys
    }

    /// How many clients the rate limiter tracks now (0 when limiting is off).
    pub fn tracked_clients(&self) -> usize {
        self.limiter.as_ref().map_or(0, |l| l.tracked_clients())
    }

    /// Where the rate limit counts now: `None` unless it is configured to count in Redis.
    pub fn rate_limit_backend(&self) -> Option<Backend> {
        self.limiter.as_ref().and_then(|l| l.backend())
    }

    /// Wraps every route of `router` in the edge's one middleware ([`gate`]): metrics (into
    /// `metrics`), the request id, the request's span and access-log line (when `access_log`),
    /// CORS, the limits a request head alone can break (declared body length, URI, headers),
    /// the rate limit, API keys, the request timeout and the JSON shape of every error answer,
    /// in that order.
    pub fn apply(&self, router: Router, metrics: Metrics, access_log: bool) -> Router {
        router.layer(gate::GateLayer::new(self, metrics, access_log))
    }
}
