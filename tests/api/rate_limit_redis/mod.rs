//! The rate limit counted in Redis through real servers: several instances share one limit,
//! concurrent requests never get past it, and an instance whose Redis is away (at start, or
//! killed, or hung) keeps limiting on its own, says so, and goes back to Redis when it answers.
//! Tests on the shared Redis work under a key prefix of their own ([`ScratchPrefix`]) and are
//! skipped without a Redis; those that stop Redis start a throwaway `redis-server`.

mod fallback;
mod instances;

use chatgate::edge::Edge;
use chatgate::edge::rate_limit::scratch::ScratchPrefix;
use chatgate::edge::rate_limit::{DEFAULT_MAX_CLIENTS, Limiter, RedisSettings};

use crate::helpers::{RestReply, TestApp, spawn_app_with_edge};

/// A fresh key prefix on the test Redis, or return from the test (reported as skipped) when no
/// Redis answers.
macro_rules! prefix_or_skip {
    () => {
        match ::chatgate::edge::rate_limit::scratch::ScratchPrefix::create().await {
            Some(prefix) => prefix,
            None => return,
        }
    };
}
pub(crate) use prefix_or_skip;

/// An app limiting `limit` requests per minute in Redis as `settings` say.
pub async fn spawn_counting_in(settings: RedisSettings, limit: u32) -> TestApp {
    let limiter = Limiter::with_redis(limit, DEFAULT_MAX_CLIENTS, settings)
        .await
        .expect("a valid Redis URL");
    spawn_app_with_edge(Edge::default().with_limiter(limiter)).await
}

/// An app limiting `limit` requests per minute under the scratch prefix `keys`.
pub async fn spawn_sharing(keys: &ScratchPrefix, limit: u32) -> TestApp {
    spawn_counting_in(keys.settings(), limit).await
}

/// The `X-RateLimit-*` headers and `Retry-After` of an answer, as numbers (absent: `None`).
pub fn limit_headers(reply: &RestReply) -> [Option<u64>; 4] {
    [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "retry-after",
    ]
    .map(|name| reply.header(name).map(|v| v.parse().expect("a number")))
}
